/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dmwardenctl: the operator's command line. status, list, scan, reap and
 * remove ask dmwardend over the bus; holders asks it too, and runs the
 * daemon's own scanner in-process for block devices it does not watch or
 * when it is not there. */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/sysmacros.h>

#include "basic/log.h"
#include "dmwardenctl/ctl-holders-scan.h"
#include "dmwardenctl/ctl.h"
#include "holders/block-device.h"
#include "holders/holder-scan-bounded.h"
#include "shared/bus-error.h"
#include "shared/reap-action.h"

/* The exit statuses are in ctl.h; a local scan without root is "not
 * allowed" like a call the daemon refuses. */
#define EXIT_SCAN_FAILED EXIT_FAILED
#define EXIT_NOT_ROOT EXIT_NOT_ALLOWED

typedef struct Verb Verb;

/* The options that go with some commands and not others (--help and
 * --version go with none); each command's row in verbs[] says which it
 * takes, and the parser refuses the rest. */
typedef enum Option {
        OPTION_JSON,
        OPTION_NOHEADINGS,
        OPTION_OUTPUT,
        OPTION_RAW,
        OPTION_FULL,
        OPTION_SOURCE,
        OPTION_WALK,
        OPTION_ACTION,
        _OPTION_MAX,
} Option;
#define OPT(o) (1u << (o))

typedef struct Arguments {
        const Verb *verb;
        const char *device;      /* the verb's operand: DEVICE or NAME */
        const char *action;
        CtlOutput output;
        bool full;
        MountSource source;
        HolderWalk walk;
        unsigned given;          /* OPT() of each Option on the command line */
} Arguments;

typedef enum VerbFlags {
        VERB_ON_DAEMON = 1 << 0, /* connect first; no bus is exit 3 */
} VerbFlags;

/* A command: how many operands it takes (operand: what the one it needs is
 * called), which Options (OPT() bits), and what runs it. bus is the
 * connection for VERB_ON_DAEMON, NULL otherwise. */
struct Verb {
        const char *name;
        const char *operand;
        unsigned min_args;
        unsigned max_args;
        VerbFlags flags;
        unsigned options;
        const CtlTableType *table; /* what -o names columns of */
        int (*run)(sd_bus *bus, const Arguments *args);
};

static void help(void) {
        printf("Usage: dmwardenctl [OPTIONS] COMMAND\n\n"
               "Shows what dmwardend watches, and says what keeps a block device busy, in\n"
               "every mount namespace.\n\n"
               "Commands:\n"
               "  status              The daemon: engine, namespace, policy, counters\n"
               "  list                Every watched device, its state and holders\n"
               "  holders DEVICE      What keeps DEVICE busy. For a device dmwardend watches,\n"
               "                      its holders outside the engine's namespace at its last\n"
               "                      scan. Otherwise (or with --full, --source or --walk, or\n"
               "                      when"
               "                      dmwardend is not running) a scan here: mounts of DEVICE\n"
               "                      in any mount namespace (with the processes in it, or\n"
               "                      what pins a namespace no process is in), processes\n"
               "                      with files, cwd, root or maps on it or the device node\n"
               "                      open, and devices stacked on it\n"
               "  scan                Re-derive every watched device's state from the kernel\n"
               "                      now, and name the devices found held\n"
               "  reap NAME           Act against the holders of watched device NAME now,\n"
               "                      with --action, else the daemon's default action\n"
               "  remove NAME         Deactivate watched device NAME now, if nothing holds it\n"
               "                      (scan needs root or polkit's org.dmwarden1.refresh,\n"
               "                      reap and remove root or org.dmwarden1.reap)\n\n"
               "Options:\n"
               "  -h --help           Show this help\n"
               "     --version        Show the version\n"
               "  -J --json           Print one JSON document instead of a table\n"
               "  -n --noheadings     Print no headings, and no summary on stderr\n"
               "  -o --output=COLUMNS The columns to print, separated by commas; +COLUMNS\n"
               "                      adds them to the default ones (dmwardenctl(1) lists them)\n"
               "  -r --raw            Print the table unaligned, with spaces, backslashes and\n"
               "                      control characters in cells as \\xNN\n"
               "     --full           With holders: scan here; scan every process's open files\n"
               "                      even when the device's open count says its mounts explain\n"
               "                      it (the default for devices that are not device-mapper),\n"
               "                      and add a \"member\" row for every process of a holding\n"
               "                      namespace that no other row names\n"
               "     --source=SOURCE  With holders: scan here, reading mount tables with auto\n"
               "                      (default), listmount (Linux 6.12+), mountinfo\n"
               "     --walk=WALK      With holders: scan here, finding processes with auto\n"
               "                      (default: bpf where it loads, else proc), bpf (the\n"
               "                      kernel's task iterators), proc (reading /proc)\n"
               "     --action=ACTION  With reap: report, detach, restart-unit or kill\n\n"
               "DEVICE is a device node (/dev/dm-3, /dev/mapper/NAME), a device-mapper or\n"
               "kernel name (looked up in /dev/mapper, then /dev), or MAJOR:MINOR.\n\n"
               "NAME is a device-mapper name as dmwardenctl list shows it.\n\n"
               "An option that does not go with COMMAND is refused.\n\n"
               "Exit status: 0 done (whether or not anything holds DEVICE), 1 failed (the\n"
               "daemon's message says why), 2 bad arguments, 3 dmwardend is not running,\n"
               "4 not allowed (a scan here needs root), 5 no such device.\n");
}

static const char *file_type(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0)
                return "unreadable";
        switch (st.st_mode & S_IFMT) {
        case S_IFREG:
                return "a regular file";
        case S_IFDIR:
                return "a directory";
        case S_IFCHR:
                return "a character device";
        case S_IFIFO:
                return "a FIFO";
        case S_IFSOCK:
                return "a socket";
        default:
                return "not a device";
        }
}

/* Says what is wrong with the DEVICE argument, in the words of its form. */
static void log_bad_device(const char *arg, int r) {
        dev_t dev;

        if (r == -EINVAL)
                log_error("%s: not MAJOR:MINOR (two decimal numbers, at most %u:%u).", arg, BLOCK_DEVICE_MAJOR_MAX,
                          BLOCK_DEVICE_MINOR_MAX);
        else if (r == -ENOTBLK)
                log_error("%s: not a block device (%s).", arg, file_type(arg));
        else if (r != -ENOENT)
                log_error_errno(r, "%s: cannot look at it: %m", arg);
        else if (block_device_parse_number(arg, &dev) > 0)
                log_error("%s: no such block device (no /sys/dev/block/%u:%u).", arg, major(dev), minor(dev));
        else if (strchr(arg, '/'))
                log_error_errno(r, "%s: no such file (%m).", arg);
        else
                log_error("%s: no such file in /dev/mapper or /dev.", arg);
}

/* A scan here gives up after this; a stalled one is left behind and ends
 * with the process. */
#define LOCAL_SCAN_TIMEOUT_USEC (30 * USEC_PER_SEC)

/* The scan the daemon would make: files only when the open count demands
 * it, or always where nobody counts opens, or when asked with --full. */
static int scan(const Arguments *args, dev_t dev, HolderScan **ret, int *ret_open_count) {
        _cleanup_(scan_limit_unrefp) ScanLimit *limit = NULL;
        _cleanup_(task_walk_unrefp) TaskWalk *task_walk = NULL;
        HolderScanOptions o = { .dev = dev, .source = args->source, .describe_all = args->full, .walk = args->walk };
        unsigned open_count = 0;
        int r;

        r = scan_limit_new(1, &limit);
        if (r < 0)
                return r;
        if (args->walk != HOLDER_WALK_PROC) {
                _cleanup_free_ char *why = NULL;

                r = task_walk_open(&task_walk, &why);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 && args->walk == HOLDER_WALK_BPF)
                        return log_error_errno(r, "--walk=bpf: %s.", why ?: "the BPF task walk cannot load");
                if (r < 0)
                        log_debug("No BPF task walk (%s), reading /proc.", strna(why));
                o.task_walk = task_walk;
        }
        r = dm_open_count(dev, &open_count);
        *ret_open_count = r < 0 ? -1 : (int) open_count;
        o.scan_files = args->full || r < 0;
        if (r < 0 && r != -ENOTTY)
                log_debug_errno(r, "Cannot get the open count of %s, scanning files: %m", args->device);

        return holder_scan_bounded(&o, open_count, LOCAL_SCAN_TIMEOUT_USEC, limit, ret);
}

/* A path or MAJOR:MINOR (well formed or not), as opposed to a name that
 * may be the daemon's. */
static bool names_a_number(const char *s) {
        dev_t dev;

        return s[0] == '/' || block_device_parse_number(s, &dev) != 0;
}

/* What holders knows of the daemon when it comes to scan here. */
typedef enum DaemonAnswer {
        DAEMON_NOT_ASKED,       /* --full or --source: a scan here only */
        DAEMON_MISSING,         /* not on the bus */
        DAEMON_DOES_NOT_WATCH,  /* there, but no device by that name or number */
} DaemonAnswer;

/* DEVICE as a block device here. Returns 0, or the exit status with the
 * reason logged. */
static int resolve_here(const char *device, DaemonAnswer daemon, dev_t *ret) {
        int r;

        r = block_device_resolve(device, ret);
        if (r >= 0)
                return 0;
        log_bad_device(device, r);
        /* Something that is there but no block device (/dev/null), or a
         * MAJOR:MINOR that is not two numbers, is a mistake of the
         * caller's; nothing by that name is a device that is not there. */
        if (!IN_SET(r, -ENOENT, -ENODEV, -ENXIO))
                return EXIT_BAD_ARGUMENT;
        if (names_a_number(device))
                return EXIT_NO_SUCH_DEVICE;
        switch (daemon) {
        case DAEMON_NOT_ASKED:
                log_error("(--full and --source scan here, without asking dmwardend.)");
                return EXIT_NO_SUCH_DEVICE;
        case DAEMON_MISSING:
                log_error("dmwardend, which would know %s if it is a device it watches, is not running.", device);
                return EXIT_NOT_RUNNING;
        default:
                log_error("dmwardend watches no device %s either.", device);
                return EXIT_NO_SUCH_DEVICE;
        }
}

static int scan_here(const Arguments *args, DaemonAnswer daemon) {
        _cleanup_(holder_scan_freep) HolderScan *s = NULL;
        int open_count = -1;
        dev_t dev;
        int r;

        r = resolve_here(args->device, daemon, &dev);
        if (r != 0)
                return r;
        if (geteuid() != 0) {
                log_error("Looking into other processes' namespaces and files needs root.");
                return EXIT_NOT_ROOT;
        }
        r = scan(args, dev, &s, &open_count);
        if (r == -ETIMEDOUT) {
                log_error("The scan for holders of %s did not finish in %llu s: a filesystem or process it "
                          "looked at did not answer (a hung FUSE or NFS server?).",
                          args->device, (unsigned long long) (LOCAL_SCAN_TIMEOUT_USEC / USEC_PER_SEC));
                return EXIT_SCAN_FAILED;
        }
        if (r < 0) {
                log_error_errno(r, "Failed to scan for holders of %s: %m", args->device);
                return EXIT_SCAN_FAILED;
        }
        return ctl_print_scan(&args->output, s, args->device, open_count, args->full);
}

/* Asks the daemon first: a path or MAJ:MIN is looked up among its devices
 * by number. Returns the exit status (the daemon's errors logged with its
 * message), or -ESRCH (not on the bus) / -ENODEV (it watches no such
 * device, or DEVICE is no block device here) to scan here. */
static int holders_from_daemon(const Arguments *args) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *name = NULL;
        dev_t dev;
        int r;

        r = ctl_open_bus(&bus);
        if (r != 0)
                return r;
        if (!names_a_number(args->device))
                return ctl_holders(bus, args->device, &args->output);
        r = block_device_resolve(args->device, &dev);
        if (r < 0)
                return -ENODEV; /* scan_here() says why */
        r = ctl_device_name_by_number(bus, dev, &name);
        if (r != 0)
                return r;
        return ctl_holders(bus, name, &args->output);
}

static int verb_holders(sd_bus *bus _unused_, const Arguments *args) {
        int r;

        if (args->full || args->source != MOUNT_SOURCE_AUTO || args->walk != HOLDER_WALK_AUTO)
                return scan_here(args, DAEMON_NOT_ASKED);
        r = holders_from_daemon(args);
        if (r >= 0)
                return r;
        return scan_here(args, r == -ESRCH ? DAEMON_MISSING : DAEMON_DOES_NOT_WATCH);
}

static int verb_status(sd_bus *bus, const Arguments *args) {
        return ctl_status(bus, &args->output);
}

static int verb_list(sd_bus *bus, const Arguments *args) {
        return ctl_list(bus, &args->output);
}

static int verb_scan(sd_bus *bus, const Arguments *args) {
        return ctl_scan(bus, &args->output);
}

static int verb_reap(sd_bus *bus, const Arguments *args) {
        return ctl_reap(bus, args->device, args->action, args->output.json);
}

static int verb_remove(sd_bus *bus, const Arguments *args) {
        return ctl_remove(bus, args->device, args->output.json);
}

#define TABLE_OPTIONS (OPT(OPTION_JSON) | OPT(OPTION_NOHEADINGS) | OPT(OPTION_OUTPUT) | OPT(OPTION_RAW))
#define HOLDERS_OPTIONS (TABLE_OPTIONS | OPT(OPTION_FULL) | OPT(OPTION_SOURCE) | OPT(OPTION_WALK))

/* In the order --help lists them. holders connects on its own: without the
 * daemon it scans here. scan prints list's table, of the devices it found
 * held. */
static const Verb verbs[] = {
        { "status",  NULL,     0, 0, VERB_ON_DAEMON, TABLE_OPTIONS,                         &ctl_status_table, verb_status },
        { "list",    NULL,     0, 0, VERB_ON_DAEMON, TABLE_OPTIONS,                         &ctl_device_table, verb_list },
        { "holders", "DEVICE", 1, 1, 0,              HOLDERS_OPTIONS,                       &ctl_holder_table, verb_holders },
        { "scan",    NULL,     0, 0, VERB_ON_DAEMON, TABLE_OPTIONS,                         &ctl_device_table, verb_scan },
        { "reap",    "NAME",   1, 1, VERB_ON_DAEMON, OPT(OPTION_JSON) | OPT(OPTION_ACTION), NULL,              verb_reap },
        { "remove",  "NAME",   1, 1, VERB_ON_DAEMON, OPT(OPTION_JSON),                      NULL,              verb_remove },
};

static const Verb *verb_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return &verbs[i];
        return NULL;
}

/* getopt's codes: an Option is ARG_OPTION plus its number. */
enum {
        ARG_VERSION = 0x100,
        ARG_OPTION = 0x200,
};

static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, ARG_VERSION },
        { "json", no_argument, NULL, ARG_OPTION + OPTION_JSON },
        { "noheadings", no_argument, NULL, ARG_OPTION + OPTION_NOHEADINGS },
        { "output", required_argument, NULL, ARG_OPTION + OPTION_OUTPUT },
        { "raw", no_argument, NULL, ARG_OPTION + OPTION_RAW },
        { "full", no_argument, NULL, ARG_OPTION + OPTION_FULL },
        { "source", required_argument, NULL, ARG_OPTION + OPTION_SOURCE },
        { "walk", required_argument, NULL, ARG_OPTION + OPTION_WALK },
        { "action", required_argument, NULL, ARG_OPTION + OPTION_ACTION },
        {},
};

static const char *option_name(Option o) {
        for (const struct option *l = long_options; l->name; l++)
                if (l->val == ARG_OPTION + (int) o)
                        return l->name;
        return "?";
}

/* After a mistake on the command line, said above: where to look.
 * Returns -EINVAL. */
static int log_try_help(void) {
        log_error("Try '%s --help' for more information.", program_invocation_short_name);
        return -EINVAL;
}
#define usage_error(...) (log_error(__VA_ARGS__), log_try_help())

static int parse_source(const char *s, Arguments *args) {
        args->source = mount_source_from_string(s);
        if ((int) args->source < 0)
                return usage_error("Unknown --source=%s; use one of auto, listmount or mountinfo.", s);
        return 1;
}

static int parse_walk(const char *s, Arguments *args) {
        args->walk = holder_walk_from_string(s);
        if ((int) args->walk < 0)
                return usage_error("Unknown --walk=%s; use one of auto, bpf or proc.", s);
        return 1;
}

/* Checked here, so a typo is refused before the daemon is asked. */
static int parse_action(const char *s, Arguments *args) {
        if ((int) reap_action_from_string(s) < 0)
                return usage_error("Unknown action \"%s\"; use one of report, detach, restart-unit or kill.", s);
        args->action = s;
        return 1;
}

/* One option getopt returned. Returns 1 to go on, 0 to exit successfully
 * (--help, --version), -EINVAL on bad usage. */
static int parse_option(int c, const char *arg, Arguments *args) {
        int r;

        switch (c) {
        case 'h':
                help();
                return 0;
        case ARG_VERSION:
                printf("dmwardenctl %s\n", DMWARDEN_VERSION);
                return 0;
        case 'J':
        case ARG_OPTION + OPTION_JSON:
                args->output.json = true;
                c = ARG_OPTION + OPTION_JSON;
                break;
        case 'n':
        case ARG_OPTION + OPTION_NOHEADINGS:
                args->output.noheadings = true;
                c = ARG_OPTION + OPTION_NOHEADINGS;
                break;
        case 'o':
        case ARG_OPTION + OPTION_OUTPUT:
                args->output.columns = arg;
                c = ARG_OPTION + OPTION_OUTPUT;
                break;
        case 'r':
        case ARG_OPTION + OPTION_RAW:
                args->output.raw = true;
                c = ARG_OPTION + OPTION_RAW;
                break;
        case ARG_OPTION + OPTION_FULL:
                args->full = true;
                break;
        case ARG_OPTION + OPTION_SOURCE:
                r = parse_source(arg, args);
                if (r < 0)
                        return r;
                break;
        case ARG_OPTION + OPTION_WALK:
                r = parse_walk(arg, args);
                if (r < 0)
                        return r;
                break;
        case ARG_OPTION + OPTION_ACTION:
                r = parse_action(arg, args);
                if (r < 0)
                        return r;
                break;
        default:
                return log_try_help(); /* getopt said why */
        }
        args->given |= OPT(c - ARG_OPTION);
        return 1;
}

/* Leaves optind at the command: getopt moves the operands behind the
 * options. Returns as parse_option(). */
static int parse_options(int argc, char *argv[], Arguments *args) {
        int c, r;

        while ((c = getopt_long(argc, argv, "hJno:r", long_options, NULL)) >= 0) {
                r = parse_option(c, optarg, args);
                if (r <= 0)
                        return r;
        }
        return 1;
}

/* The command (words[0]), its options and its operands, checked against
 * its row. Returns 1, or -EINVAL on bad usage. */
static int parse_verb(size_t n_words, char *words[], Arguments *args) {
        unsigned extra;
        size_t n;

        if (n_words == 0)
                return usage_error("No command given.");
        args->verb = verb_find(words[0]);
        if (!args->verb)
                return usage_error("Unknown command \"%s\".", words[0]);
        extra = args->given & ~args->verb->options;
        for (Option o = 0; o < _OPTION_MAX; o++)
                if (extra & OPT(o))
                        return usage_error("--%s does not go with %s.", option_name(o), args->verb->name);
        if (args->verb->table && ctl_output_check(args->verb->table, &args->output) < 0)
                return log_try_help();
        n = n_words - 1;
        if (n < args->verb->min_args)
                return usage_error("%s needs a %s.", args->verb->name, args->verb->operand);
        if (n > args->verb->max_args)
                return usage_error("Unexpected argument \"%s\".", words[1 + args->verb->max_args]);
        args->device = n > 0 ? words[1] : NULL;
        return 1;
}

/* Returns 1 to go on, 0 to exit successfully, -EINVAL on bad usage. */
static int parse_arguments(int argc, char *argv[], Arguments *args) {
        int r;

        r = parse_options(argc, argv, args);
        if (r <= 0)
                return r;
        return parse_verb((size_t) (argc - optind), argv + optind, args);
}

static int verb_dispatch(const Arguments *args) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (args->verb->flags & VERB_ON_DAEMON) {
                r = ctl_connect(&bus);
                if (r != 0)
                        return r;
        }
        return args->verb->run(bus, args);
}

int main(int argc, char *argv[]) {
        Arguments args = { .source = MOUNT_SOURCE_AUTO, .walk = HOLDER_WALK_AUTO };
        int r;

        log_parse_environment();
        /* Cells are measured in the characters the terminal shows. */
        (void) setlocale(LC_CTYPE, "");

        r = parse_arguments(argc, argv, &args);
        if (r < 0)
                return EXIT_BAD_ARGUMENT;
        if (r == 0)
                return EXIT_SUCCESS;
        return verb_dispatch(&args);
}
