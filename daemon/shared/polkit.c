/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* polkit.c — asynchronous authorization of bus calls with polkit
 *
 * A call that needs authorization is parked: we ask the bus for the caller's uid and then, unless it
 * is root, ask polkit, both asynchronously. When the verdict is in, the call is put back into the
 * bus's read queue, its handler runs again and this time finds the verdict waiting here.
 *
 * The uid of a bus peer never changes and the bus never reuses a unique name, so the uid answers are
 * kept in a small cache: a client making many calls (root's above all, which need no polkit) costs
 * one GetConnectionUnixUser round trip, not one per call. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shared/log.h"
#include "shared/polkit.h"
#include "util/strv.h"
#include "util/time-util.h"

typedef struct PolkitQuery PolkitQuery;

struct PolkitQuery {
        PolkitRegistry *registry;
        PolkitQuery *next, *prev;
        sd_bus_message *request;        /* the parked call; the ref keeps its address unique */
        sd_bus_slot *slot;              /* the question in flight */
        char *action;
        char **details;
        bool done;
        uint64_t done_usec;             /* CLOCK_MONOTONIC when the verdict came */
        int result;                     /* once done: 1 authorized, < 0 not, with error set */
        sd_bus_error error;
};

/* Recent callers; a round-robin slot is reused when full, so the cache stays small and bounded. */
#define UID_CACHE_SIZE 64

typedef struct UidCacheEntry {
        char *sender;
        uid_t uid;
} UidCacheEntry;

struct PolkitRegistry {
        PolkitQuery *queries;
        UidCacheEntry uids[UID_CACHE_SIZE];
        unsigned next_uid;
};

static bool uid_cache_get(PolkitRegistry *r, const char *sender, uid_t *ret) {
        if (!sender)
                return false;
        for (unsigned i = 0; i < UID_CACHE_SIZE; i++)
                if (r->uids[i].sender && streq(r->uids[i].sender, sender)) {
                        *ret = r->uids[i].uid;
                        return true;
                }
        return false;
}

static void uid_cache_put(PolkitRegistry *r, const char *sender, uid_t uid) {
        UidCacheEntry *e;
        char *s;

        /* Only unique names (":1.42"): a well-known name can pass to another peer. */
        if (!sender || sender[0] != ':')
                return;
        s = strdup(sender);
        if (!s)
                return;         /* a cache miss later costs one round trip, nothing else */
        e = &r->uids[r->next_uid];
        r->next_uid = (r->next_uid + 1) % UID_CACHE_SIZE;
        free(e->sender);
        *e = (UidCacheEntry) { .sender = s, .uid = uid };
}

static PolkitQuery *polkit_query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        if (q->registry) {
                if (q->prev)
                        q->prev->next = q->next;
                else
                        q->registry->queries = q->next;
                if (q->next)
                        q->next->prev = q->prev;
        }
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        free(q->action);
        strv_free(q->details);
        sd_bus_error_free(&q->error);
        free(q);
        return NULL;
}

PolkitRegistry *polkit_registry_new(void) {
        return calloc(1, sizeof(PolkitRegistry));
}

PolkitRegistry *polkit_registry_free(PolkitRegistry *r) {
        if (!r)
                return NULL;
        while (r->queries)
                polkit_query_free(r->queries);
        for (unsigned i = 0; i < UID_CACHE_SIZE; i++)
                free(r->uids[i].sender);
        free(r);
        return NULL;
}

/* A requeued call is dispatched again within a loop iteration or two, and its handler takes the
 * verdict. If the handler never gets there (its object went away meanwhile, or its arguments no
 * longer validate), the verdict would stay forever: drop verdicts nobody took for a long while. */
#define VERDICT_KEEP_USEC (60 * 1000000ULL)

static void polkit_registry_drop_stale(PolkitRegistry *registry) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        for (PolkitQuery *q = registry->queries, *next; q; q = next) {
                next = q->next;
                if (q->done && now - q->done_usec > VERDICT_KEEP_USEC)
                        polkit_query_free(q);
        }
}

/* Records the verdict and hands the parked call back to the bus. */
static void polkit_query_finish(PolkitQuery *q, int result) {
        sd_bus *bus = sd_bus_message_get_bus(q->request);
        int r;

        q->done = true;
        q->done_usec = now_usec(CLOCK_MONOTONIC);
        q->result = result;
        q->slot = sd_bus_slot_unref(q->slot);

        r = sd_bus_enqueue_for_read(bus, q->request);
        if (r < 0) {
                /* Cannot happen short of OOM; answer the caller rather than leave it hanging. */
                log_error_errno(r, "Failed to requeue call after authorization: %m");
                (void) sd_bus_reply_method_errno(q->request, r, NULL);
                polkit_query_free(q);
        }
}

/* why: NULL for a plain "no", else what kept us from getting an answer. */
static int polkit_query_deny(PolkitQuery *q, const char *name, const char *why, const char *detail) {
        if (streq(name, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))
                sd_bus_error_setf(&q->error, name, "Interactive authentication is required for %s; "
                                  "allow interactive authorization and retry.", q->action);
        else if (why)
                sd_bus_error_setf(&q->error, name, "Not authorized for %s: %s%s%s%s.", q->action, why,
                                  detail ? " (" : "", strempty(detail), detail ? ")" : "");
        else
                sd_bus_error_setf(&q->error, name, "Not authorized for %s.", q->action);
        polkit_query_finish(q, -EACCES);
        return 0;
}

static int on_check_authorization(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        const sd_bus_error *e;
        int authorized, challenge, r;

        e = sd_bus_message_get_error(reply);
        if (e)
                return polkit_query_deny(q, SD_BUS_ERROR_ACCESS_DENIED, "polkit is not available", e->message);

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0)
                return polkit_query_deny(q, SD_BUS_ERROR_ACCESS_DENIED, "polkit's reply is malformed", NULL);
        if (authorized)
                polkit_query_finish(q, 1);
        else if (challenge)
                polkit_query_deny(q, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED, NULL, NULL);
        else
                polkit_query_deny(q, SD_BUS_ERROR_ACCESS_DENIED, NULL, NULL);
        return 0;
}

static int polkit_query_ask(PolkitQuery *q) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        sd_bus *bus = sd_bus_message_get_bus(q->request);
        bool interactive = sd_bus_message_get_allow_interactive_authorization(q->request) > 0;
        int r;

        r = sd_bus_message_new_method_call(bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r < 0)
                return r;
        r = sd_bus_message_append(call, "(sa{sv})s", "system-bus-name", 1, "name", "s",
                                  sd_bus_message_get_sender(q->request), q->action);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(call, 'a', "{ss}");
        if (r < 0)
                return r;
        for (char **d = q->details; d && d[0] && d[1]; d += 2) {
                r = sd_bus_message_append(call, "{ss}", d[0], d[1]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(call);
        if (r < 0)
                return r;
        r = sd_bus_message_append(call, "us", (uint32_t) interactive, "");
        if (r < 0)
                return r;

        /* polkit may wait for a person to type a password: give it as long as the caller would wait. */
        return sd_bus_call_async(bus, &q->slot, call, on_check_authorization, q, UINT64_C(120) * 1000000);
}

static int on_unix_user(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        const sd_bus_error *e;
        uint32_t uid;
        int r;

        e = sd_bus_message_get_error(reply);
        if (e)
                return polkit_query_deny(q, SD_BUS_ERROR_ACCESS_DENIED, "the caller's identity is unknown",
                                         e->message);
        r = sd_bus_message_read(reply, "u", &uid);
        if (r < 0)
                return polkit_query_deny(q, SD_BUS_ERROR_ACCESS_DENIED, "the caller's identity is unknown", NULL);
        uid_cache_put(q->registry, sd_bus_message_get_sender(q->request), uid);
        if (uid == 0) {
                polkit_query_finish(q, 1);
                return 0;
        }

        q->slot = sd_bus_slot_unref(q->slot);
        r = polkit_query_ask(q);
        if (r < 0) {
                log_error_errno(r, "Failed to ask polkit about %s: %m", q->action);
                polkit_query_deny(q, SD_BUS_ERROR_ACCESS_DENIED, "asking polkit failed", strerror(-r));
        }
        return 0;
}

static PolkitQuery *polkit_registry_find(PolkitRegistry *registry, sd_bus_message *m) {
        for (PolkitQuery *q = registry->queries; q; q = q->next)
                if (q->request == m)
                        return q;
        return NULL;
}

static int polkit_query_new(PolkitRegistry *registry, sd_bus_message *m, const char *action,
                            const char * const *details, PolkitQuery **ret) {
        PolkitQuery *q;
        int r = 0;

        q = calloc(1, sizeof(PolkitQuery));
        if (!q)
                return -ENOMEM;
        q->request = sd_bus_message_ref(m);
        q->action = strdup(action);
        if (!q->action)
                r = -ENOMEM;
        for (const char * const *d = details; d && *d && r >= 0; d++)
                r = strv_extend(&q->details, *d);
        if (r < 0) {
                polkit_query_free(q);
                return r;
        }

        q->registry = registry;
        q->next = registry->queries;
        if (q->next)
                q->next->prev = q;
        registry->queries = q;
        *ret = q;
        return 0;
}

int polkit_check_async(PolkitRegistry *registry, sd_bus_message *m, const char *action,
                       const char * const *details, sd_bus_error *error) {
        PolkitQuery *q;
        uid_t uid;
        int r;

        polkit_registry_drop_stale(registry);
        q = polkit_registry_find(registry, m);
        if (q) {
                if (!q->done)
                        return 0;
                r = q->result;
                if (r < 0)
                        sd_bus_error_copy(error, &q->error);
                polkit_query_free(q);
                return r;
        }

        if (uid_cache_get(registry, sd_bus_message_get_sender(m), &uid)) {
                if (uid == 0)
                        return 1;
                r = polkit_query_new(registry, m, action, details, &q);
                if (r < 0)
                        return sd_bus_error_set_errno(error, r);
                r = polkit_query_ask(q);
                if (r < 0) {
                        polkit_query_free(q);
                        return sd_bus_error_set_errnof(error, r, "Failed to ask polkit about %s: %m", action);
                }
                return 0;
        }

        r = polkit_query_new(registry, m, action, details, &q);
        if (r < 0)
                return sd_bus_error_set_errno(error, r);

        r = sd_bus_call_method_async(sd_bus_message_get_bus(m), &q->slot, "org.freedesktop.DBus",
                                     "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetConnectionUnixUser",
                                     on_unix_user, q, "s", sd_bus_message_get_sender(m));
        if (r < 0) {
                polkit_query_free(q);
                return sd_bus_error_set_errnof(error, r, "Failed to look up the caller: %m");
        }
        return 0;
}
