/* A fixture for check-layers.py: an include that does not say where it comes from. */
#include "log.h"
