/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The MESSAGE_ID of every journal alert dmwarden sends. Each one has an
 * entry in conf/dmwarden.catalog (a unit test keeps the two in step), so
 * `journalctl -x` explains it. Never reuse or change an id: operators
 * filter on them. */

#define ALERT_ID_LEAK_DETECTED          "10bf6751bba8497ca46070064ae9715f"
#define ALERT_ID_HOLDER_REAPED          "15fa5990a6754d1aa40734290b8a1387"
#define ALERT_ID_REAP_FAILED            "32eabdbf0e2e49daad9a1cdd8594b0e6"
#define ALERT_ID_LEAK_STUCK             "0071ce73822c4547b94fd0bb9266bbde"
#define ALERT_ID_DEVICE_RELEASED        "45c1affd9d3c46968541a93112e321db"
#define ALERT_ID_DEVICE_REMOVED         "ff9872f48f5742aa84df172a46f07c03"
#define ALERT_ID_REMOVAL_FAILED         "4da1b3990e704558adbc3433e05101b3"
#define ALERT_ID_POOL_FILL              "7c2e5b0a4f1d4e8b9a63d1f0c5b8e247"
