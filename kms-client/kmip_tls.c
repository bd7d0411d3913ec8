/*
 * kmip_tls.c: the kmip provider's connection — TCP, TLS 1.2+ with mutual
 * authentication, and framing of whole TTLV messages (KMIP 1.4 §10: one
 * response per request on one connection). The one door to libssl.
 *
 * Owns: verifying the server against the configured CA only (never the system
 * store: a KMS is a private PKI) and against the host name or IP of the URI;
 * presenting the client certificate; never hanging — every connect, handshake,
 * read and write runs on a non-blocking socket under a deadline (poll); a
 * bounded number of attempts with backoff, reconnecting when the server
 * dropped an idle connection. It does not know what a message means
 * (kmip_msg.c). Requests and responses may carry key bytes: they stay in the
 * caller's buffers, which the caller wipes. Failures are logged once per call,
 * naming host:port, never message contents.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "kmip_tls.h"
#include "provider.h"
#include "ttlv.h"

#define RESPONSE_TAG 0x42007B   /* Response Message */
#define BACKOFF_MS 200          /* before attempt n: n * BACKOFF_MS */

struct kmip_tls {
	SSL_CTX *ctx;
	SSL *ssl;           /* NULL while not connected */
	int fd;             /* -1 while not connected */
	char *host;
	char *port;
	char endpoint[300]; /* "host:port", for messages */
	int timeout_ms;     /* per connect + handshake, per round trip */
	int attempts;
};

const char *kmip_tls_endpoint(const struct kmip_tls *t)
{
	return t->endpoint;
}

/* ---- deadlines ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `events` on fd until the deadline: 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };

	for (;;) {
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * OpenSSL writes to the socket with write(2): a peer that closed would raise
 * SIGPIPE and kill a tool that does not ignore it. Block it around TLS calls
 * and swallow one we caused (the approach of curl's sigpipe_ignore).
 */
static void sigpipe_block(sigset_t *old)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &s, old);
}

static void sigpipe_restore(const sigset_t *old)
{
	static const struct timespec zero;
	sigset_t s, pending;

	if (!sigismember(old, SIGPIPE) && sigpending(&pending) == 0 &&
	    sigismember(&pending, SIGPIPE)) {
		sigemptyset(&s);
		sigaddset(&s, SIGPIPE);
		(void)sigtimedwait(&s, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* ---- TCP ---- */

static int tcp_connect_one(const struct addrinfo *ai, int64_t deadline, int *fd_out)
{
	socklen_t elen = sizeof(int);
	int fd, err = 0, one = 1, ret;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		ret = 0;
	} else if (errno != EINPROGRESS) {
		ret = -errno;
	} else {
		ret = wait_fd(fd, POLLOUT, deadline);
		if (!ret && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
			ret = -errno;
		if (!ret && err)
			ret = -err;
	}
	if (!ret)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (ret)
		close(fd);
	else
		*fd_out = fd;
	return ret;
}

/* getaddrinfo itself is not bounded; a numeric host (the usual KMS setup) never blocks. */
static int tcp_connect(struct kmip_tls *t, int64_t deadline)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int ret, gai;

	gai = getaddrinfo(t->host, t->port, &hints, &res);
	if (gai != 0)
		return gai == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	ret = -EHOSTUNREACH;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		ret = tcp_connect_one(ai, deadline, &t->fd);
		if (!ret || ret == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	return ret;
}

/* ---- TLS ---- */

/* Non-blocking progress: 1 retry after waiting, or an error. */
static int ssl_again(struct kmip_tls *t, int r, int64_t deadline)
{
	int e = SSL_get_error(t->ssl, r), ret;

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		ret = wait_fd(t->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		return ret ? ret : 1;
	}
	if (e == SSL_ERROR_SSL)
		return -EPROTO;
	return -ECONNRESET;   /* EOF, close_notify or a socket error: the peer went away */
}

static int is_ip_literal(const char *host)
{
	unsigned char addr[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

/* A certificate alert from the server means it refused ours (TLS 1.2 §7.2.2). */
static int alert_is_certificate(unsigned long e)
{
	int reason = ERR_GET_REASON(e) - SSL_AD_REASON_OFFSET;

	return ERR_GET_LIB(e) == ERR_LIB_SSL && reason >= SSL_AD_HANDSHAKE_FAILURE &&
	       reason <= SSL_AD_ACCESS_DENIED;
}

static int handshake_failed(struct kmip_tls *t, int ret)
{
	long vr = SSL_get_verify_result(t->ssl);
	unsigned long e = ERR_peek_last_error();
	const char *why = e ? ERR_reason_error_string(e) : NULL;

	if (ret != -EPROTO && vr == X509_V_OK)
		return ret;   /* network trouble: the caller may retry */
	if (vr != X509_V_OK) {
		kms_warn("kmip: server certificate of %s not trusted: %s (check ca=)", t->endpoint,
			 X509_verify_cert_error_string(vr));
	} else if (alert_is_certificate(e)) {
		kms_warn("kmip: client certificate refused by %s (TLS alert: %s; is it signed by "
			 "a CA the server trusts, with extendedKeyUsage=clientAuth?)", t->endpoint,
			 why ? why : "unknown");
	} else {
		kms_warn("kmip: TLS handshake with %s failed: %s", t->endpoint,
			 why ? why : "unknown error");
	}
	return -EACCES;
}

static int tls_handshake(struct kmip_tls *t, int64_t deadline)
{
	int r, ret = -ENOMEM;

	t->ssl = SSL_new(t->ctx);
	if (!t->ssl || SSL_set_fd(t->ssl, t->fd) != 1)
		return -ENOMEM;
	if (is_ip_literal(t->host)) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), t->host) != 1)
			return -EINVAL;
	} else if (SSL_set1_host(t->ssl, t->host) != 1 ||
		   SSL_set_tlsext_host_name(t->ssl, t->host) != 1) {
		return -EINVAL;
	}
	do {
		ERR_clear_error();
		r = SSL_connect(t->ssl);
		ret = r == 1 ? 0 : ssl_again(t, r, deadline);
	} while (ret == 1);
	return ret ? handshake_failed(t, ret) : 0;
}

static void conn_close(struct kmip_tls *t)
{
	if (t->ssl) {
		(void)SSL_shutdown(t->ssl);   /* one non-blocking close_notify, no wait */
		SSL_free(t->ssl);
		t->ssl = NULL;
	}
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	ERR_clear_error();
}

static int conn_open(struct kmip_tls *t)
{
	int64_t deadline = now_ms() + t->timeout_ms;
	int ret = tcp_connect(t, deadline);

	if (!ret)
		ret = tls_handshake(t, deadline);
	if (ret)
		conn_close(t);
	return ret;
}

/* KMIP has no unsolicited messages: anything readable on an idle connection
 * is the server's close (or garbage); start over. */
static int conn_stale(const struct kmip_tls *t)
{
	struct pollfd p = { .fd = t->fd, .events = POLLIN | POLLRDHUP };

	return SSL_pending(t->ssl) > 0 || poll(&p, 1, 0) != 0;
}

/* ---- framing ---- */

/* Writes all of out[0..len), or (out NULL) reads len bytes into in. */
static int ssl_all(struct kmip_tls *t, const uint8_t *out, uint8_t *in, size_t len,
		   int64_t deadline)
{
	size_t done = 0, n;
	int r, ret;

	while (done < len) {
		ERR_clear_error();
		n = 0;
		r = out ? SSL_write_ex(t->ssl, out + done, len - done, &n)
			: SSL_read_ex(t->ssl, in + done, len - done, &n);
		if (r == 1) {
			done += n;
			continue;
		}
		ret = ssl_again(t, r, deadline);
		/* After the handshake a TLS error (OpenSSL 3 reports a peer that
		 * vanished without close_notify this way) leaves only a dead
		 * connection: a new one may work, so it is retried like a reset. */
		if (ret < 0)
			return ret == -EPROTO ? -ECONNRESET : ret;
	}
	return 0;
}

/* One Response Message: its 8-byte header says how much follows. */
static int recv_msg(struct kmip_tls *t, uint8_t *buf, size_t cap, size_t *len, int64_t deadline)
{
	uint32_t body;
	int ret;

	if (cap < TTLV_HDR_LEN)
		return -EMSGSIZE;
	ret = ssl_all(t, NULL, buf, TTLV_HDR_LEN, deadline);
	if (ret)
		return ret;
	if (((uint32_t)buf[0] << 16 | (uint32_t)buf[1] << 8 | buf[2]) != RESPONSE_TAG ||
	    buf[3] != TTLV_STRUCT)
		return -EPROTO;
	body = (uint32_t)buf[4] << 24 | (uint32_t)buf[5] << 16 | (uint32_t)buf[6] << 8 | buf[7];
	if (body > cap - TTLV_HDR_LEN)
		return -EMSGSIZE;
	ret = ssl_all(t, NULL, buf + TTLV_HDR_LEN, body, deadline);
	if (!ret)
		*len = TTLV_HDR_LEN + body;
	return ret;
}

/* One attempt. *sent: the request may have reached the server. */
static int call_once(struct kmip_tls *t, const uint8_t *req, size_t req_len, uint8_t *resp,
		     size_t cap, size_t *resp_len, int *sent)
{
	int64_t deadline;
	int ret;

	*sent = 0;
	if (t->ssl && conn_stale(t))
		conn_close(t);
	if (!t->ssl) {
		ret = conn_open(t);
		if (ret)
			return ret;
	}
	deadline = now_ms() + t->timeout_ms;
	*sent = 1;
	ret = ssl_all(t, req, NULL, req_len, deadline);
	if (!ret)
		ret = recv_msg(t, resp, cap, resp_len, deadline);
	if (ret)
		conn_close(t);   /* a half-read response would desynchronise the next call */
	return ret;
}

static int final_error(const struct kmip_tls *t, int ret, int tries)
{
	switch (ret) {
	case -EACCES:
		break;   /* handshake_failed said why */
	case -EMSGSIZE:
		kms_warn("kmip: response from %s is larger than expected", t->endpoint);
		break;
	case -EPROTO:
		kms_warn("kmip: %s did not answer with a KMIP response (is it a KMIP server?)",
			 t->endpoint);
		break;
	default:
		kms_warn("kmip: KMS %s unreachable: %s (%d attempt%s)", t->endpoint,
			 strerror(-ret), tries, tries == 1 ? "" : "s");
	}
	return ret;
}

int kmip_tls_call(struct kmip_tls *t, const uint8_t *req, size_t req_len, uint8_t *resp,
		  size_t cap, size_t *resp_len, int idempotent)
{
	sigset_t old;
	int ret = -EIO, sent = 0, n;

	sigpipe_block(&old);
	for (n = 1; n <= t->attempts; n++) {
		if (n > 1)
			sleep_ms(BACKOFF_MS * (n - 1));
		ret = call_once(t, req, req_len, resp, cap, resp_len, &sent);
		if (!ret || ret == -EACCES || ret == -EMSGSIZE || ret == -EPROTO ||
		    (sent && !idempotent))
			break;
	}
	sigpipe_restore(&old);
	return ret ? final_error(t, ret, n > t->attempts ? t->attempts : n) : 0;
}

/* ---- set-up ---- */

static int file_readable(const char *path, const char *what)
{
	int e;

	if (access(path, R_OK) == 0)
		return 0;
	e = errno;
	kms_warn("kmip: cannot read the %s %s: %s", what, path, strerror(e));
	return -EACCES;   /* a KMS credential problem (exit 3), not a volume problem */
}

/* An encrypted key must fail, not prompt on the daemon's terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

static int ctx_load(struct kmip_tls *t, const struct kmip_tls_cfg *cfg)
{
	int ret;

	ret = file_readable(cfg->ca, "CA file (ca=)");
	if (!ret)
		ret = file_readable(cfg->cert, "client certificate (cert=)");
	if (!ret)
		ret = file_readable(cfg->key, "client key (key=)");
	if (ret)
		return ret;
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (!t->ctx || SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1)
		return -ENOMEM;
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_default_passwd_cb(t->ctx, no_passphrase);
	if (SSL_CTX_load_verify_file(t->ctx, cfg->ca) != 1) {
		kms_warn("kmip: no CA certificate in %s (ca=)", cfg->ca);
		return -EACCES;
	}
	if (SSL_CTX_use_certificate_chain_file(t->ctx, cfg->cert) != 1) {
		kms_warn("kmip: no client certificate in %s (cert=)", cfg->cert);
		return -EACCES;
	}
	if (SSL_CTX_use_PrivateKey_file(t->ctx, cfg->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(t->ctx) != 1) {
		kms_warn("kmip: %s is not the (unencrypted) private key of %s", cfg->key, cfg->cert);
		return -EACCES;
	}
	return 0;
}

void kmip_tls_free(struct kmip_tls *t)
{
	sigset_t old;

	if (!t)
		return;
	sigpipe_block(&old);
	conn_close(t);
	sigpipe_restore(&old);
	SSL_CTX_free(t->ctx);
	free(t->host);
	free(t->port);
	free(t);
}

int kmip_tls_new(const struct kmip_tls_cfg *cfg, struct kmip_tls **out)
{
	struct kmip_tls *t = calloc(1, sizeof(*t));
	int ret = -ENOMEM;

	if (!t)
		goto out;
	t->fd = -1;
	t->host = strdup(cfg->host);
	t->port = strdup(cfg->port);
	if (!t->host || !t->port)
		goto out;
	snprintf(t->endpoint, sizeof(t->endpoint), "%s:%s", cfg->host, cfg->port);
	t->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000;
	t->attempts = cfg->attempts > 0 ? cfg->attempts : 1;
	ret = ctx_load(t, cfg);
	if (ret)
		goto out;
	*out = t;
	t = NULL;
out:
	ERR_clear_error();
	kmip_tls_free(t);
	return ret;
}
