/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dmwardenctl: the operator's command line. For now one command, holders,
 * which runs the daemon's own scanner in-process and prints what it found. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block-device.h"
#include "holder-scan.h"
#include "holders-format.h"
#include "log.h"

/* Distinct so scripts can tell a typo from a missing privilege from a real
 * failure; 2 and 4 follow the LSB meanings ("invalid argument",
 * "insufficient privilege"). */
#define EXIT_SCAN_FAILED 1
#define EXIT_BAD_ARGUMENT 2
#define EXIT_NOT_ROOT 4

typedef struct Arguments {
        const char *command;
        const char *device;
        bool json;
        bool full;
        MountSource source;
} Arguments;

static void help(void) {
        printf("Usage: dmwardenctl [OPTIONS] holders DEVICE\n\n"
               "Says what keeps a block device busy, in every mount namespace.\n\n"
               "Commands:\n"
               "  holders DEVICE      Mounts of DEVICE in any mount namespace (with the\n"
               "                      processes in it, or what pins a namespace no process\n"
               "                      is in), processes with files, cwd, root or maps on it\n"
               "                      or the device node open, and devices stacked on it\n\n"
               "Options:\n"
               "  -h --help           Show this help\n"
               "     --version        Show the version\n"
               "     --json           Print JSON instead of a table\n"
               "     --full           Scan every process's open files even when the\n"
               "                      device's open count says its mounts explain it (the\n"
               "                      default for devices that are not device-mapper), and\n"
               "                      name every process of a holding namespace, not only\n"
               "                      its root members\n"
               "     --source=SOURCE  How to read mount tables: auto (default), listmount\n"
               "                      (Linux 6.12+), mountinfo\n\n"
               "DEVICE is a device node (/dev/dm-3, /dev/mapper/NAME), a device-mapper or\n"
               "kernel name (looked up in /dev/mapper, then /dev), or MAJOR:MINOR.\n\n"
               "Exit status: 0 the scan ran (whether or not anything holds DEVICE),\n"
               "1 the scan failed, 2 bad arguments or no such block device, 4 not root.\n");
}

/* Returns 1 to go on, 0 to exit successfully, -EINVAL on bad usage. */
static int parse_arguments(int argc, char *argv[], Arguments *args) {
        enum { ARG_VERSION = 0x100, ARG_JSON, ARG_FULL, ARG_SOURCE };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", no_argument, NULL, ARG_JSON },
                { "full", no_argument, NULL, ARG_FULL },
                { "source", required_argument, NULL, ARG_SOURCE },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("dmwardenctl %s\n", DMWARDEN_VERSION);
                        return 0;
                case ARG_JSON:
                        args->json = true;
                        break;
                case ARG_FULL:
                        args->full = true;
                        break;
                case ARG_SOURCE:
                        args->source = mount_source_from_string(optarg);
                        if ((int) args->source < 0)
                                return log_error_errno(-EINVAL, "Unknown --source=%s; see --help.", optarg);
                        break;
                default:
                        return -EINVAL; /* getopt said why */
                }

        if (optind >= argc)
                return log_error_errno(-EINVAL, "No command given; see --help.");
        args->command = argv[optind++];
        if (strcmp(args->command, "holders") != 0)
                return log_error_errno(-EINVAL, "Unknown command \"%s\"; see --help.", args->command);
        if (optind >= argc)
                return log_error_errno(-EINVAL, "holders needs a DEVICE; see --help.");
        args->device = argv[optind++];
        if (optind < argc)
                return log_error_errno(-EINVAL, "Unexpected argument \"%s\"; see --help.", argv[optind]);
        return 1;
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
        unsigned maj, min;
        char rest;

        if (r == -ENOTBLK)
                log_error("%s: not a block device (%s).", arg, file_type(arg));
        else if (r != -ENOENT)
                log_error_errno(r, "%s: cannot look at it: %m", arg);
        else if (sscanf(arg, "%u:%u%c", &maj, &min, &rest) == 2)
                log_error("%s: no such block device (no /sys/dev/block/%u:%u).", arg, maj, min);
        else if (strchr(arg, '/'))
                log_error_errno(r, "%s: no such file (%m).", arg);
        else
                log_error("%s: no such file in /dev/mapper or /dev.", arg);
}

/* The scan the daemon would make: files only when the open count demands
 * it, or always where nobody counts opens, or when asked with --full. */
static int scan(const Arguments *args, dev_t dev, HolderScan **ret) {
        HolderScanOptions o = { .dev = dev, .source = args->source, .describe_all = args->full };
        _cleanup_(holder_scan_freep) HolderScan *s = NULL;
        unsigned open_count;
        int r;

        r = dm_open_count(dev, &open_count);
        o.scan_files = args->full || r < 0;
        if (r < 0 && r != -ENOTTY)
                log_debug_errno(r, "Cannot get the open count of %s, scanning files: %m", args->device);

        r = holder_scan(&o, &s);
        if (r < 0)
                return r;
        if (!o.scan_files && !holder_scan_explains_open_count(s, open_count)) {
                log_debug("Open count %u is more than the mounts explain, scanning files.", open_count);
                s = holder_scan_free(s);
                o.scan_files = true;
                r = holder_scan(&o, &s);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(holder_scan_freep) HolderScan *s = NULL;
        Arguments args = { .source = MOUNT_SOURCE_AUTO };
        dev_t dev;
        int r;

        log_parse_environment();

        r = parse_arguments(argc, argv, &args);
        if (r < 0)
                return EXIT_BAD_ARGUMENT;
        if (r == 0)
                return EXIT_SUCCESS;

        r = block_device_resolve(args.device, &dev);
        if (r < 0) {
                log_bad_device(args.device, r);
                return EXIT_BAD_ARGUMENT;
        }
        if (geteuid() != 0) {
                log_error("Looking into other processes' namespaces and files needs root.");
                return EXIT_NOT_ROOT;
        }

        r = scan(&args, dev, &s);
        if (r < 0) {
                log_error_errno(r, "Failed to scan for holders of %s: %m", args.device);
                return EXIT_SCAN_FAILED;
        }

        r = args.json ? holders_print_json(stdout, s, args.device) : holders_print_table(stdout, s, args.device, args.full);
        if (r < 0) {
                log_error_errno(r, "Failed to print the result: %m");
                return EXIT_SCAN_FAILED;
        }
        return EXIT_SUCCESS;
}
