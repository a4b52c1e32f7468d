/* A fixture for check-layers.py: code beside the layers, in none of them. */
#include "basic/macro.h"
