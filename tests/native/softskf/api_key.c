/* Container management and cryptographic services (GM/T 0016-2012 7.5-7.6), SM2 only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "softskf.h"

/*
 * SGD_SM2_* differ between header families: GM/T 0016-2012's appendix (0x00020100 signature,
 * 0x00020400 encryption) and GM/T 0006 (0x00020100 is SM2 itself, 0x00020200 signature,
 * 0x00020800 encryption). SOFTSKF_SGD=gmt0006 makes this library speak the second family, so
 * the driver's per-vendor table can be tested.
 */
static int gmt0006(void)
{
    const char *family = getenv("SOFTSKF_SGD");
    return family != NULL && strcmp(family, "gmt0006") == 0;
}

ULONG ss_sgd_sm2_1(void) { return gmt0006() ? 0x00020200u : SGD_SM2_1; }
ULONG ss_sgd_sm2_3(void) { return gmt0006() ? 0x00020800u : SGD_SM2_3; }

static ULONG begin_con(HCONTAINER h, ss_handle **slot, ss_tx *tx, ss_app **app, ss_container **con)
{
    *slot = ss_handle_get(h, SS_H_CON);
    return *slot == NULL ? SAR_INVALIDHANDLEERR : ss_handle_begin(*slot, tx, app, con);
}

static int user_logged_in(const ss_handle *slot)
{
    const ss_handle *app = slot->type == SS_H_CON ? ss_handle_parent(slot) : slot;
    return app != NULL && app->user_logged_in;
}

static void put_public(const ss_key *key, ECCPUBLICKEYBLOB *blob)
{
    memset(blob, 0, sizeof(*blob));
    blob->BitLen = 256;
    ss_copy_padded(blob->XCoordinate, 64, key->pub, 32);
    ss_copy_padded(blob->YCoordinate, 64, key->pub + 32, 32);
}

static int field_is_256(const BYTE field[64])
{
    for (size_t i = 0; i < 32; i++)
        if (field[i] != 0)
            return 0;
    return 1;
}

/* -- 7.5 containers ---------------------------------------------------------------------- */

static ULONG create_container(HAPPLICATION h, LPSTR name, HCONTAINER *out)
{
    ss_handle *app_slot = ss_handle_get(h, SS_H_APP);
    ss_tx tx;
    ss_app *app;
    size_t len;
    ULONG rv = ss_check_string(name, SS_CON_NAME_MAX, &len);
    if (app_slot == NULL)
        return SAR_INVALIDHANDLEERR;
    if (rv != SAR_OK || len == 0 || out == NULL)
        return rv != SAR_OK ? rv : len == 0 ? SAR_NAMELENERR : SAR_INVALIDPARAMERR;
    if (!app_slot->user_logged_in)
        return SAR_USER_NOT_LOGGED_IN;
    if ((rv = ss_handle_begin(app_slot, &tx, &app, NULL)) != SAR_OK)
        return rv;
    if (ss_find_container(app, name) != NULL) {
        rv = SAR_FILE_ALREADY_EXIST;
    } else if (app->ncontainers >= SS_MAX_CONTAINERS) {
        rv = SAR_REACH_MAX_CONTAINER_COUNT;
    } else {
        ss_container *con = &app->containers[app->ncontainers++];
        memset(con, 0, sizeof(*con));
        memcpy(con->name, name, len + 1);
        if ((rv = ss_commit(&tx)) == SAR_OK) {
            ss_handle *slot;
            *out = ss_handle_new(SS_H_CON, ss_handle_index(h, SS_H_APP), &slot);
            if (*out == NULL)
                rv = SAR_MEMORYERR;
            else
                memcpy(slot->con, name, len + 1);
        }
    }
    ss_end(&tx);
    return rv;
}

ULONG DEVAPI SKF_CreateContainer(HAPPLICATION hApplication, LPSTR szContainerName, HCONTAINER *phContainer)
{
    SS_LOCKED(create_container(hApplication, szContainerName, phContainer));
}

static ULONG delete_container(HAPPLICATION h, LPSTR name)
{
    ss_handle *app_slot = ss_handle_get(h, SS_H_APP);
    ss_tx tx;
    ss_app *app;
    ULONG rv = ss_check_string(name, SS_CON_NAME_MAX, NULL);
    if (app_slot == NULL)
        return SAR_INVALIDHANDLEERR;
    if (rv != SAR_OK)
        return rv;
    if (!app_slot->user_logged_in)
        return SAR_USER_NOT_LOGGED_IN;
    if ((rv = ss_handle_begin(app_slot, &tx, &app, NULL)) != SAR_OK)
        return rv;
    ss_container *con = ss_find_container(app, name);
    if (con == NULL) {
        rv = SAR_FILE_NOT_EXIST;
    } else {
        ss_remove_container(app, con);
        rv = ss_commit(&tx);
    }
    ss_end(&tx);
    return rv;
}

ULONG DEVAPI SKF_DeleteContainer(HAPPLICATION hApplication, LPSTR szContainerName)
{
    SS_LOCKED(delete_container(hApplication, szContainerName));
}

static ULONG open_container(HAPPLICATION h, LPSTR name, HCONTAINER *out)
{
    ss_handle *app_slot = ss_handle_get(h, SS_H_APP);
    ss_tx tx;
    ss_app *app;
    size_t len;
    ULONG rv = ss_check_string(name, SS_CON_NAME_MAX, &len);
    if (app_slot == NULL)
        return SAR_INVALIDHANDLEERR;
    if (rv != SAR_OK || out == NULL)
        return rv != SAR_OK ? rv : SAR_INVALIDPARAMERR;
    if ((rv = ss_handle_begin(app_slot, &tx, &app, NULL)) != SAR_OK)
        return rv;
    if (ss_find_container(app, name) == NULL) {
        rv = SAR_FILE_NOT_EXIST;
    } else {
        ss_handle *slot;
        *out = ss_handle_new(SS_H_CON, ss_handle_index(h, SS_H_APP), &slot);
        if (*out == NULL)
            rv = SAR_MEMORYERR;
        else
            memcpy(slot->con, name, len + 1);
    }
    ss_end(&tx);
    return rv;
}

ULONG DEVAPI SKF_OpenContainer(HAPPLICATION hApplication, LPSTR szContainerName, HCONTAINER *phContainer)
{
    SS_LOCKED(open_container(hApplication, szContainerName, phContainer));
}

static ULONG close_container(HCONTAINER h)
{
    if (ss_handle_get(h, SS_H_CON) == NULL)
        return SAR_INVALIDHANDLEERR;
    ss_handle_close(h);
    return SAR_OK;
}

ULONG DEVAPI SKF_CloseContainer(HCONTAINER hContainer)
{
    SS_LOCKED(close_container(hContainer));
}

static ULONG enum_container(HAPPLICATION h, LPSTR list, ULONG *size)
{
    ss_handle *app_slot = ss_handle_get(h, SS_H_APP);
    ss_tx tx;
    ss_app *app;
    ULONG rv;
    if (app_slot == NULL)
        return SAR_INVALIDHANDLEERR;
    if ((rv = ss_handle_begin(app_slot, &tx, &app, NULL)) != SAR_OK)
        return rv;
    char *names[SS_MAX_CONTAINERS];
    for (size_t i = 0; i < app->ncontainers; i++)
        names[i] = app->containers[i].name;
    rv = ss_write_multi_string(names, app->ncontainers, list, size);
    ss_end(&tx);
    return rv;
}

ULONG DEVAPI SKF_EnumContainer(HAPPLICATION hApplication, LPSTR szContainerName, ULONG *pulSize)
{
    SS_LOCKED(enum_container(hApplication, szContainerName, pulSize));
}

static ULONG container_type(HCONTAINER h, ULONG *type)
{
    ss_handle *slot;
    ss_tx tx;
    ss_app *app;
    ss_container *con;
    ULONG rv;
    if (type == NULL)
        return ss_handle_get(h, SS_H_CON) == NULL ? SAR_INVALIDHANDLEERR : SAR_INVALIDPARAMERR;
    if ((rv = begin_con(h, &slot, &tx, &app, &con)) != SAR_OK)
        return rv;
    *type = (con->sign.present || con->enc.present) ? CONTAINER_TYPE_ECC : CONTAINER_TYPE_EMPTY;
    ss_end(&tx);
    return SAR_OK;
}

ULONG DEVAPI SKF_GetContainerType(HCONTAINER hContainer, ULONG *pulContainerType)
{
    SS_LOCKED(container_type(hContainer, pulContainerType));
}

static ULONG import_certificate(HCONTAINER h, BOOL sign, BYTE *der, ULONG len)
{
    ss_handle *slot = ss_handle_get(h, SS_H_CON);
    ss_tx tx;
    ss_app *app;
    ss_container *con;
    ULONG rv;
    if (slot == NULL)
        return SAR_INVALIDHANDLEERR;
    if (der == NULL || len == 0 || len > SS_MAX_CERT)
        return der == NULL ? SAR_INVALIDPARAMERR : SAR_INDATALENERR;
    if (!user_logged_in(slot))
        return SAR_USER_NOT_LOGGED_IN;
    if (!ss_is_certificate(der, len))
        return SAR_INDATAERR;
    if ((rv = ss_handle_begin(slot, &tx, &app, &con)) != SAR_OK)
        return rv;
    ss_blob *blob = sign ? &con->sign_cert : &con->enc_cert;
    unsigned char *copy = malloc(len);
    if (copy == NULL) {
        rv = SAR_MEMORYERR;
    } else {
        memcpy(copy, der, len);
        free(blob->der);
        blob->der = copy;
        blob->len = len;
        rv = ss_commit(&tx);
    }
    ss_end(&tx);
    return rv;
}

ULONG DEVAPI SKF_ImportCertificate(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbCert, ULONG ulCertLen)
{
    SS_LOCKED(import_certificate(hContainer, bSignFlag, pbCert, ulCertLen));
}

static ULONG export_certificate(HCONTAINER h, BOOL sign, BYTE *out, ULONG *len)
{
    ss_handle *slot;
    ss_tx tx;
    ss_app *app;
    ss_container *con;
    ULONG rv;
    if (len == NULL)
        return ss_handle_get(h, SS_H_CON) == NULL ? SAR_INVALIDHANDLEERR : SAR_INVALIDPARAMERR;
    if ((rv = begin_con(h, &slot, &tx, &app, &con)) != SAR_OK)
        return rv;
    const ss_blob *blob = sign ? &con->sign_cert : &con->enc_cert;
    if (blob->der == NULL) {
        rv = SAR_CERTNOTFOUNTERR;
    } else if (out == NULL) {
        *len = (ULONG)blob->len;
    } else if (*len < blob->len) {
        *len = (ULONG)blob->len;
        rv = SAR_BUFFER_TOO_SMALL;
    } else {
        memcpy(out, blob->der, blob->len);
        *len = (ULONG)blob->len;
    }
    ss_end(&tx);
    return rv;
}

ULONG DEVAPI SKF_ExportCertificate(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbCert, ULONG *pulCertLen)
{
    SS_LOCKED(export_certificate(hContainer, bSignFlag, pbCert, pulCertLen));
}

/* -- 7.6 cryptographic services ---------------------------------------------------------- */

static ULONG gen_random(DEVHANDLE h, BYTE *out, ULONG len)
{
    ss_handle *slot = ss_handle_get(h, SS_H_DEV);
    ss_tx tx;
    ULONG rv;
    if (slot == NULL)
        return SAR_INVALIDHANDLEERR;
    if (out == NULL || len == 0 || len > SS_MAX_RANDOM)
        return out == NULL ? SAR_INVALIDPARAMERR : SAR_INDATALENERR;
    if ((rv = ss_handle_begin(slot, &tx, NULL, NULL)) != SAR_OK) /* a removed device gives nothing */
        return rv;
    ss_end(&tx);
    return ss_random(out, len);
}

ULONG DEVAPI SKF_GenRandom(DEVHANDLE hDev, BYTE *pbRandom, ULONG ulRandomLen)
{
    SS_LOCKED(gen_random(hDev, pbRandom, ulRandomLen));
}

static ULONG gen_ecc_key_pair(HCONTAINER h, ULONG alg, ECCPUBLICKEYBLOB *out)
{
    ss_handle *slot = ss_handle_get(h, SS_H_CON);
    ss_tx tx;
    ss_app *app;
    ss_container *con;
    ss_key key = {0};
    ULONG rv;
    if (slot == NULL)
        return SAR_INVALIDHANDLEERR;
    if (out == NULL)
        return SAR_INVALIDPARAMERR;
    if (alg != ss_sgd_sm2_1())
        return SAR_NOTSUPPORTYETERR;
    if (!user_logged_in(slot))
        return SAR_USER_NOT_LOGGED_IN;
    if ((rv = ss_handle_begin(slot, &tx, &app, &con)) != SAR_OK)
        return rv;
    if ((rv = ss_sm2_generate(&key)) == SAR_OK) {
        con->sign = key;
        free(con->sign_cert.der); /* the old signing certificate belongs to the replaced key */
        con->sign_cert.der = NULL;
        con->sign_cert.len = 0;
        if ((rv = ss_commit(&tx)) == SAR_OK)
            put_public(&key, out);
    }
    ss_cleanse(&key, sizeof(key));
    ss_end(&tx);
    return rv;
}

ULONG DEVAPI SKF_GenECCKeyPair(HCONTAINER hContainer, ULONG ulAlgId, ECCPUBLICKEYBLOB *pBlob)
{
    SS_LOCKED(gen_ecc_key_pair(hContainer, ulAlgId, pBlob));
}

/*
 * The escrowed encryption key pair: a 16-byte SM4 key SM2-encrypted to this container's signing
 * key (ECCCipherBlob), the private key SM4-ECB encrypted under it (cbEncryptedPriKey). Producers
 * disagree on that field: most put the 32-byte ciphertext of the scalar right-aligned, some
 * encrypt the whole 64-byte zero-padded field. Both are accepted; the result must be a valid
 * scalar whose public key is PubKey.
 */
static ULONG unwrap_private(const ENVELOPEDKEYBLOB *blob, const unsigned char sym[16], unsigned char d[32])
{
    unsigned char plain[64];
    ULONG rv;
    if (field_is_256(blob->cbEncryptedPriKey)) {
        rv = ss_sm4_ecb_decrypt(sym, blob->cbEncryptedPriKey + 32, 32, d);
    } else {
        rv = ss_sm4_ecb_decrypt(sym, blob->cbEncryptedPriKey, 64, plain);
        if (rv == SAR_OK && !field_is_256(plain))
            rv = SAR_INDATAERR;
        if (rv == SAR_OK)
            memcpy(d, plain + 32, 32);
    }
    ss_cleanse(plain, sizeof(plain));
    return rv;
}

static ULONG import_ecc_key_pair(HCONTAINER h, const ENVELOPEDKEYBLOB *blob)
{
    ss_handle *slot = ss_handle_get(h, SS_H_CON);
    ss_tx tx;
    ss_app *app;
    ss_container *con;
    unsigned char sym[16], d[32];
    size_t sym_len = sizeof(sym);
    ss_key key = {0};
    ULONG rv;
    if (slot == NULL)
        return SAR_INVALIDHANDLEERR;
    if (blob == NULL)
        return SAR_INVALIDPARAMERR;
    /* Everything is checked before a byte past the fixed part is read: Cipher holds CipherLen bytes. */
    if (blob->Version != 1 || blob->ulBits != 256 || blob->PubKey.BitLen != 256)
        return SAR_INVALIDPARAMERR;
    if (blob->ulSymmAlgID != SGD_SM4_ECB)
        return SAR_NOTSUPPORTYETERR;
    if (blob->ECCCipherBlob.CipherLen != sizeof(sym))
        return SAR_INDATALENERR;
    if (!field_is_256(blob->PubKey.XCoordinate) || !field_is_256(blob->PubKey.YCoordinate) ||
        !field_is_256(blob->ECCCipherBlob.XCoordinate) || !field_is_256(blob->ECCCipherBlob.YCoordinate))
        return SAR_INDATAERR;
    if (!user_logged_in(slot))
        return SAR_USER_NOT_LOGGED_IN;
    if ((rv = ss_handle_begin(slot, &tx, &app, &con)) != SAR_OK)
        return rv;
    if (!con->sign.present) {
        rv = SAR_KEYNOTFOUNTERR;
    } else if ((rv = ss_sm2_decrypt(&con->sign, blob->ECCCipherBlob.XCoordinate + 32,
                                    blob->ECCCipherBlob.YCoordinate + 32, blob->ECCCipherBlob.HASH,
                                    blob->ECCCipherBlob.Cipher, sizeof(sym), sym, &sym_len)) != SAR_OK) {
        rv = SAR_INDATAERR; /* not enveloped for this container's signing key */
    } else if (sym_len != sizeof(sym) || (rv = unwrap_private(blob, sym, d)) != SAR_OK ||
               (rv = ss_sm2_from_private(d, &key)) != SAR_OK) {
        rv = SAR_INDATAERR;
    } else if (memcmp(key.pub, blob->PubKey.XCoordinate + 32, 32) != 0 ||
               memcmp(key.pub + 32, blob->PubKey.YCoordinate + 32, 32) != 0) {
        rv = SAR_INDATAERR; /* the private key does not belong to PubKey */
    } else {
        con->enc = key;
        free(con->enc_cert.der);
        con->enc_cert.der = NULL;
        con->enc_cert.len = 0;
        rv = ss_commit(&tx);
    }
    ss_cleanse(sym, sizeof(sym));
    ss_cleanse(d, sizeof(d));
    ss_cleanse(&key, sizeof(key));
    ss_end(&tx);
    return rv;
}

ULONG DEVAPI SKF_ImportECCKeyPair(HCONTAINER hContainer, PENVELOPEDKEYBLOB pEnvelopedKeyBlob)
{
    SS_LOCKED(import_ecc_key_pair(hContainer, pEnvelopedKeyBlob));
}

static ULONG ecc_sign(HCONTAINER h, const BYTE *data, ULONG len, ECCSIGNATUREBLOB *out)
{
    ss_handle *slot = ss_handle_get(h, SS_H_CON);
    ss_tx tx;
    ss_app *app;
    ss_container *con;
    unsigned char r[32], s[32];
    ULONG rv;
    if (slot == NULL)
        return SAR_INVALIDHANDLEERR;
    if (data == NULL || out == NULL)
        return SAR_INVALIDPARAMERR;
    if (len != 32) /* the SM2 digest e = SM3(Z || M), computed by the caller */
        return SAR_INDATALENERR;
    if (!user_logged_in(slot))
        return SAR_USER_NOT_LOGGED_IN;
    if ((rv = ss_handle_begin(slot, &tx, &app, &con)) != SAR_OK)
        return rv;
    if (!con->sign.present) {
        rv = SAR_KEYNOTFOUNTERR;
    } else if ((rv = ss_sm2_sign_digest(&con->sign, data, r, s)) == SAR_OK) {
        ss_copy_padded(out->r, 64, r, 32);
        ss_copy_padded(out->s, 64, s, 32);
    }
    ss_end(&tx);
    return rv;
}

ULONG DEVAPI SKF_ECCSignData(HCONTAINER hContainer, BYTE *pbData, ULONG ulDataLen, PECCSIGNATUREBLOB pSignature)
{
    SS_LOCKED(ecc_sign(hContainer, pbData, ulDataLen, pSignature));
}

static ULONG export_public(HCONTAINER h, BOOL sign, BYTE *out, ULONG *len)
{
    ss_handle *slot;
    ss_tx tx;
    ss_app *app;
    ss_container *con;
    ULONG rv;
    if (len == NULL)
        return ss_handle_get(h, SS_H_CON) == NULL ? SAR_INVALIDHANDLEERR : SAR_INVALIDPARAMERR;
    if ((rv = begin_con(h, &slot, &tx, &app, &con)) != SAR_OK)
        return rv;
    const ss_key *key = sign ? &con->sign : &con->enc;
    if (!key->present) {
        rv = SAR_KEYNOTFOUNTERR;
    } else if (out == NULL) {
        *len = sizeof(ECCPUBLICKEYBLOB);
    } else if (*len < sizeof(ECCPUBLICKEYBLOB)) {
        *len = sizeof(ECCPUBLICKEYBLOB);
        rv = SAR_BUFFER_TOO_SMALL;
    } else {
        ECCPUBLICKEYBLOB blob;
        put_public(key, &blob);
        memcpy(out, &blob, sizeof(blob));
        *len = sizeof(blob);
    }
    ss_end(&tx);
    return rv;
}

ULONG DEVAPI SKF_ExportPublicKey(HCONTAINER hContainer, BOOL bSignFlag, BYTE *pbBlob, ULONG *pulBlobLen)
{
    SS_LOCKED(export_public(hContainer, bSignFlag, pbBlob, pulBlobLen));
}

static ULONG ecc_decrypt(HCONTAINER h, BOOL sign, const ECCCIPHERBLOB *cipher, BYTE *out, ULONG *out_len)
{
    ss_handle *slot = ss_handle_get(h, SS_H_CON);
    ss_tx tx;
    ss_app *app;
    ss_container *con;
    unsigned char plain[SS_MAX_ECC_BUFFER];
    size_t plain_len = sizeof(plain);
    ULONG rv;
    if (slot == NULL)
        return SAR_INVALIDHANDLEERR;
    if (cipher == NULL || out_len == NULL)
        return SAR_INVALIDPARAMERR;
    if (cipher->CipherLen == 0 || cipher->CipherLen > SS_MAX_ECC_BUFFER)
        return SAR_INDATALENERR;
    if (!field_is_256(cipher->XCoordinate) || !field_is_256(cipher->YCoordinate))
        return SAR_INDATAERR;
    if (out == NULL) { /* the plaintext is as long as C2 */
        *out_len = cipher->CipherLen;
        return SAR_OK;
    }
    if (*out_len < cipher->CipherLen) {
        *out_len = cipher->CipherLen;
        return SAR_BUFFER_TOO_SMALL;
    }
    if (!user_logged_in(slot))
        return SAR_USER_NOT_LOGGED_IN;
    if ((rv = ss_handle_begin(slot, &tx, &app, &con)) != SAR_OK)
        return rv;
    const ss_key *key = sign ? &con->sign : &con->enc;
    if (!key->present) {
        rv = SAR_KEYNOTFOUNTERR;
    } else if ((rv = ss_sm2_decrypt(key, cipher->XCoordinate + 32, cipher->YCoordinate + 32, cipher->HASH,
                                    cipher->Cipher, cipher->CipherLen, plain, &plain_len)) == SAR_OK) {
        memcpy(out, plain, plain_len);
        *out_len = (ULONG)plain_len;
    }
    ss_cleanse(plain, sizeof(plain));
    ss_end(&tx);
    return rv;
}

ULONG DEVAPI SKF_ECCDecrypt(HCONTAINER hContainer, BOOL bSignFlag, PECCCIPHERBLOB pCipherBlob, BYTE *pbPlainText,
                            ULONG *pulPlainTextLen)
{
    SS_LOCKED(ecc_decrypt(hContainer, bSignFlag, pCipherBlob, pbPlainText, pulPlainTextLen));
}
