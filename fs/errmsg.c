/*
 * errmsg.c: the one formatter behind every set-up error buffer (errmsg.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "errmsg.h"

void errmsg_set(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (!err || !cap)
		return;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}
