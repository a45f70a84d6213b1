/*
 * SKF_WaitForDevEvent / SKF_CancelWaitForDevEvent. Inserting a device is creating its state file,
 * removing it is deleting the file. The library keeps the list of device names it last reported
 * (taken at its first use); a wait compares the folder against it every 50 ms and reports one change
 * at a time (insertions first, by name), so nothing is lost between two waits. A cancel wakes every
 * wait under way, which then returns SAR_NOT_EVENTERR; it does not affect later waits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "softskf.h"

#define SS_POLL_NS 50000000L

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ev_cond = PTHREAD_COND_INITIALIZER;
static unsigned long cancel_generation;
static char **known;
static size_t nknown;
static int have_known;

void ss_events_first_use(void)
{
    pthread_mutex_lock(&ev_lock);
    if (!have_known && ss_list_devices(&known, &nknown) == SAR_OK)
        have_known = 1;
    pthread_mutex_unlock(&ev_lock);
}

static int contains(char **names, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

/* The first difference between ``now`` and the known list: its name and kind, or 0. */
static ULONG first_change(char **now, size_t nnow, const char **name)
{
    for (size_t i = 0; i < nnow; i++)
        if (!contains(known, nknown, now[i])) {
            *name = now[i];
            return DEV_EVENT_INSERTED;
        }
    for (size_t i = 0; i < nknown; i++)
        if (!contains(now, nnow, known[i])) {
            *name = known[i];
            return DEV_EVENT_REMOVED;
        }
    return 0;
}

static ULONG remember(ULONG kind, const char *name)
{
    if (kind == DEV_EVENT_INSERTED) {
        char **grown = realloc(known, (nknown + 1) * sizeof(char *));
        if (grown == NULL)
            return SAR_MEMORYERR;
        known = grown;
        if ((known[nknown] = strdup(name)) == NULL)
            return SAR_MEMORYERR;
        nknown++;
    } else {
        for (size_t i = 0; i < nknown; i++)
            if (strcmp(known[i], name) == 0) {
                free(known[i]);
                known[i] = known[--nknown];
                break;
            }
    }
    return SAR_OK;
}

ULONG DEVAPI SKF_WaitForDevEvent(LPSTR szDevName, ULONG *pulDevNameLen, ULONG *pulEvent)
{
    if (pulDevNameLen == NULL || pulEvent == NULL)
        return SAR_INVALIDPARAMERR;
    pthread_mutex_lock(&ss_lock);
    ULONG rv = ss_prepare();
    pthread_mutex_unlock(&ss_lock);
    if (rv != SAR_OK)
        return rv;
    pthread_mutex_lock(&ev_lock);
    unsigned long generation = cancel_generation;
    for (;;) {
        char **now = NULL;
        size_t nnow = 0;
        if ((rv = ss_list_devices(&now, &nnow)) != SAR_OK)
            break;
        const char *name = NULL;
        ULONG kind = have_known ? first_change(now, nnow, &name) : 0;
        if (!have_known) { /* the folder could not be read at first use: start from now */
            known = now;
            nknown = nnow;
            have_known = 1;
            now = NULL;
            nnow = 0;
        }
        if (kind != 0) {
            size_t need = strlen(name) + 1;
            if (szDevName == NULL || *pulDevNameLen < need) {
                rv = szDevName == NULL ? SAR_INVALIDPARAMERR : SAR_BUFFER_TOO_SMALL; /* kept for the next call */
            } else {
                memcpy(szDevName, name, need);
                rv = remember(kind, name);
            }
            *pulDevNameLen = (ULONG)need;
            if (rv == SAR_OK)
                *pulEvent = kind;
            ss_free_names(now, nnow);
            break;
        }
        ss_free_names(now, nnow);
        if (cancel_generation != generation) {
            rv = SAR_NOT_EVENTERR;
            break;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += SS_POLL_NS;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec += 1;
            until.tv_nsec -= 1000000000L;
        }
        int wait = pthread_cond_timedwait(&ev_cond, &ev_lock, &until);
        if (wait != 0 && wait != ETIMEDOUT && wait != EINTR) {
            rv = SAR_FAIL;
            break;
        }
        if (cancel_generation != generation) {
            rv = SAR_NOT_EVENTERR;
            break;
        }
    }
    pthread_mutex_unlock(&ev_lock);
    return rv;
}

ULONG DEVAPI SKF_CancelWaitForDevEvent(void)
{
    pthread_mutex_lock(&ev_lock);
    cancel_generation++;
    pthread_cond_broadcast(&ev_cond);
    pthread_mutex_unlock(&ev_lock);
    return SAR_OK;
}
