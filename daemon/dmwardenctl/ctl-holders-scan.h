/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* holders DEVICE scanned here, printed as the daemon's answer for the
 * same holders is. */

#include <stdbool.h>

#include "dmwardenctl/ctl.h"
#include "holders/holder-scan.h"

/* open_count: the kernel's count of opens of the device, -1 if nobody
 * counts them; opens no holder explains get the "unexplained" row the
 * daemon gives them. full adds a "member" row for each process of a
 * holding namespace that no other row names. The summary (what was
 * scanned and skipped) goes to stderr. Returns the exit status. */
int ctl_print_scan(const CtlOutput *o, const HolderScan *s, const char *device, int open_count, bool full);
