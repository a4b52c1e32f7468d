/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Manager's slow clock for pool space: a timer, off the scan path,
 * that re-reads space (a few ioctls per device and pool), warns when a
 * pool crosses its fill level, and hands the metrics to their writer
 * thread. */
#include <errno.h>

#include "basic/log.h"
#include "dmwardend/manager.h"
#include "dmwardend/metrics.h"

static void write_metrics(Manager *m) {
        _cleanup_(metrics_snapshot_done) MetricsSnapshot s = {};
        char *text = NULL;
        bool changed;
        int r;

        r = metrics_file_last_result(m->metrics_file, &changed);
        if (changed && r == -ENOENT)
                log_info("%s does not exist (is node_exporter installed?); metrics are written once it does.",
                         m->config->metrics_directory);
        else if (changed && r < 0)
                log_warning_errno(r, "Cannot write %s/" METRICS_FILE_NAME ": %m", m->config->metrics_directory);
        else if (changed)
                log_info("Writing metrics to %s/" METRICS_FILE_NAME " again.", m->config->metrics_directory);
        if (metrics_collect(m->watch, m->leak_handler, m->engine, &s) < 0 || metrics_format(&s, &text) < 0) {
                log_oom();
                return;
        }
        r = metrics_file_write_async(m->metrics_file, m->config->metrics_directory, text);
        if (r == -EBUSY)
                log_debug("The last metrics write has not finished; skipping this one.");
        else if (r < 0)
                log_warning_errno(r, "Cannot start writing the metrics: %m");
}

void manager_space_tick(Manager *m) {
        if (!m->watch)
                return;
        device_watch_refresh_space(m->watch);
        /* Which devices are leaked is known once the first scan pass has
         * ended: a warning before it would name none of them. */
        if (m->first_scan_done)
                pool_warnings_check(&m->pool_warnings, m->watch, m->config->pool_warn_percent,
                                    now_usec(CLOCK_MONOTONIC));
        if (m->metrics_file && !isempty(m->config->metrics_directory))
                write_metrics(m);
}

static int on_space_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = ASSERT_PTR(userdata);

        manager_space_tick(m);
        /* RefreshSec= may have changed with a reload. */
        (void) sd_event_source_set_time(s, usec + m->config->pool_refresh_usec);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

int manager_start_space(Manager *m) {
        int r;

        if (m->config->pool_refresh_usec == 0 || m->config->pool_refresh_usec == USEC_INFINITY)
                return 0;  /* off: space is read only when asked for */
        r = metrics_file_new(&m->metrics_file);
        if (r < 0)
                return log_oom();
        manager_space_tick(m);
        r = sd_event_add_time_relative(m->event, &m->space_timer, CLOCK_MONOTONIC, m->config->pool_refresh_usec,
                                       USEC_PER_SEC, on_space_timer, m);
        if (r < 0)
                return log_error_errno(r, "Cannot arm the pool space timer: %m");
        (void) sd_event_source_set_description(m->space_timer, "pool-space");
        return 0;
}

void manager_space_done(Manager *m) {
        m->space_timer = sd_event_source_disable_unref(m->space_timer);
        pool_warnings_done(&m->pool_warnings);
        m->metrics_file = metrics_file_unref(m->metrics_file);
}
