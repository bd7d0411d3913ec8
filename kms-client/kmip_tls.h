/*
 * kmip_tls.h: one mutually authenticated TLS connection to a KMIP server,
 * carrying whole TTLV messages with timeouts, retries and reconnects (see
 * kmip_tls.c). The only door to libssl.
 */
#ifndef PHIFS_KMS_KMIP_TLS_H
#define PHIFS_KMS_KMIP_TLS_H

#include <stddef.h>
#include <stdint.h>

struct kmip_tls;

struct kmip_tls_cfg {
	const char *host;      /* DNS name or IP literal; the server certificate must name it */
	const char *port;      /* decimal */
	const char *ca;        /* PEM: the only CAs trusted for the server certificate */
	const char *cert;      /* PEM: client certificate (chain), extendedKeyUsage clientAuth */
	const char *key;       /* PEM: its private key, unencrypted */
	int timeout_ms;        /* connect + handshake, and each round trip */
	int attempts;          /* tries per call, >= 1 */
};

/* Loads the certificates and key (-EACCES with a message); does not
 * connect. The cfg strings are copied. */
int kmip_tls_new(const struct kmip_tls_cfg *cfg, struct kmip_tls **out);
void kmip_tls_free(struct kmip_tls *t);   /* takes NULL */

/*
 * Sends one request message and reads one response message into
 * resp[0..cap), connecting (again) as needed. A dropped or stale connection
 * is retried up to cfg->attempts times with backoff; a request that is not
 * `idempotent` (Create) is retried only when it cannot have reached the
 * server. Errors, each logged once naming host:port: -ECONNREFUSED,
 * -ETIMEDOUT, -EHOSTUNREACH, -ECONNRESET (unreachable or dropped), -EACCES
 * (certificate not trusted or refused), -EMSGSIZE (response over cap),
 * -EPROTO (not a KMIP response).
 */
int kmip_tls_call(struct kmip_tls *t, const uint8_t *req, size_t req_len, uint8_t *resp,
		  size_t cap, size_t *resp_len, int idempotent);

/* "host:port" for messages. */
const char *kmip_tls_endpoint(const struct kmip_tls *t);

#endif
