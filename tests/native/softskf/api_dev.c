/* Device management, access control and application management (GM/T 0016-2012 7.1-7.3). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "softskf.h"

/* -- 7.1 device management --------------------------------------------------------------- */

static ULONG enum_dev(LPSTR list, ULONG *size)
{
    char **names;
    size_t count;
    ULONG rv = ss_list_devices(&names, &count);
    if (rv == SAR_OK)
        rv = ss_write_multi_string(names, count, list, size);
    ss_free_names(names, count);
    return rv;
}

ULONG DEVAPI SKF_EnumDev(BOOL bPresent, LPSTR szNameList, ULONG *pulSize)
{
    (void)bPresent; /* every device this library knows is a present one */
    SS_LOCKED(enum_dev(szNameList, pulSize));
}

static ULONG connect_dev(LPSTR name, DEVHANDLE *out)
{
    ULONG rv = ss_check_string(name, SS_DEV_NAME_MAX, NULL);
    if (rv != SAR_OK || out == NULL)
        return rv != SAR_OK ? rv : SAR_INVALIDPARAMERR;
    ss_tx tx;
    if ((rv = ss_begin(name, &tx)) != SAR_OK)
        return rv;
    ss_handle *slot;
    *out = ss_handle_new(SS_H_DEV, -1, &slot);
    if (*out == NULL) {
        rv = SAR_MEMORYERR;
    } else {
        snprintf(slot->dev, sizeof(slot->dev), "%s", name);
        snprintf(slot->serial, sizeof(slot->serial), "%s", tx.dev.serial);
    }
    ss_end(&tx);
    return rv;
}

ULONG DEVAPI SKF_ConnectDev(LPSTR szName, DEVHANDLE *phDev)
{
    SS_LOCKED(connect_dev(szName, phDev));
}

static ULONG disconnect_dev(DEVHANDLE h)
{
    if (ss_handle_get(h, SS_H_DEV) == NULL)
        return SAR_INVALIDHANDLEERR;
    ss_handle_close(h);
    return SAR_OK;
}

ULONG DEVAPI SKF_DisConnectDev(DEVHANDLE hDev)
{
    SS_LOCKED(disconnect_dev(hDev));
}

static ULONG dev_state(LPSTR name, ULONG *state)
{
    ULONG rv = ss_check_string(name, SS_DEV_NAME_MAX, NULL);
    if (rv != SAR_OK || state == NULL)
        return rv != SAR_OK ? rv : SAR_INVALIDPARAMERR;
    char **names;
    size_t count;
    if ((rv = ss_list_devices(&names, &count)) != SAR_OK)
        return rv;
    *state = DEV_ABSENT_STATE;
    for (size_t i = 0; i < count; i++)
        if (strcmp(names[i], name) == 0)
            *state = DEV_PRESENT_STATE;
    ss_free_names(names, count);
    return SAR_OK;
}

ULONG DEVAPI SKF_GetDevState(LPSTR szDevName, ULONG *pulDevState)
{
    SS_LOCKED(dev_state(szDevName, pulDevState));
}

static ULONG set_label(DEVHANDLE h, LPSTR label)
{
    ss_handle *slot = ss_handle_get(h, SS_H_DEV);
    ss_tx tx;
    ULONG rv = ss_check_string(label, SS_LABEL_MAX, NULL);
    if (slot == NULL)
        return SAR_INVALIDHANDLEERR;
    if (rv != SAR_OK || (rv = ss_handle_begin(slot, &tx, NULL, NULL)) != SAR_OK)
        return rv;
    snprintf(tx.dev.label, sizeof(tx.dev.label), "%s", label);
    rv = ss_commit(&tx);
    ss_end(&tx);
    return rv;
}

ULONG DEVAPI SKF_SetLabel(DEVHANDLE hDev, LPSTR szLabel)
{
    SS_LOCKED(set_label(hDev, szLabel));
}

static ULONG dev_info(DEVHANDLE h, DEVINFO *info)
{
    ss_handle *slot = ss_handle_get(h, SS_H_DEV);
    ss_tx tx;
    ULONG rv;
    if (slot == NULL)
        return SAR_INVALIDHANDLEERR;
    if (info == NULL)
        return SAR_INVALIDPARAMERR;
    if ((rv = ss_handle_begin(slot, &tx, NULL, NULL)) != SAR_OK)
        return rv;
    memset(info, 0, sizeof(*info));
    info->Version.major = 1;
    info->Version.minor = 0;
    snprintf(info->Manufacturer, sizeof(info->Manufacturer), "%s", SS_MANUFACTURER);
    snprintf(info->Issuer, sizeof(info->Issuer), "%s", "CertAssist tests");
    snprintf(info->Label, sizeof(info->Label), "%s", tx.dev.label);
    snprintf(info->SerialNumber, sizeof(info->SerialNumber), "%s", tx.dev.serial);
    info->HWVersion.major = 1;
    info->FirmwareVersion.major = 1;
    info->FirmwareVersion.minor = 2;
    info->AlgSymCap = SGD_SM4_ECB | SGD_SM4_CBC;
    info->AlgAsymCap = ss_sgd_sm2_1() | ss_sgd_sm2_3();
    info->AlgHashCap = SGD_SM3;
    info->DevAuthAlgId = SGD_SM4_ECB;
    info->TotalSpace = 64u * 1024u;
    info->FreeSpace = 32u * 1024u;
    info->MaxECCBufferSize = SS_MAX_ECC_BUFFER;
    info->MaxBufferSize = SS_MAX_RANDOM;
    ss_end(&tx);
    return SAR_OK;
}

ULONG DEVAPI SKF_GetDevInfo(DEVHANDLE hDev, DEVINFO *pDevInfo)
{
    SS_LOCKED(dev_info(hDev, pDevInfo));
}

static ULONG check_dev(DEVHANDLE h)
{
    return ss_handle_get(h, SS_H_DEV) == NULL ? SAR_INVALIDHANDLEERR : SAR_OK;
}

/* Exclusive access is not modelled: one process at a time is enforced per call by the folder lock. */
ULONG DEVAPI SKF_LockDev(DEVHANDLE hDev, ULONG ulTimeOut)
{
    (void)ulTimeOut;
    SS_LOCKED(check_dev(hDev));
}

ULONG DEVAPI SKF_UnlockDev(DEVHANDLE hDev)
{
    SS_LOCKED(check_dev(hDev));
}

/* Device authentication (and so application creation and deletion) is not implemented. */
ULONG DEVAPI SKF_ChangeDevAuthKey(DEVHANDLE hDev, BYTE *pbKeyValue, ULONG ulKeyLen)
{
    (void)hDev;
    (void)pbKeyValue;
    (void)ulKeyLen;
    return SAR_NOTSUPPORTYETERR;
}

ULONG DEVAPI SKF_DevAuth(DEVHANDLE hDev, BYTE *pbAuthData, ULONG ulLen)
{
    (void)hDev;
    (void)pbAuthData;
    (void)ulLen;
    return SAR_NOTSUPPORTYETERR;
}

/* -- 7.2 access control ------------------------------------------------------------------ */

static ULONG check_pin_text(const char *pin)
{
    size_t len;
    ULONG rv = ss_check_string(pin, SS_STRING_SCAN, &len);
    if (rv == SAR_NAMELENERR)
        return SAR_PIN_LEN_RANGE;
    if (rv != SAR_OK)
        return rv;
    return (len < SS_PIN_MIN || len > SS_PIN_MAX) ? SAR_PIN_LEN_RANGE : SAR_OK;
}

static void set_retry(ULONG *out, ULONG value)
{
    if (out != NULL)
        *out = value;
}

/*
 * One PIN try: the counter is decremented and written to the state file *before* the PIN is
 * compared, so a process killed at any point never gains a try. Success restores the counter (the
 * caller commits it together with whatever the success changes).
 */
static ULONG pin_attempt(ss_tx *tx, ss_pin *pin, const char *value, ULONG *retry)
{
    if (pin->tries_left == 0) {
        set_retry(retry, 0);
        return SAR_PIN_LOCKED;
    }
    pin->tries_left--;
    ULONG rv = ss_commit(tx);
    if (rv != SAR_OK)
        return rv;
    if (!ss_pin_matches(pin, value)) {
        set_retry(retry, pin->tries_left);
        return pin->tries_left == 0 ? SAR_PIN_LOCKED : SAR_PIN_INCORRECT;
    }
    pin->tries_left = pin->max_tries;
    set_retry(retry, pin->tries_left);
    return SAR_OK;
}

static ULONG begin_app(HAPPLICATION h, ss_handle **slot, ss_tx *tx, ss_app **app)
{
    *slot = ss_handle_get(h, SS_H_APP);
    return *slot == NULL ? SAR_INVALIDHANDLEERR : ss_handle_begin(*slot, tx, app, NULL);
}

static ULONG verify_pin(HAPPLICATION h, ULONG type, LPSTR value, ULONG *retry)
{
    ss_handle *slot;
    ss_tx tx;
    ss_app *app;
    ULONG rv;
    if (type != ADMIN_TYPE && type != USER_TYPE)
        return SAR_USER_TYPE_INVALID;
    if ((rv = check_pin_text(value)) != SAR_OK || (rv = begin_app(h, &slot, &tx, &app)) != SAR_OK)
        return rv;
    rv = pin_attempt(&tx, type == USER_TYPE ? &app->user : &app->admin, value, retry);
    if (rv == SAR_OK)
        rv = ss_commit(&tx);
    /* like a card's VERIFY: a failed try also ends the security state this PIN had opened */
    if (type == USER_TYPE)
        slot->user_logged_in = rv == SAR_OK;
    else
        slot->admin_logged_in = rv == SAR_OK;
    ss_end(&tx);
    return rv;
}

ULONG DEVAPI SKF_VerifyPIN(HAPPLICATION hApplication, ULONG ulPINType, LPSTR szPIN, ULONG *pulRetryCount)
{
    SS_LOCKED(verify_pin(hApplication, ulPINType, szPIN, pulRetryCount));
}

static ULONG change_pin(HAPPLICATION h, ULONG type, LPSTR old_pin, LPSTR new_pin, ULONG *retry)
{
    ss_handle *slot;
    ss_tx tx;
    ss_app *app;
    ULONG rv;
    if (type != ADMIN_TYPE && type != USER_TYPE)
        return SAR_USER_TYPE_INVALID;
    if ((rv = check_pin_text(old_pin)) != SAR_OK || (rv = check_pin_text(new_pin)) != SAR_OK ||
        (rv = begin_app(h, &slot, &tx, &app)) != SAR_OK)
        return rv;
    ss_pin *pin = type == USER_TYPE ? &app->user : &app->admin;
    rv = pin_attempt(&tx, pin, old_pin, retry);
    if (rv == SAR_OK && (rv = ss_pin_set(pin, new_pin)) == SAR_OK) {
        pin->is_default = 0;
        rv = ss_commit(&tx);
    }
    ss_end(&tx);
    return rv;
}

ULONG DEVAPI SKF_ChangePIN(HAPPLICATION hApplication, ULONG ulPINType, LPSTR szOldPin, LPSTR szNewPin,
                           ULONG *pulRetryCount)
{
    SS_LOCKED(change_pin(hApplication, ulPINType, szOldPin, szNewPin, pulRetryCount));
}

static ULONG pin_info(HAPPLICATION h, ULONG type, ULONG *max, ULONG *remain, BOOL *is_default)
{
    ss_handle *slot;
    ss_tx tx;
    ss_app *app;
    ULONG rv;
    if (type != ADMIN_TYPE && type != USER_TYPE)
        return SAR_USER_TYPE_INVALID;
    if (max == NULL || remain == NULL || is_default == NULL)
        return SAR_INVALIDPARAMERR;
    if ((rv = begin_app(h, &slot, &tx, &app)) != SAR_OK)
        return rv;
    const ss_pin *pin = type == USER_TYPE ? &app->user : &app->admin;
    *max = pin->max_tries;
    *remain = pin->tries_left;
    *is_default = pin->is_default ? TRUE : FALSE;
    ss_end(&tx);
    return SAR_OK;
}

ULONG DEVAPI SKF_GetPINInfo(HAPPLICATION hApplication, ULONG ulPINType, ULONG *pulMaxRetryCount,
                            ULONG *pulRemainRetryCount, BOOL *pbDefaultPin)
{
    SS_LOCKED(pin_info(hApplication, ulPINType, pulMaxRetryCount, pulRemainRetryCount, pbDefaultPin));
}

static ULONG unblock_pin(HAPPLICATION h, LPSTR admin_pin, LPSTR new_user_pin, ULONG *retry)
{
    ss_handle *slot;
    ss_tx tx;
    ss_app *app;
    ULONG rv;
    if ((rv = check_pin_text(admin_pin)) != SAR_OK || (rv = check_pin_text(new_user_pin)) != SAR_OK ||
        (rv = begin_app(h, &slot, &tx, &app)) != SAR_OK)
        return rv;
    rv = pin_attempt(&tx, &app->admin, admin_pin, retry);
    if (rv == SAR_OK && (rv = ss_pin_set(&app->user, new_user_pin)) == SAR_OK) {
        app->user.tries_left = app->user.max_tries;
        app->user.is_default = 0;
        rv = ss_commit(&tx);
    }
    ss_end(&tx);
    return rv;
}

ULONG DEVAPI SKF_UnblockPIN(HAPPLICATION hApplication, LPSTR szAdminPIN, LPSTR szNewUserPIN, ULONG *pulRetryCount)
{
    SS_LOCKED(unblock_pin(hApplication, szAdminPIN, szNewUserPIN, pulRetryCount));
}

static ULONG clear_state(HAPPLICATION h)
{
    ss_handle *slot = ss_handle_get(h, SS_H_APP);
    if (slot == NULL)
        return SAR_INVALIDHANDLEERR;
    slot->user_logged_in = slot->admin_logged_in = 0;
    return SAR_OK;
}

ULONG DEVAPI SKF_ClearSecureState(HAPPLICATION hApplication)
{
    SS_LOCKED(clear_state(hApplication));
}

/* -- 7.3 application management ---------------------------------------------------------- */

ULONG DEVAPI SKF_CreateApplication(DEVHANDLE hDev, LPSTR szAppName, LPSTR szAdminPin, DWORD dwAdminPinRetryCount,
                                   LPSTR szUserPin, DWORD dwUserPinRetryCount, DWORD dwCreateFileRights,
                                   HAPPLICATION *phApplication)
{
    (void)hDev, (void)szAppName, (void)szAdminPin, (void)dwAdminPinRetryCount;
    (void)szUserPin, (void)dwUserPinRetryCount, (void)dwCreateFileRights, (void)phApplication;
    return SAR_NOTSUPPORTYETERR; /* needs device authentication, which softskf does not model */
}

ULONG DEVAPI SKF_DeleteApplication(DEVHANDLE hDev, LPSTR szAppName)
{
    (void)hDev, (void)szAppName;
    return SAR_NOTSUPPORTYETERR;
}

static ULONG enum_app(DEVHANDLE h, LPSTR list, ULONG *size)
{
    ss_handle *slot = ss_handle_get(h, SS_H_DEV);
    ss_tx tx;
    ULONG rv;
    if (slot == NULL)
        return SAR_INVALIDHANDLEERR;
    if ((rv = ss_handle_begin(slot, &tx, NULL, NULL)) != SAR_OK)
        return rv;
    char *names[SS_MAX_APPS];
    for (size_t i = 0; i < tx.dev.napps; i++)
        names[i] = tx.dev.apps[i].name;
    rv = ss_write_multi_string(names, tx.dev.napps, list, size);
    ss_end(&tx);
    return rv;
}

ULONG DEVAPI SKF_EnumApplication(DEVHANDLE hDev, LPSTR szAppName, ULONG *pulSize)
{
    SS_LOCKED(enum_app(hDev, szAppName, pulSize));
}

static ULONG open_app(DEVHANDLE h, LPSTR name, HAPPLICATION *out)
{
    ss_handle *dev = ss_handle_get(h, SS_H_DEV);
    ss_tx tx;
    ULONG rv = ss_check_string(name, SS_APP_NAME_MAX, NULL);
    if (dev == NULL)
        return SAR_INVALIDHANDLEERR;
    if (rv != SAR_OK || out == NULL)
        return rv != SAR_OK ? rv : SAR_INVALIDPARAMERR;
    if ((rv = ss_handle_begin(dev, &tx, NULL, NULL)) != SAR_OK)
        return rv;
    if (ss_find_app(&tx.dev, name) == NULL) {
        rv = SAR_APPLICATION_NOT_EXISTS;
    } else {
        ss_handle *slot;
        *out = ss_handle_new(SS_H_APP, ss_handle_index(h, SS_H_DEV), &slot);
        if (*out == NULL)
            rv = SAR_MEMORYERR;
        else
            snprintf(slot->app, sizeof(slot->app), "%s", name);
    }
    ss_end(&tx);
    return rv;
}

ULONG DEVAPI SKF_OpenApplication(DEVHANDLE hDev, LPSTR szAppName, HAPPLICATION *phApplication)
{
    SS_LOCKED(open_app(hDev, szAppName, phApplication));
}

static ULONG close_app(HAPPLICATION h)
{
    if (ss_handle_get(h, SS_H_APP) == NULL)
        return SAR_INVALIDHANDLEERR;
    ss_handle_close(h);
    return SAR_OK;
}

ULONG DEVAPI SKF_CloseApplication(HAPPLICATION hApplication)
{
    SS_LOCKED(close_app(hApplication));
}
