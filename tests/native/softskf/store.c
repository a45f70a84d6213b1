/*
 * Device state files: SOFTSKF_HOME/<device>.skf, one per device, a small line-oriented text format
 * (hex for every byte string). Every transaction holds SOFTSKF_HOME/.lock (flock) so several
 * processes share the devices safely; writes go to a temporary file, are fsynced and renamed over
 * the state file, so a crash leaves the old or the new state.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "softskf.h"

pthread_mutex_t ss_lock = PTHREAD_MUTEX_INITIALIZER;

#define SS_MAX_STATE_FILE (4u << 20)
#define SS_FORMAT_LINE "SOFTSKF-STATE 1"

void ss_events_first_use(void); /* events.c: the snapshot SKF_WaitForDevEvent compares against */

static const char README[] =
    "SoftSKF devices: a software stand-in for a GM/T 0016 (SKF) USB key, for tests and trials.\n"
    "\n"
    "Each *.skf file in this folder is one device; its file name without \".skf\" is the device\n"
    "name SKF_EnumDev reports. Create a file to insert a device (an empty file becomes a blank\n"
    "device at first use), delete it to remove the device; SKF_WaitForDevEvent reports both.\n"
    "\n"
    "A blank device has one application \"" SS_DEFAULT_APP "\" with\n"
    "  user PIN   " SS_DEFAULT_USER_PIN "   (10 tries)\n"
    "  admin PIN  " SS_DEFAULT_ADMIN_PIN "  (5 tries)\n"
    "PINs are 6-16 characters. Every wrong PIN costs one try, counted in the file before the PIN\n"
    "is checked; at 0 tries the PIN is locked (SAR_PIN_LOCKED). SKF_UnblockPIN with the admin PIN\n"
    "sets a new user PIN and restores its tries.\n"
    "\n"
    "This is not secure storage: private keys are kept in these files in the clear (mode 0600).\n";

ULONG ss_home(char *out, size_t size)
{
    const char *home = getenv("SOFTSKF_HOME");
    int n;
    if (home != NULL && home[0] != '\0') {
        n = snprintf(out, size, "%s", home);
    } else {
        const char *user = getenv("HOME");
        if (user == NULL || user[0] == '\0')
            return SAR_NOTINITIALIZEERR;
        n = snprintf(out, size, "%s/.softskf", user);
    }
    return (n < 0 || (size_t)n >= size) ? SAR_FILEERR : SAR_OK;
}

static ULONG path_in_home(char *out, size_t size, const char *prefix, const char *name, const char *suffix)
{
    char home[PATH_MAX];
    ULONG rv = ss_home(home, sizeof(home));
    if (rv != SAR_OK)
        return rv;
    int n = snprintf(out, size, "%s/%s%s%s", home, prefix, name, suffix);
    return (n < 0 || (size_t)n >= size) ? SAR_FILEERR : SAR_OK;
}

int ss_valid_device_name(const char *name)
{
    size_t len = strnlen(name, SS_DEV_NAME_MAX + 1);
    if (len == 0 || len > SS_DEV_NAME_MAX || name[0] == '.')
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!(isalnum(c) || c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

/* -- growable text buffer ---------------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} ss_buf;

static void buf_put(ss_buf *b, const char *text, size_t len)
{
    if (b->failed)
        return;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (grown == NULL) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, text, len);
    b->len += len;
    b->data[b->len] = '\0';
}

static void buf_str(ss_buf *b, const char *text) { buf_put(b, text, strlen(text)); }

static void buf_hex(ss_buf *b, const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char pair[2];
    for (size_t i = 0; i < n; i++) {
        pair[0] = digits[p[i] >> 4];
        pair[1] = digits[p[i] & 15];
        buf_put(b, pair, 2);
    }
}

static void buf_num(ss_buf *b, unsigned long value)
{
    char text[32];
    int n = snprintf(text, sizeof(text), " %lu", value);
    buf_put(b, text, (size_t)n);
}

static void put_pin(ss_buf *b, const char *tag, const ss_pin *pin)
{
    buf_str(b, tag);
    buf_str(b, " ");
    buf_hex(b, pin->salt, sizeof(pin->salt));
    buf_str(b, " ");
    buf_hex(b, pin->hash, sizeof(pin->hash));
    buf_num(b, pin->max_tries);
    buf_num(b, pin->tries_left);
    buf_num(b, (unsigned long)(pin->is_default != 0));
    buf_str(b, "\n");
}

static void put_key(ss_buf *b, const char *tag, const ss_key *key)
{
    if (!key->present)
        return;
    buf_str(b, tag);
    buf_str(b, " ");
    buf_hex(b, key->d, sizeof(key->d));
    buf_str(b, " ");
    buf_hex(b, key->pub, sizeof(key->pub));
    buf_str(b, "\n");
}

static void put_blob(ss_buf *b, const char *tag, const ss_blob *blob)
{
    if (blob->der == NULL)
        return;
    buf_str(b, tag);
    buf_str(b, " ");
    buf_hex(b, blob->der, blob->len);
    buf_str(b, "\n");
}

static void serialize(const ss_device *dev, ss_buf *b)
{
    buf_str(b, SS_FORMAT_LINE "\nlabel ");
    buf_hex(b, (const unsigned char *)dev->label, strlen(dev->label));
    buf_str(b, "\nserial ");
    buf_str(b, dev->serial);
    buf_str(b, "\n");
    for (size_t i = 0; i < dev->napps; i++) {
        const ss_app *app = &dev->apps[i];
        buf_str(b, "app ");
        buf_hex(b, (const unsigned char *)app->name, strlen(app->name));
        buf_str(b, "\n");
        put_pin(b, "admin", &app->admin);
        put_pin(b, "user", &app->user);
        for (size_t j = 0; j < app->ncontainers; j++) {
            const ss_container *con = &app->containers[j];
            buf_str(b, "container ");
            buf_hex(b, (const unsigned char *)con->name, strlen(con->name));
            buf_str(b, "\n");
            put_key(b, "sign", &con->sign);
            put_key(b, "enc", &con->enc);
            put_blob(b, "signcert", &con->sign_cert);
            put_blob(b, "enccert", &con->enc_cert);
        }
    }
    buf_str(b, "end\n");
}

/* -- parsing (every field checked; a damaged file is SAR_FILEERR, never a crash) ---------- */

static int unhex(const char *text, unsigned char *out, size_t out_len)
{
    if (strlen(text) != out_len * 2)
        return 0;
    for (size_t i = 0; i < out_len; i++) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char c = text[2 * i + (size_t)k];
            int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
            if (d < 0)
                return 0;
            v = v * 16 + d;
        }
        out[i] = (unsigned char)v;
    }
    return 1;
}

static int unhex_name(const char *text, char *out, size_t max_len)
{
    size_t len = strlen(text) / 2;
    if (strlen(text) % 2 || len > max_len || !unhex(text, (unsigned char *)out, len))
        return 0;
    out[len] = '\0';
    return strlen(out) == len; /* no embedded NUL */
}

static int parse_ulong(const char *text, ULONG max, ULONG *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || end == text || *end != '\0' || v > max)
        return 0;
    *out = (ULONG)v;
    return 1;
}

static int parse_pin(char **tok, int ntok, ss_pin *pin)
{
    ULONG is_default;
    return ntok == 6 && unhex(tok[1], pin->salt, sizeof(pin->salt)) && unhex(tok[2], pin->hash, sizeof(pin->hash)) &&
           parse_ulong(tok[3], 255, &pin->max_tries) && pin->max_tries > 0 &&
           parse_ulong(tok[4], pin->max_tries, &pin->tries_left) && parse_ulong(tok[5], 1, &is_default) &&
           ((pin->is_default = (int)is_default), 1);
}

static int parse_key(char **tok, int ntok, ss_key *key)
{
    if (ntok != 3 || key->present || !unhex(tok[1], key->d, 32) || !unhex(tok[2], key->pub, 64))
        return 0;
    key->present = 1;
    return 1;
}

static int parse_blob(char **tok, int ntok, ss_blob *blob)
{
    size_t len = strlen(tok[ntok - 1]) / 2;
    if (ntok != 2 || blob->der != NULL || len == 0 || len > SS_MAX_CERT)
        return 0;
    blob->der = malloc(len);
    if (blob->der == NULL || !unhex(tok[1], blob->der, len))
        return 0;
    blob->len = len;
    return 1;
}

static ULONG parse_state(char *text, ss_device *dev)
{
    ss_app *app = NULL;
    ss_container *con = NULL;
    int seen_format = 0, seen_end = 0, seen_serial = 0;
    char *save_line = NULL;
    for (char *line = strtok_r(text, "\n", &save_line); line != NULL; line = strtok_r(NULL, "\n", &save_line)) {
        char *tok[8];
        int ntok = 0;
        char *save_tok = NULL;
        for (char *t = strtok_r(line, " ", &save_tok); t != NULL; t = strtok_r(NULL, " ", &save_tok)) {
            if (ntok == 8)
                return SAR_FILEERR;
            tok[ntok++] = t;
        }
        if (ntok == 0 || seen_end)
            return SAR_FILEERR;
        int ok;
        if (!seen_format) {
            ok = ntok == 2 && strcmp(tok[0], "SOFTSKF-STATE") == 0 && strcmp(tok[1], "1") == 0;
            seen_format = 1;
        } else if (strcmp(tok[0], "label") == 0) {
            ok = ntok == 1 ? (dev->label[0] = '\0', 1) : ntok == 2 && unhex_name(tok[1], dev->label, SS_LABEL_MAX);
        } else if (strcmp(tok[0], "serial") == 0) {
            ok = ntok == 2 && strlen(tok[1]) == SS_SERIAL_LEN && ss_valid_device_name(tok[1]);
            if (ok) {
                memcpy(dev->serial, tok[1], SS_SERIAL_LEN + 1);
                seen_serial = 1;
            }
        } else if (strcmp(tok[0], "app") == 0) {
            ok = ntok == 2 && dev->napps < SS_MAX_APPS;
            if (ok) {
                app = &dev->apps[dev->napps++];
                con = NULL;
                ok = unhex_name(tok[1], app->name, SS_APP_NAME_MAX) && app->name[0] != '\0';
            }
        } else if (strcmp(tok[0], "admin") == 0 || strcmp(tok[0], "user") == 0) {
            ok = app != NULL && con == NULL && parse_pin(tok, ntok, tok[0][0] == 'a' ? &app->admin : &app->user);
        } else if (strcmp(tok[0], "container") == 0) {
            ok = ntok == 2 && app != NULL && app->ncontainers < SS_MAX_CONTAINERS;
            if (ok) {
                con = &app->containers[app->ncontainers++];
                ok = unhex_name(tok[1], con->name, SS_CON_NAME_MAX) && con->name[0] != '\0';
            }
        } else if (strcmp(tok[0], "sign") == 0 || strcmp(tok[0], "enc") == 0) {
            ok = con != NULL && parse_key(tok, ntok, tok[0][0] == 's' ? &con->sign : &con->enc);
        } else if (strcmp(tok[0], "signcert") == 0 || strcmp(tok[0], "enccert") == 0) {
            ok = con != NULL && parse_blob(tok, ntok, tok[0][0] == 's' ? &con->sign_cert : &con->enc_cert);
        } else if (strcmp(tok[0], "end") == 0) {
            ok = ntok == 1;
            seen_end = 1;
        } else {
            ok = 0;
        }
        if (!ok)
            return SAR_FILEERR;
    }
    return (seen_end && seen_serial) ? SAR_OK : SAR_FILEERR;
}

/* -- device state ------------------------------------------------------------------------ */

void ss_device_clear(ss_device *dev)
{
    for (size_t i = 0; i < SS_MAX_APPS; i++)
        for (size_t j = 0; j < SS_MAX_CONTAINERS; j++) {
            free(dev->apps[i].containers[j].sign_cert.der);
            free(dev->apps[i].containers[j].enc_cert.der);
        }
    ss_cleanse(dev, sizeof(*dev));
}

ss_app *ss_find_app(ss_device *dev, const char *name)
{
    for (size_t i = 0; i < dev->napps; i++)
        if (strcmp(dev->apps[i].name, name) == 0)
            return &dev->apps[i];
    return NULL;
}

ss_container *ss_find_container(ss_app *app, const char *name)
{
    for (size_t i = 0; i < app->ncontainers; i++)
        if (strcmp(app->containers[i].name, name) == 0)
            return &app->containers[i];
    return NULL;
}

void ss_remove_container(ss_app *app, ss_container *con)
{
    size_t index = (size_t)(con - app->containers);
    free(con->sign_cert.der);
    free(con->enc_cert.der);
    memmove(con, con + 1, (app->ncontainers - index - 1) * sizeof(*con));
    app->ncontainers--;
    memset(&app->containers[app->ncontainers], 0, sizeof(*con));
}

static ULONG blank_device(ss_device *dev)
{
    unsigned char raw[SS_SERIAL_LEN / 2];
    ULONG rv = ss_random(raw, sizeof(raw));
    if (rv != SAR_OK)
        return rv;
    memset(dev, 0, sizeof(*dev));
    snprintf(dev->label, sizeof(dev->label), "%s", SS_DEFAULT_LABEL);
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(dev->serial + 2 * i, 3, "%02X", raw[i]);
    dev->napps = 1;
    ss_app *app = &dev->apps[0];
    snprintf(app->name, sizeof(app->name), "%s", SS_DEFAULT_APP);
    if ((rv = ss_pin_set(&app->admin, SS_DEFAULT_ADMIN_PIN)) != SAR_OK ||
        (rv = ss_pin_set(&app->user, SS_DEFAULT_USER_PIN)) != SAR_OK)
        return rv;
    app->admin.max_tries = app->admin.tries_left = SS_DEFAULT_ADMIN_TRIES;
    app->user.max_tries = app->user.tries_left = SS_DEFAULT_USER_TRIES;
    app->admin.is_default = app->user.is_default = 1;
    return SAR_OK;
}

/* -- files -------------------------------------------------------------------------------- */

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        data += n;
        len -= (size_t)n;
    }
    return 1;
}

static void fsync_home(void)
{
    char home[PATH_MAX];
    if (ss_home(home, sizeof(home)) != SAR_OK)
        return;
    int fd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Write ``dev`` as device ``name``; ``must_exist``: refuse (SAR_DEVICE_REMOVED) when its file is gone. */
static ULONG write_state(const char *name, const ss_device *dev, int must_exist)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    ULONG rv;
    if ((rv = path_in_home(path, sizeof(path), "", name, ".skf")) != SAR_OK ||
        (rv = path_in_home(tmp, sizeof(tmp), ".", name, ".tmp")) != SAR_OK)
        return rv;
    ss_buf b = {0};
    serialize(dev, &b);
    if (b.failed) {
        free(b.data);
        return SAR_MEMORYERR;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int ok = fd >= 0 && write_all(fd, b.data, b.len) && fsync(fd) == 0;
    if (fd >= 0)
        ok = (close(fd) == 0) && ok;
    ss_cleanse(b.data, b.cap);
    free(b.data);
    if (!ok) {
        unlink(tmp);
        return SAR_WRITEFILEERR;
    }
    if (must_exist && access(path, F_OK) != 0) { /* removed while we worked: do not bring it back */
        unlink(tmp);
        return SAR_DEVICE_REMOVED;
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return SAR_WRITEFILEERR;
    }
    fsync_home();
    return SAR_OK;
}

static int lock_home(void)
{
    char path[PATH_MAX];
    if (path_in_home(path, sizeof(path), ".", "lock", "") != SAR_OK)
        return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

static int make_dirs(const char *path)
{
    char copy[PATH_MAX];
    int n = snprintf(copy, sizeof(copy), "%s", path);
    if (n < 0 || (size_t)n >= sizeof(copy))
        return 0;
    for (char *p = copy + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(copy, 0700) != 0 && errno != EEXIST)
                return 0;
            *p = '/';
        }
    }
    return mkdir(copy, 0700) == 0 || errno == EEXIST;
}

ULONG ss_prepare(void)
{
    char home[PATH_MAX], readme[PATH_MAX];
    ULONG rv = ss_home(home, sizeof(home));
    if (rv != SAR_OK || (rv = path_in_home(readme, sizeof(readme), "", "README", ".txt")) != SAR_OK)
        return rv;
    if (access(readme, F_OK) == 0) {
        ss_events_first_use();
        return SAR_OK;
    }
    if (!make_dirs(home))
        return SAR_FILEERR;
    int lock = lock_home();
    if (lock < 0)
        return SAR_FILEERR;
    rv = SAR_OK;
    if (access(readme, F_OK) != 0) { /* first use: one blank device, then the README marks it done */
        ss_device dev;
        char first[PATH_MAX];
        if ((rv = path_in_home(first, sizeof(first), "", SS_FIRST_DEVICE, ".skf")) == SAR_OK &&
            access(first, F_OK) != 0 && (rv = blank_device(&dev)) == SAR_OK) {
            rv = write_state(SS_FIRST_DEVICE, &dev, 0);
            ss_device_clear(&dev);
        }
        if (rv == SAR_OK) {
            int fd = open(readme, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            int ok = fd >= 0 && write_all(fd, README, sizeof(README) - 1) && fsync(fd) == 0;
            if (fd >= 0)
                ok = (close(fd) == 0) && ok;
            rv = ok ? SAR_OK : SAR_WRITEFILEERR;
        }
    }
    close(lock);
    ss_events_first_use(); /* after the first device exists: it is not an insertion */
    return rv;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void ss_free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

ULONG ss_list_devices(char ***names, size_t *count)
{
    char home[PATH_MAX];
    ULONG rv = ss_home(home, sizeof(home));
    *names = NULL;
    *count = 0;
    if (rv != SAR_OK)
        return rv;
    DIR *dir = opendir(home);
    if (dir == NULL)
        return errno == ENOENT ? SAR_OK : SAR_FILEERR;
    size_t cap = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t len = strlen(entry->d_name);
        if (len <= 4 || strcmp(entry->d_name + len - 4, ".skf") != 0)
            continue;
        char stem[SS_DEV_NAME_MAX + 1];
        if (len - 4 > SS_DEV_NAME_MAX)
            continue;
        memcpy(stem, entry->d_name, len - 4);
        stem[len - 4] = '\0';
        struct stat st;
        if (!ss_valid_device_name(stem) || fstatat(dirfd(dir), entry->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (*count == cap) {
            cap = cap ? cap * 2 : 8;
            char **grown = realloc(*names, cap * sizeof(char *));
            if (grown == NULL) {
                rv = SAR_MEMORYERR;
                break;
            }
            *names = grown;
        }
        if (((*names)[*count] = strdup(stem)) == NULL) {
            rv = SAR_MEMORYERR;
            break;
        }
        (*count)++;
    }
    closedir(dir);
    if (rv != SAR_OK) {
        ss_free_names(*names, *count);
        *names = NULL;
        *count = 0;
        return rv;
    }
    if (*count > 1)
        qsort(*names, *count, sizeof(char *), compare_names);
    return SAR_OK;
}

ULONG ss_begin(const char *name, ss_tx *tx)
{
    char path[PATH_MAX];
    ULONG rv;
    memset(tx, 0, sizeof(*tx));
    tx->lock_fd = -1;
    if (!ss_valid_device_name(name))
        return SAR_INVALIDPARAMERR;
    snprintf(tx->name, sizeof(tx->name), "%s", name);
    if ((rv = path_in_home(path, sizeof(path), "", name, ".skf")) != SAR_OK)
        return rv;
    if ((tx->lock_fd = lock_home()) < 0)
        return SAR_FILEERR;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        ss_end(tx);
        return errno == ENOENT ? SAR_DEVICE_REMOVED : SAR_READFILEERR;
    }
    struct stat st;
    char *text = NULL;
    rv = SAR_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > SS_MAX_STATE_FILE) {
        rv = SAR_FILEERR;
    } else if (st.st_size == 0) { /* an empty file is a blank device, initialised now */
        if ((rv = blank_device(&tx->dev)) == SAR_OK)
            rv = write_state(name, &tx->dev, 1);
    } else if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
        rv = SAR_MEMORYERR;
    } else {
        size_t got = 0;
        while (got < (size_t)st.st_size) {
            ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        text[got] = '\0';
        rv = (got == (size_t)st.st_size && strlen(text) == got) ? parse_state(text, &tx->dev) : SAR_FILEERR;
        ss_cleanse(text, got);
    }
    free(text);
    close(fd);
    if (rv != SAR_OK)
        ss_end(tx);
    return rv;
}

ULONG ss_commit(ss_tx *tx)
{
    return write_state(tx->name, &tx->dev, 1);
}

void ss_end(ss_tx *tx)
{
    ss_device_clear(&tx->dev);
    if (tx->lock_fd >= 0)
        close(tx->lock_fd);
    tx->lock_fd = -1;
}
