/* A fixture for check-layers.py: the lowest layer reaching up. */
#include "basic/log.h"
#include "bus/bus.h"
