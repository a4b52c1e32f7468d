/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <string.h>

#include "holders/proc-util.h"
#include "reap/reap-protect.h"

static char *units[] = { "systemd-journald.service", "dbus.service", NULL };
static char *comms[] = { "sshd", NULL };

static const ProtectPolicy policy = {
        .self_pid = 500,
        .self_unit = "dmwarden.service",
        .self_mntns = 1000,
        .engine_pid = 600,
        .engine_mntns = 2000,
        .protect_units = units,
        .protect_comms = comms,
};

/* An ordinary holder: a backup agent in a namespace of its own. */
static ProtectSubject holder(void) {
        static const pid_t ancestors[] = { 700, 1 };

        return (ProtectSubject) {
                .pid = 4242, .mntns = 3000, .comm = "backup", .unit = "backup.service",
                .ancestors = ancestors, .n_ancestors = ELEMENTSOF(ancestors),
        };
}

static void expect(ProtectSubject s, ReapAction a, ProtectReason want) {
        char got_buf[128], want_buf[128];
        ProtectReason got = reap_protect_check(&policy, &s, a);

        cr_assert_eq(got, want, "%s: got \"%s\", want \"%s\"", reap_action_to_string(a),
                     reap_protect_describe(got, &s, got_buf, sizeof(got_buf)),
                     reap_protect_describe(want, &s, want_buf, sizeof(want_buf)));
}

static void expect_both(ProtectSubject s, ProtectReason want) {
        expect(s, REAP_KILL, want);
        expect(s, REAP_RESTART_UNIT, want);
}

Test(reap_protect, an_ordinary_holder_is_fair_game) {
        expect_both(holder(), PROTECT_NONE);
        expect(holder(), REAP_DETACH, PROTECT_NONE);
        expect(holder(), REAP_REPORT, PROTECT_NONE);
}

Test(reap_protect, pid1_self_and_kernel_threads) {
        ProtectSubject s = holder();

        s.pid = 1;
        expect_both(s, PROTECT_PID1);
        s.pid = 500;
        expect_both(s, PROTECT_SELF);
        s.pid = 0;
        expect_both(s, PROTECT_SELF);
        s = holder();
        s.flags = PROC_PF_KTHREAD;
        expect_both(s, PROTECT_KERNEL_THREAD);
}

Test(reap_protect, the_engine_its_children_and_its_namespace) {
        static const pid_t grandchild[] = { 650, 600, 1 };
        ProtectSubject s = holder();

        s.pid = 600;
        expect_both(s, PROTECT_ENGINE);
        s = holder();
        s.ancestors = grandchild;
        s.n_ancestors = ELEMENTSOF(grandchild);
        expect_both(s, PROTECT_ENGINE_CHILD);
        s = holder();
        s.mntns = 2000;
        expect_both(s, PROTECT_ENGINE_NAMESPACE);
        expect(s, REAP_DETACH, PROTECT_ENGINE_NAMESPACE);
}

Test(reap_protect, configured_units_and_comms) {
        ProtectSubject s = holder();
        char buf[128];

        s.unit = "systemd-journald.service";
        expect_both(s, PROTECT_UNIT);
        cr_assert_str_eq(reap_protect_describe(PROTECT_UNIT, &s, buf, sizeof(buf)),
                         "protected unit systemd-journald.service");
        expect(s, REAP_DETACH, PROTECT_NONE);  /* unmounting a leaked copy harms no one */
        s = holder();
        s.comm = "sshd";
        expect_both(s, PROTECT_COMM);
        cr_assert_str_eq(reap_protect_describe(PROTECT_COMM, &s, buf, sizeof(buf)), "protected comm sshd");
        s = holder();
        s.unit = "dmwarden.service";
        expect_both(s, PROTECT_OWN_UNIT);
        s.unit = "";
        expect_both(s, PROTECT_NONE);
}

Test(reap_protect, detach_never_in_our_own_namespace) {
        ProtectSubject s = holder();

        s.mntns = 1000;
        expect(s, REAP_DETACH, PROTECT_SELF_NAMESPACE);
        s.pid = 0;  /* a namespace no process is in */
        s.mntns = 3001;
        expect(s, REAP_DETACH, PROTECT_NONE);
}

Test(reap_protect, kill_and_restart_never_in_our_own_namespace) {
        ProtectSubject s = holder();
        char buf[128];

        s.mntns = 1000;
        expect_both(s, PROTECT_SELF_NAMESPACE);
        cr_assert_str_eq(reap_protect_describe(PROTECT_SELF_NAMESPACE, &s, buf, sizeof(buf)),
                         "in the host mount namespace dmwardend runs in");
}

Test(reap_protect, no_engine_protects_nobody_by_engine_rules) {
        ProtectPolicy p = policy;
        ProtectSubject s = holder();

        p.engine_pid = 0;
        p.engine_mntns = 0;
        s.mntns = 0;
        cr_assert_eq(reap_protect_check(&p, &s, REAP_KILL), PROTECT_NONE);
}
