/*
 * common.c: helpers shared by the phifs subcommands — fatal errors (only tools
 * may exit), mapping library errors to documented exit codes, KMS options.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

static void vwarn_phifs(const char *fmt, va_list ap)
{
	fputs("phifs: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void warnx_phifs(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn_phifs(fmt, ap);
	va_end(ap);
}

void die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn_phifs(fmt, ap);
	va_end(ap);
	exit(code);
}

int exit_code_for(int err)
{
	switch (err) {
	case -EKEYREJECTED:
	case -ENOKEY:
	case -EACCES:
	case -ECONNREFUSED:
	case -ETIMEDOUT:
		return EXIT_KEY;
	case -ENOENT:
	case -EBADMSG:
	case -EPROTO:
		return EXIT_VOLUME;
	default:
		return EXIT_PROBLEMS;
	}
}

int kms_opt(int opt, const char *arg, struct kms_opts *o)
{
	switch (opt) {
	case 'P':
		o->passfile = arg;
		return 1;
	case 'E':
		o->extpass = arg;
		return 1;
	default:
		return 0;
	}
}

int hex_id(const unsigned char *id, size_t len, char *out, size_t cap)
{
	if (cap < 2 * len + 1)
		return -ENOSPC;
	for (size_t i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
	return 0;
}
