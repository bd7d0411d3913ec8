/* hook.c: placeholder until implemented. */
#include "config.h"
