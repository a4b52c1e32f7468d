/* A fixture for check-layers.py: the client reaching for the daemon's configuration loader. */
#include "config/config.h"
#include "shared/bus-api.h"
