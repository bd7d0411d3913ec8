/*
 * audit_syslog.h: syslog sinks of the audit log (see audit_syslog.c):
 * RFC 5424 over the local datagram socket, RFC 5425 over TLS.
 * Spec: docs/AUDIT_FORMAT.md "Syslog".
 */
#ifndef PHIFS_AUDIT_SYSLOG_H
#define PHIFS_AUDIT_SYSLOG_H

#include <stddef.h>

struct audit_syslog;

/* One sink from its spec: "local" (/dev/log), "local:/PATH" (another
 * datagram socket), or "tls://HOST:PORT?ca=FILE[&cert=FILE&key=FILE]".
 * 0, -EINVAL (bad spec) or -errno (cannot connect). */
int audit_syslog_open(const char *spec, const char *host, const char *stream,
		      struct audit_syslog **out);
/* Sends one record line as the MSG of one syslog message; time is the
 * record's RFC 3339 time. 0 or -errno; a failed TLS sink reconnects on the
 * next send. */
int audit_syslog_send(struct audit_syslog *s, const char *time, const char *line, size_t len);
void audit_syslog_close(struct audit_syslog *s);

#endif
