/*
 * audit_tls.c: the TLS client of the remote audit syslog sink (RFC 5425):
 * one connection to the collector, TLS 1.2 or later (OpenSSL), the
 * collector's certificate verified against the configured CA and its host
 * name or IP address, an optional client certificate, octet-counted frames.
 * Owns the socket, the SSL session and reconnecting; not the message format
 * (audit_syslog.c). Spec: docs/AUDIT_FORMAT.md "Syslog".
 *
 * A collector that stops reading must not hang the audit writer for ever:
 * the socket has send/receive timeouts, and a failed send is an error the
 * writer's failure policy handles.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "audit_tls.h"
#include "log.h"

#define TLS_IO_TIMEOUT_S 10
#define TLS_ARG_MAX 1024
/* TLS 1.3: how long to wait after the handshake for the collector's verdict
 * on our certificate (session tickets, or an alert). */
#define TLS13_VERDICT_MS 1000

struct audit_tls {
	char host[256], port[16];
	char ca[TLS_ARG_MAX], cert[TLS_ARG_MAX], key[TLS_ARG_MAX];
	SSL_CTX *ctx;
	SSL *ssl;                 /* NULL while disconnected */
	int fd;
};

/* "NAME=VALUE" from a '&'-separated query into out; 0 if present. */
static int query_get(const char *q, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	while (q && *q) {
		const char *end = strchr(q, '&');
		size_t len = end ? (size_t)(end - q) : strlen(q);

		if (len > nl && strncmp(q, name, nl) == 0 && q[nl] == '=') {
			if (len - nl - 1 >= cap)
				return -ENAMETOOLONG;
			memcpy(out, q + nl + 1, len - nl - 1);
			out[len - nl - 1] = '\0';
			return 0;
		}
		q = end ? end + 1 : NULL;
	}
	return -ENOENT;
}

/* HOST:PORT or [V6]:PORT, then ?ca=..&cert=..&key=.. (ca required; cert
 * and key together or not at all). */
static int parse_target(const char *t, struct audit_tls *s)
{
	const char *q = strchr(t, '?'), *hs = t, *he, *colon;
	size_t hl, pl;

	if (!q)
		return -EINVAL;
	if (*t == '[') {
		hs = t + 1;
		he = strchr(hs, ']');
		if (!he || he > q || he[1] != ':')
			return -EINVAL;
		colon = he + 1;
	} else {
		colon = memchr(t, ':', (size_t)(q - t));
		if (!colon)
			return -EINVAL;
		he = colon;
	}
	hl = (size_t)(he - hs);
	pl = (size_t)(q - colon - 1);
	if (!hl || hl >= sizeof(s->host) || !pl || pl >= sizeof(s->port))
		return -EINVAL;
	memcpy(s->host, hs, hl);
	memcpy(s->port, colon + 1, pl);
	if (query_get(q + 1, "ca", s->ca, sizeof(s->ca)) < 0)
		return -EINVAL;
	query_get(q + 1, "cert", s->cert, sizeof(s->cert));
	query_get(q + 1, "key", s->key, sizeof(s->key));
	return !s->cert[0] != !s->key[0] ? -EINVAL : 0;
}

static int make_ctx(struct audit_tls *s)
{
	s->ctx = SSL_CTX_new(TLS_client_method());
	if (!s->ctx)
		return -ENOMEM;
	if (!SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION))
		return -EIO;
	SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(s->ctx, s->ca, NULL) != 1) {
		log_msg(LOG_ERR, "audit syslog tls: cannot load CA file");
		return -ENOENT;
	}
	if (s->cert[0] && (SSL_CTX_use_certificate_chain_file(s->ctx, s->cert) != 1 ||
			   SSL_CTX_use_PrivateKey_file(s->ctx, s->key, SSL_FILETYPE_PEM) != 1 ||
			   SSL_CTX_check_private_key(s->ctx) != 1)) {
		log_msg(LOG_ERR, "audit syslog tls: cannot load the client certificate or key");
		return -ENOENT;
	}
	return 0;
}

static int tcp_connect(const struct audit_tls *s, int *out)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai = NULL, *a;
	struct timeval tv = { TLS_IO_TIMEOUT_S, 0 };
	int fd = -1, r = -EHOSTUNREACH;

	if (getaddrinfo(s->host, s->port, &hints, &ai) != 0)
		return -EHOSTUNREACH;
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			r = -errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			r = 0;
			break;
		}
		r = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	*out = fd;
	return r;
}

/* The collector must prove it is HOST: a name (and SNI), or an IP address. */
static int set_peer_name(SSL *ssl, const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 ? 0 : -EINVAL;
	if (SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1)
		return -EINVAL;
	return 0;
}

static void disconnect(struct audit_tls *s)
{
	if (s->ssl) {
		SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* Whatever the collector has sent, processed without blocking: 0 while the
 * session stands (nothing, session tickets, data we ignore), -EPIPE once it
 * was closed or refused. A collector never needs to talk on this connection,
 * so anything readable is one of those. */
static int drain(struct audit_tls *s, int wait_ms)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN | POLLRDHUP };
	char c;
	size_t n = 0;
	int fl, r = 0;

	if (poll(&p, 1, wait_ms) <= 0)
		return 0;
	fl = fcntl(s->fd, F_GETFL);
	fcntl(s->fd, F_SETFL, fl | O_NONBLOCK);
	if (SSL_peek_ex(s->ssl, &c, 1, &n) != 1 && SSL_get_error(s->ssl, 0) != SSL_ERROR_WANT_READ)
		r = -EPIPE;
	fcntl(s->fd, F_SETFL, fl);
	ERR_clear_error();
	return r;
}

/* In TLS 1.3 the client's handshake is over before the collector has
 * checked our certificate: a refusal arrives as an alert afterwards, and
 * every record sent meanwhile would be lost without an error. Wait for the
 * verdict once per connection. */
static int tls13_verdict(struct audit_tls *s)
{
	if (SSL_version(s->ssl) < TLS1_3_VERSION || drain(s, TLS13_VERDICT_MS) == 0)
		return 0;
	log_msg(LOG_ERR, "audit syslog tls: %s:%s refused the connection after the handshake "
		"(client certificate?)", s->host, s->port);
	return -EPROTO;
}

static int handshake(struct audit_tls *s)
{
	int r = tcp_connect(s, &s->fd);

	if (r < 0)
		return r;
	s->ssl = SSL_new(s->ctx);
	if (!s->ssl)
		return -ENOMEM;
	r = set_peer_name(s->ssl, s->host);
	if (r == 0 && SSL_set_fd(s->ssl, s->fd) != 1)
		r = -EIO;
	if (r == 0 && SSL_connect(s->ssl) != 1) {
		long v = SSL_get_verify_result(s->ssl);

		log_msg(LOG_ERR, "audit syslog tls: handshake with %s:%s failed (%s)", s->host, s->port,
			v != X509_V_OK ? X509_verify_cert_error_string(v) : "protocol error");
		r = -EPROTO;
	}
	ERR_clear_error();
	if (r == 0)
		r = tls13_verdict(s);
	return r;
}

int audit_tls_open(const char *target, struct audit_tls **out)
{
	struct audit_tls *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->fd = -1;
	r = parse_target(target, s);
	if (r == 0)
		r = make_ctx(s);
	if (r == 0)
		r = handshake(s);
	if (r < 0) {
		audit_tls_close(s);
		return r;
	}
	*out = s;
	return 0;
}

/* SSL_write on a socket the peer closed raises SIGPIPE, which would kill a
 * daemon that did not ignore it: blocked here, and a pending one consumed. */
static int write_all(struct audit_tls *s, const char *buf, size_t len)
{
	sigset_t pipe, old, pend;
	struct timespec zero = { 0, 0 };
	size_t done = 0;
	int r = 0, was_pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	sigpending(&pend);
	was_pending = sigismember(&pend, SIGPIPE);
	while (r == 0 && done < len) {
		size_t n = 0;

		if (SSL_write_ex(s->ssl, buf + done, len - done, &n) != 1)
			r = -EIO;
		done += n;
	}
	ERR_clear_error();
	sigpending(&pend);
	if (!was_pending && sigismember(&pend, SIGPIPE))
		sigtimedwait(&pipe, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

int audit_tls_send_framed(struct audit_tls *t, const char *msg, size_t len)
{
	char *frame = NULL;
	int n = asprintf(&frame, "%zu %.*s", len, (int)len, msg), r = -EIO;

	if (n < 0)
		return -ENOMEM;
	/* One reconnect: a collector restart must not cost a record. */
	for (int attempt = 0; attempt < 2 && r < 0; attempt++) {
		/* Or the first record after a collector restart would go
		 * into a socket nobody reads. */
		if (t->ssl && drain(t, 0) < 0)
			disconnect(t);
		if (!t->ssl) {
			disconnect(t);
			r = handshake(t);
			if (r < 0) {
				disconnect(t);
				continue;
			}
		}
		r = write_all(t, frame, (size_t)n);
		if (r < 0)
			disconnect(t);
	}
	free(frame);
	return r;
}

void audit_tls_close(struct audit_tls *t)
{
	if (!t)
		return;
	disconnect(t);
	SSL_CTX_free(t->ctx);
	free(t);
}
