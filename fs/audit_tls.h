/*
 * audit_tls.h: the TLS client of the remote syslog sink (see audit_tls.c).
 * Spec: docs/AUDIT_FORMAT.md "Syslog".
 */
#ifndef PHIFS_AUDIT_TLS_H
#define PHIFS_AUDIT_TLS_H

#include <stddef.h>

struct audit_tls;

/* "HOST:PORT?ca=FILE[&cert=FILE&key=FILE]": TLS 1.2+, the collector's
 * certificate verified against ca and HOST. 0, -EINVAL or -errno. */
int audit_tls_open(const char *target, struct audit_tls **out);
/* Sends "LEN SP MSG" (RFC 5425 octet counting); reconnects once if the
 * session was lost. 0 or -EIO/-errno. */
int audit_tls_send_framed(struct audit_tls *t, const char *msg, size_t len);
void audit_tls_close(struct audit_tls *t);

#endif
