/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* dmwardend: command line, configuration loading, and the manager's life. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "basic/log.h"
#include "basic/strv.h"
#include "config/config.h"
#include "dmwardend/manager.h"

typedef struct Arguments {
        const char *config_path;
        ConfigLoadFlags config_flags;   /* required when named with --config */
        bool dump_config;
        const char *test_device_source;
} Arguments;

static void help(void) {
        printf("Usage: dmwardend [OPTIONS]\n\n"
               "Keeps a container engine's device-mapper thin snapshots from being leaked\n"
               "into other mount namespaces, and says who holds them when they are.\n\n"
               "  -h --help            Show this help\n"
               "     --version         Show the version\n"
               "  -c --config PATH     Configuration file (default %s);\n"
               "                       drop-ins are read from PATH.d/*.conf\n"
               "     --dump-config     Print the effective configuration, every key\n"
               "                       with defaults filled in, and exit\n",
               CONFIG_DEFAULT_PATH);
}

/* Returns 1 to go on, 0 to exit successfully, negative errno on bad usage. */
static int parse_arguments(int argc, char *argv[], Arguments *args) {
        enum { ARG_VERSION = 0x100, ARG_DUMP_CONFIG, ARG_TEST_DEVICE_SOURCE };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config", required_argument, NULL, 'c' },
                { "dump-config", no_argument, NULL, ARG_DUMP_CONFIG },
                { "test-device-source", required_argument, NULL, ARG_TEST_DEVICE_SOURCE },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "hc:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("dmwardend %s\n", DMWARDEN_VERSION);
                        return 0;
                case 'c':
                        args->config_path = optarg;
                        args->config_flags |= CONFIG_LOAD_REQUIRED;
                        break;
                case ARG_DUMP_CONFIG:
                        args->dump_config = true;
                        break;
                case ARG_TEST_DEVICE_SOURCE:
                        args->test_device_source = optarg;
                        break;
                default:
                        /* getopt said why; say where to look. */
                        log_error("Try '%s --help' for more information.", program_invocation_short_name);
                        return -EINVAL;
                }

        if (optind < argc)
                return log_error_errno(SYNTHETIC_ERRNO(EINVAL), "Unexpected argument \"%s\"; see --help.",
                                       argv[optind]);
        return 1;
}

static int load_config(const char *path, ConfigLoadFlags flags, Config **ret) {
        _cleanup_strv_free_ char **errors = NULL;
        int r;

        r = config_load(path, flags, ret, &errors);
        if (r == -EINVAL) {
                for (char **e = errors; e && *e; e++)
                        log_error("%s", *e);
                return log_error_errno(r, "Refusing to start with an invalid configuration (%zu problem%s).",
                                       strv_length(errors), strv_length(errors) == 1 ? "" : "s");
        }
        if (r < 0)
                return log_error_errno(r, "Failed to load configuration %s: %m", path);
        return 0;
}

/* Exit statuses as systemd names them, so units can tell a bad command line
 * or configuration (no point restarting) from a runtime failure. */
#define EXIT_INVALIDARGUMENT 2
#define EXIT_NOTCONFIGURED 6

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_(config_freep) Config *config = NULL;
        Arguments args = { .config_path = CONFIG_DEFAULT_PATH };
        int r;

        log_parse_environment();

        r = parse_arguments(argc, argv, &args);
        if (r < 0)
                return EXIT_INVALIDARGUMENT;
        if (r == 0)
                return EXIT_SUCCESS;

        r = load_config(args.config_path, args.config_flags, &config);
        if (r < 0)
                return r == -EINVAL ? EXIT_NOTCONFIGURED : EXIT_FAILURE;

        if (args.dump_config) {
                r = config_dump_all(config, stdout);
                if (r < 0 || fflush(stdout) != 0) {
                        log_error_errno(r < 0 ? r : -EIO, "Failed to print the configuration: %m");
                        return EXIT_FAILURE;
                }
                return EXIT_SUCCESS;
        }

        r = manager_new(args.config_path, TAKE_PTR(config), &m);
        if (r < 0) {
                log_error_errno(r, "Failed to allocate the manager: %m");
                return EXIT_FAILURE;
        }
        manager_set_config_flags(m, args.config_flags);
        manager_set_argv(m, argv);
        if (args.test_device_source) {
                r = manager_set_device_source_dir(m, args.test_device_source);
                if (r < 0) {
                        log_error_errno(r, "Failed to allocate the manager: %m");
                        return EXIT_FAILURE;
                }
        }
        /* Refused like a bad configuration: the host cannot do what it asks
         * for, and restarting would not change that. */
        r = manager_load_walk(m);
        if (r < 0)
                return r == -ENOMEM ? EXIT_FAILURE : EXIT_NOTCONFIGURED;
        r = manager_start(m);
        if (r < 0)
                return EXIT_FAILURE;
        r = manager_run(m);
        return r < 0 ? EXIT_FAILURE : r;
}
