/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A HolderScan as people read it (grouped table) and as programs read it
 * (JSON), for dmwardenctl holders. Writes only; no I/O besides f. */

#include <stdbool.h>
#include <stdio.h>

#include "holders/holder-scan.h"

/* device is the name to show (as given on the command line). full adds the
 * PIDs of every member. Returns 0, or -EIO if f failed. */
int holders_print_table(FILE *f, const HolderScan *s, const char *device, bool full);
/* "Scanned N processes ... in T ms", and what the scan could not see. */
void holders_print_summary(FILE *f, const HolderScan *s);
int holders_print_json(FILE *f, const HolderScan *s, const char *device);
