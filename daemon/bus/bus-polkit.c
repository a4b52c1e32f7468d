/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "basic/log.h"
#include "basic/macro.h"
#include "bus/bus-polkit.h"

/* polkit's CheckAuthorizationFlags: may ask the user for a password. */
#define POLKIT_ALLOW_USER_INTERACTION 1u

/* One question to polkit, alive until its answer comes or its owner
 * drops it. The request holds a reference to the bus connection: a query
 * left to the connection (a floating slot) would keep it alive forever. */
struct PolkitQuery {
        sd_bus_message *request;        /* the call waiting to be authorized */
        char *action_id;
        BusAuthorizedFunc act;
        void *userdata;
        sd_bus_slot *slot;              /* the CheckAuthorization call */
        PolkitQuery **pending;          /* the list it is on */
        PolkitQuery *prev, *next;
};

static PolkitQuery *polkit_query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        if (q->prev)
                q->prev->next = q->next;
        else if (q->pending && *q->pending == q)
                *q->pending = q->next;
        if (q->next)
                q->next->prev = q->prev;
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        free(q->action_id);
        free(q);
        return NULL;
}

static int reply_denied(PolkitQuery *q, const char *why);

void polkit_queries_free(PolkitQuery **pending) {
        while (*pending) {
                /* The caller would otherwise hear only that we left. */
                (void) reply_denied(*pending, "dmwardend stopped before polkit answered");
                polkit_query_free(*pending);
        }
}

/* act reads the arguments again, from the start. */
static int act_now(sd_bus_message *m, BusAuthorizedFunc act, void *userdata, sd_bus_error *error) {
        int r;

        r = sd_bus_message_rewind(m, true);
        if (r < 0)
                return r;
        return act(m, userdata, error);
}

static int reply_denied(PolkitQuery *q, const char *why) {
        return sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_ACCESS_DENIED,
                                          "Access denied: %s needs root or polkit authorization for %s; %s.",
                                          sd_bus_message_get_member(q->request), q->action_id, why);
}

/* CheckAuthorization returns (bba{ss}): authorized, challenge, details. */
static int answer(PolkitQuery *q, sd_bus_message *reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const sd_bus_error *e;
        int authorized = 0, challenge = 0, r;

        e = sd_bus_message_get_error(reply);
        if (e) {
                log_info("polkit could not authorize %s from %s: %s", sd_bus_message_get_member(q->request),
                         strna(sd_bus_message_get_sender(q->request)), e->message ?: e->name);
                return reply_denied(q, sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN,
                                                              SD_BUS_ERROR_NAME_HAS_NO_OWNER)
                                               ? "polkit is not available"
                                               : "polkit failed to answer");
        }
        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0)
                return reply_denied(q, "polkit's answer could not be read");
        if (!authorized)
                return reply_denied(q, challenge ? "authentication is required and was not given"
                                                 : "polkit does not allow it");

        r = act_now(q->request, q->act, q->userdata, &error);
        if (r < 0)
                return sd_bus_error_is_set(&error) ? sd_bus_reply_method_error(q->request, &error)
                                                   : sd_bus_reply_method_errno(q->request, r, NULL);
        return 0;
}

static int on_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = ASSERT_PTR(userdata);
        int r;

        (void) ret_error;
        r = answer(q, reply);
        /* sd-bus holds the slot while this runs: dropping ours is safe. */
        polkit_query_free(q);
        return r;
}

static int polkit_check_async(sd_bus_message *m, const char *action_id, BusAuthorizedFunc act, void *userdata,
                              PolkitQuery **pending) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        PolkitQuery *q;
        uint32_t flags = 0;
        int r;

        if (sd_bus_message_get_allow_interactive_authorization(m) > 0)
                flags |= POLKIT_ALLOW_USER_INTERACTION;

        r = sd_bus_message_new_method_call(sd_bus_message_get_bus(m), &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r < 0)
                return r;
        r = sd_bus_message_append(call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s",
                                  sd_bus_message_get_sender(m), action_id, 0, flags, "");
        if (r < 0)
                return r;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        *q = (PolkitQuery) { .request = sd_bus_message_ref(m), .act = act, .userdata = userdata };
        q->action_id = strdup(action_id);
        if (!q->action_id) {
                polkit_query_free(q);
                return -ENOMEM;
        }

        /* A user typing a password takes longer than sd-bus's default. */
        r = sd_bus_call_async(sd_bus_message_get_bus(m), &q->slot, call, on_polkit_reply, q,
                              flags ? 5 * 60 * 1000000ULL : 0);
        if (r < 0) {
                polkit_query_free(q);
                return r;
        }
        q->pending = pending;
        q->next = *pending;
        if (q->next)
                q->next->prev = q;
        *pending = q;
        return 0;
}

int bus_authorize(sd_bus_message *m, const char *action_id, BusAuthorizedFunc act, void *userdata,
                  PolkitQuery **pending, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t euid = (uid_t) -1;
        int r;

        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &creds);
        if (r >= 0)
                r = sd_bus_creds_get_euid(creds, &euid);
        if (r >= 0 && euid == 0)
                return act_now(m, act, userdata, error);
        if (r < 0)
                log_debug_errno(r, "Cannot tell the UID of %s, asking polkit: %m",
                                strna(sd_bus_message_get_sender(m)));

        r = polkit_check_async(m, action_id, act, userdata, pending);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to ask polkit about %s: %m", action_id);
        return 1;
}
