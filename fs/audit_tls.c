/*
 * audit_tls.c: placeholder until the RFC 5425 client lands.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>

#include "audit_tls.h"

int audit_tls_open(const char *target, struct audit_tls **out)
{
	(void)target;
	(void)out;
	return -ENOTSUP;
}

int audit_tls_send_framed(struct audit_tls *t, const char *msg, size_t len)
{
	(void)t;
	(void)msg;
	(void)len;
	return -ENOTSUP;
}

void audit_tls_close(struct audit_tls *t)
{
	(void)t;
}
