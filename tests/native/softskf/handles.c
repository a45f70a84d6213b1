/*
 * Handles are small tagged integers (never pointers into our memory): a stale, forged or
 * wrong-kind handle is SAR_INVALIDHANDLEERR, never a crash. Login state lives in the
 * application handle. All of it is guarded by ss_lock, which the API functions hold.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "softskf.h"

#define SS_MAX_HANDLES 1024
#define SS_HANDLE_TAG 0x5C000000u

static ss_handle table[SS_MAX_HANDLES];

HANDLE ss_handle_new(ss_htype type, int parent, ss_handle **slot)
{
    for (int i = 0; i < SS_MAX_HANDLES; i++) {
        if (!table[i].used) {
            memset(&table[i], 0, sizeof(table[i]));
            table[i].used = 1;
            table[i].type = type;
            table[i].parent = parent;
            *slot = &table[i];
            return (HANDLE)(uintptr_t)(SS_HANDLE_TAG | ((uintptr_t)type << 16) | (uintptr_t)(i + 1));
        }
    }
    *slot = NULL;
    return NULL;
}

static int index_of(HANDLE h, ss_htype type)
{
    uintptr_t v = (uintptr_t)h;
    if ((v & 0xFF000000u) != SS_HANDLE_TAG || ((v >> 16) & 0xFF) != (uintptr_t)type)
        return -1;
    int index = (int)(v & 0xFFFF) - 1;
    if (index < 0 || index >= SS_MAX_HANDLES || !table[index].used || table[index].type != type)
        return -1;
    return index;
}

int ss_handle_index(HANDLE h, ss_htype type)
{
    return index_of(h, type);
}

ss_handle *ss_handle_get(HANDLE h, ss_htype type)
{
    int index = index_of(h, type);
    return index < 0 ? NULL : &table[index];
}

ss_handle *ss_handle_parent(const ss_handle *slot)
{
    if (slot->type == SS_H_DEV || slot->parent < 0 || slot->parent >= SS_MAX_HANDLES)
        return NULL;
    ss_handle *parent = &table[slot->parent];
    return parent->used ? parent : NULL;
}

static void close_index(int index)
{
    for (int i = 0; i < SS_MAX_HANDLES; i++) /* children first: apps of a device, containers of an app */
        if (table[i].used && table[i].type != SS_H_DEV && table[i].parent == index && i != index)
            close_index(i);
    memset(&table[index], 0, sizeof(table[index]));
}

void ss_handle_close(HANDLE h)
{
    for (ss_htype type = SS_H_DEV; type <= SS_H_CON; type++) {
        int index = index_of(h, type);
        if (index >= 0) {
            close_index(index);
            return;
        }
    }
}

/* The device handle a handle belongs to. */
static ss_handle *device_of(ss_handle *slot)
{
    while (slot != NULL && slot->type != SS_H_DEV)
        slot = ss_handle_parent(slot);
    return slot;
}

/*
 * Load the device a handle refers to and resolve its application and container. A device whose
 * file is gone, or whose file now holds another device (another serial), is SAR_DEVICE_REMOVED,
 * and stays so for this handle.
 */
ULONG ss_handle_begin(ss_handle *slot, ss_tx *tx, ss_app **app, ss_container **con)
{
    ss_handle *dev = device_of(slot);
    if (dev == NULL)
        return SAR_INVALIDHANDLEERR;
    if (dev->removed)
        return SAR_DEVICE_REMOVED;
    ULONG rv = ss_begin(dev->dev, tx);
    if (rv == SAR_OK && strcmp(tx->dev.serial, dev->serial) != 0) {
        ss_end(tx);
        rv = SAR_DEVICE_REMOVED;
    }
    if (rv == SAR_DEVICE_REMOVED)
        dev->removed = 1;
    if (rv != SAR_OK)
        return rv;
    if (app != NULL) {
        ss_handle *app_slot = slot->type == SS_H_CON ? ss_handle_parent(slot) : slot;
        *app = app_slot ? ss_find_app(&tx->dev, app_slot->app) : NULL;
        if (*app == NULL) {
            ss_end(tx);
            return SAR_APPLICATION_NOT_EXISTS;
        }
        if (con != NULL) {
            *con = ss_find_container(*app, slot->con);
            if (*con == NULL) {
                ss_end(tx);
                return SAR_FILE_NOT_EXIST;
            }
        }
    }
    return SAR_OK;
}

/* -- helpers shared by the API files ----------------------------------------------------- */

ULONG ss_check_string(const char *text, size_t max_len, size_t *len)
{
    if (text == NULL)
        return SAR_INVALIDPARAMERR;
    size_t n = strnlen(text, max_len + 1);
    if (n > max_len)
        return SAR_NAMELENERR;
    if (len != NULL)
        *len = n;
    return SAR_OK;
}

/* The standard's two-call pattern for a list of names: "a\0b\0\0" (an empty list is "\0\0"). */
ULONG ss_write_multi_string(char **names, size_t count, LPSTR out, ULONG *size)
{
    if (size == NULL)
        return SAR_INVALIDPARAMERR;
    size_t need = 1;
    for (size_t i = 0; i < count; i++)
        need += strlen(names[i]) + 1;
    if (count == 0)
        need = 2;
    if (need > UINT32_MAX)
        return SAR_FAIL;
    if (out == NULL) {
        *size = (ULONG)need;
        return SAR_OK;
    }
    if (*size < need) {
        *size = (ULONG)need;
        return SAR_BUFFER_TOO_SMALL;
    }
    size_t pos = 0;
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(names[i]) + 1;
        memcpy(out + pos, names[i], len);
        pos += len;
    }
    out[pos++] = '\0';
    if (count == 0)
        out[pos++] = '\0';
    *size = (ULONG)need;
    return SAR_OK;
}

void ss_copy_padded(BYTE *field, size_t field_len, const unsigned char *value, size_t len)
{
    memset(field, 0, field_len);
    memcpy(field + field_len - len, value, len);
}
