/* softskf internals: device state, its file store, handles and SM2/SM3/SM4 helpers. */
#ifndef SOFTSKF_INTERNAL_H
#define SOFTSKF_INTERNAL_H

#include <pthread.h>
#include <stddef.h>

#include "skfapi.h"

#define SS_DEV_NAME_MAX 64      /* device name = state file name without ".skf" */
#define SS_APP_NAME_MAX 32
#define SS_CON_NAME_MAX 64
#define SS_LABEL_MAX 31         /* DEVINFO.Label is 32 bytes with its NUL */
#define SS_SERIAL_LEN 16
#define SS_PIN_MIN 6
#define SS_PIN_MAX 16
#define SS_MAX_APPS 4
#define SS_MAX_CONTAINERS 16
#define SS_MAX_CERT 16384
#define SS_MAX_ECC_BUFFER 1024  /* DEVINFO.MaxECCBufferSize: the longest SM2 plaintext */
#define SS_MAX_RANDOM 65536
#define SS_STRING_SCAN 4096     /* how far a caller's string is searched for its NUL */

#define SS_DEFAULT_USER_PIN "12345678"
#define SS_DEFAULT_USER_TRIES 10
#define SS_DEFAULT_ADMIN_PIN "admin1234"
#define SS_DEFAULT_ADMIN_TRIES 5
#define SS_DEFAULT_APP "SOFTSKF"
#define SS_DEFAULT_LABEL "SoftSKF"
#define SS_MANUFACTURER "CertAssist SoftSKF"
#define SS_FIRST_DEVICE "softskf0"

typedef struct {
    unsigned char salt[16];
    unsigned char hash[32]; /* SM3(salt || PIN) */
    ULONG max_tries;
    ULONG tries_left;
    int is_default;
} ss_pin;

typedef struct {
    int present;
    unsigned char d[32];
    unsigned char pub[64]; /* x || y */
} ss_key;

typedef struct {
    unsigned char *der;
    size_t len;
} ss_blob;

typedef struct {
    char name[SS_CON_NAME_MAX + 1];
    ss_key sign, enc;
    ss_blob sign_cert, enc_cert;
} ss_container;

typedef struct {
    char name[SS_APP_NAME_MAX + 1];
    ss_pin admin, user;
    size_t ncontainers;
    ss_container containers[SS_MAX_CONTAINERS];
} ss_app;

typedef struct {
    char label[SS_LABEL_MAX + 1];
    char serial[SS_SERIAL_LEN + 1];
    size_t napps;
    ss_app apps[SS_MAX_APPS];
} ss_device;

/* A transaction on one device's state file: the home folder's lock is held from begin to end. */
typedef struct {
    char name[SS_DEV_NAME_MAX + 1];
    int lock_fd;
    ss_device dev;
} ss_tx;

/* store.c */
extern pthread_mutex_t ss_lock; /* every SKF call but the event wait runs under it */
ULONG ss_home(char *out, size_t size);
ULONG ss_prepare(void);                         /* first use: folder, README, first device */
ULONG ss_list_devices(char ***names, size_t *count);
void ss_free_names(char **names, size_t count);
int ss_valid_device_name(const char *name);
ULONG ss_begin(const char *name, ss_tx *tx);    /* SAR_DEVICE_REMOVED when the file is gone */
ULONG ss_commit(ss_tx *tx);                     /* atomic replace + fsync */
void ss_end(ss_tx *tx);
void ss_device_clear(ss_device *dev);
ss_app *ss_find_app(ss_device *dev, const char *name);
ss_container *ss_find_container(ss_app *app, const char *name);
void ss_remove_container(ss_app *app, ss_container *con);

/* crypto.c */
ULONG ss_random(unsigned char *out, size_t len);
ULONG ss_pin_hash(const unsigned char salt[16], const char *pin, unsigned char out[32]);
ULONG ss_pin_set(ss_pin *pin, const char *value);
int ss_pin_matches(const ss_pin *pin, const char *value);
ULONG ss_sm2_generate(ss_key *key);
ULONG ss_sm2_from_private(const unsigned char d[32], ss_key *key);
ULONG ss_sm2_sign_digest(const ss_key *key, const unsigned char e[32], unsigned char r[32], unsigned char s[32]);
ULONG ss_sm2_decrypt(const ss_key *key, const unsigned char x[32], const unsigned char y[32],
                     const unsigned char hash[32], const unsigned char *c2, size_t c2_len, unsigned char *out,
                     size_t *out_len);
ULONG ss_sm4_ecb_decrypt(const unsigned char key[16], const unsigned char *in, size_t len, unsigned char *out);
int ss_is_certificate(const unsigned char *der, size_t len);
void ss_cleanse(void *ptr, size_t len);

/* handles.c */
typedef enum { SS_H_DEV = 1, SS_H_APP = 2, SS_H_CON = 3 } ss_htype;

typedef struct {
    int used;
    ss_htype type;
    int parent;   /* index of the device (for an application) or application (for a container) */
    int removed;  /* the device went away while this handle was open */
    char dev[SS_DEV_NAME_MAX + 1];
    char serial[SS_SERIAL_LEN + 1];
    char app[SS_APP_NAME_MAX + 1];
    char con[SS_CON_NAME_MAX + 1];
    int user_logged_in;
    int admin_logged_in;
} ss_handle;

HANDLE ss_handle_new(ss_htype type, int parent, ss_handle **slot);
ss_handle *ss_handle_get(HANDLE h, ss_htype type);
int ss_handle_index(HANDLE h, ss_htype type); /* -1 when invalid */
ss_handle *ss_handle_parent(const ss_handle *slot);
void ss_handle_close(HANDLE h);
ULONG ss_handle_begin(ss_handle *slot, ss_tx *tx, ss_app **app, ss_container **con);

/* api_key.c: the SGD_SM2_* values of the header family this library speaks (SOFTSKF_SGD) */
ULONG ss_sgd_sm2_1(void);
ULONG ss_sgd_sm2_3(void);

/* Every entry point: one call at a time in this process, the home folder prepared at first use. */
#define SS_LOCKED(call)                                                                                              \
    do {                                                                                                             \
        pthread_mutex_lock(&ss_lock);                                                                                \
        ULONG rv_ = ss_prepare();                                                                                    \
        if (rv_ == SAR_OK)                                                                                           \
            rv_ = (call);                                                                                            \
        pthread_mutex_unlock(&ss_lock);                                                                              \
        return rv_;                                                                                                  \
    } while (0)

/* helpers shared by the API files */
ULONG ss_check_string(const char *text, size_t max_len, size_t *len);
ULONG ss_write_multi_string(char **names, size_t count, LPSTR out, ULONG *size);
void ss_copy_padded(BYTE *field, size_t field_len, const unsigned char *value, size_t len);

#endif
