/* b64.c: placeholder until implemented. */
#include "config.h"
