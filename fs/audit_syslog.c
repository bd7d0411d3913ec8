/*
 * audit_syslog.c: the syslog sinks of the audit log. Each record line goes,
 * unchanged, as the MSG of an RFC 5424 message: to the local syslog daemon
 * over its datagram socket (/dev/log), and to a remote collector over TLS
 * with RFC 5425 octet-counted framing (audit_tls.c would be its own file if
 * it grew; the TLS door for the audit log is here, OpenSSL only).
 * Owns: message framing, sockets, TLS sessions, reconnects. It does not
 * queue or retry records: a failed send is returned so the writer's failure
 * policy decides. Spec: docs/AUDIT_FORMAT.md "Syslog".
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit_syslog.h"
#include "audit_tls.h"

#define SYSLOG_LOCAL_PATH "/dev/log"
/* facility authpriv (10), severity info (6): audit records are security data. */
#define SYSLOG_PRI (10 * 8 + 6)
#define APP_NAME "phifs-audit"

struct audit_syslog {
	int fd;                          /* local: connected datagram socket */
	struct audit_tls *tls;           /* remote: NULL for local */
	char host[256];
	char stream[80];
};

static int local_connect(const char *path, int *out)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}

int audit_syslog_open(const char *spec, const char *host, const char *stream,
		      struct audit_syslog **out)
{
	struct audit_syslog *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->fd = -1;
	snprintf(s->host, sizeof(s->host), "%s", host && *host ? host : "-");
	snprintf(s->stream, sizeof(s->stream), "%s", stream);
	if (strcmp(spec, "local") == 0)
		r = local_connect(SYSLOG_LOCAL_PATH, &s->fd);
	else if (strncmp(spec, "local:", 6) == 0)
		r = local_connect(spec + 6, &s->fd);
	else if (strncmp(spec, "tls://", 6) == 0)
		r = audit_tls_open(spec + 6, &s->tls);
	else
		r = -EINVAL;
	if (r < 0) {
		audit_syslog_close(s);
		return r;
	}
	*out = s;
	return 0;
}

/* RFC 5424: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG. The
 * stream goes in MSGID (RFC 5424 allows 32 printable chars: longer names are
 * cut, the record's own fields say the rest). */
static int frame(const struct audit_syslog *s, const char *time, const char *line, size_t len,
		 char **msg, size_t *mlen)
{
	char *m = NULL;
	int n = asprintf(&m, "<%d>1 %s %s " APP_NAME " %ld %.32s - %.*s", SYSLOG_PRI,
			 time && *time ? time : "-", s->host, (long)getpid(), s->stream, (int)len, line);

	if (n < 0)
		return -ENOMEM;
	*msg = m;
	*mlen = (size_t)n;
	return 0;
}

int audit_syslog_send(struct audit_syslog *s, const char *time, const char *line, size_t len)
{
	char *msg = NULL;
	size_t mlen = 0;
	int r = frame(s, time, line, len, &msg, &mlen);

	if (r < 0)
		return r;
	if (s->tls) {
		r = audit_tls_send_framed(s->tls, msg, mlen);
	} else if (send(s->fd, msg, mlen, MSG_NOSIGNAL) < 0) {
		r = -errno;
	}
	free(msg);
	return r;
}

void audit_syslog_close(struct audit_syslog *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	audit_tls_close(s->tls);
	free(s);
}
