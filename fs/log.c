/*
 * log.c: where the daemon's own messages go: stderr in the foreground, syslog
 * once daemonized. Callers pass only operator-safe facts (volume path, key ids,
 * file ids, errno names) — this file cannot check that, so the rule lives in
 * docs/THREAT_MODEL.md and in review.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static int log_syslog;
static const char *log_ident = "phifs";

void log_init(const char *ident, int to_syslog)
{
	log_ident = ident;
	log_syslog = to_syslog;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(level, fmt, ap);
	} else {
		fprintf(stderr, "%s: ", log_ident);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}
