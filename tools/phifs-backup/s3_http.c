/*
 * s3_http.c: the one door to libcurl — signed requests to an S3-compatible
 * endpoint (docs/OPERATIONS.md "Backup to S3 and cross-region sync").
 *
 * Owns transport policy: TLS certificate and host verification always on
 * (a private CA through ?ca= / PHIFS_S3_CA_FILE), TLS 1.2 at least, only
 * http/https, no redirects (a redirect would be re-signed for another host),
 * connect and stall timeouts, retries with exponential backoff on transport
 * errors and 5xx/408/429 but never on other 4xx, one reused curl handle per
 * thread (keep-alive; callers upload in parallel), and the mapping of HTTP
 * status to -errno. Every request is signed by sigv4.c with the real payload
 * hash in x-amz-content-sha256. It does not know object names or XML beyond
 * the error <Code> (s3_xml.c).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "s3_curl.h"
#include "s3_http.h"
#include "s3_xml.h"

#define S3_CONNECT_TIMEOUT_S 15
#define S3_STALL_BYTES 1024       /* slower than this ...   */
#define S3_STALL_TIME_S 60        /* ... for this long: abort */
#define S3_RETRIES 5              /* attempts after the first */
#define S3_BACKOFF_MS 200         /* doubled each retry, capped at 8 s */
#define S3_BODY_MAX ((size_t)1 << 31)

struct s3_client {
	char *endpoint;
	char *host;
	char *region;
	char *ca_file;
	struct s3_creds creds;
	int retries;
	pthread_key_t handle_key;   /* this thread's CURL * */
	atomic_int said_auth;       /* the 403 message was printed */
	atomic_int said_net;        /* the unreachable message was printed */
};

/* libcurl's calls (s3_curl.c), set by the first s3_client_new. */
static const struct s3_curl *K;

static void handle_destroy(void *h)
{
	K->easy_cleanup(h);
}

int s3_client_new(const char *endpoint, const char *host, const char *region,
		  const char *ca_file, struct s3_creds *creds, struct s3_client **out)
{
	struct s3_client *c;
	int ret;
	const char *env = getenv("PHIFS_S3_RETRIES");

	*out = NULL;
	ret = s3_curl_load(&K);
	if (ret) {
		fprintf(stderr, "phifs-backup: S3: %s\n", s3_curl_error());
		return ret;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->endpoint = strdup(endpoint);
	c->host = strdup(host);
	c->region = strdup(region);
	c->ca_file = ca_file ? strdup(ca_file) : NULL;
	c->retries = env && *env ? atoi(env) : S3_RETRIES;
	if (c->retries < 0 || c->retries > 10)
		c->retries = S3_RETRIES;
	if (!c->endpoint || !c->host || !c->region || (ca_file && !c->ca_file) ||
	    pthread_key_create(&c->handle_key, handle_destroy)) {
		free(c->endpoint);
		free(c->host);
		free(c->region);
		free(c->ca_file);
		free(c);
		return -ENOMEM;
	}
	c->creds = *creds;
	memset(creds, 0, sizeof(*creds));
	*out = c;
	return 0;
}

void s3_client_free(struct s3_client *c)
{
	CURL *h;

	if (!c)
		return;
	h = pthread_getspecific(c->handle_key);
	if (h)
		K->easy_cleanup(h);
	pthread_key_delete(c->handle_key);
	s3_creds_free(&c->creds);
	free(c->endpoint);
	free(c->host);
	free(c->region);
	free(c->ca_file);
	free(c);
}

void s3_resp_free(struct s3_resp *resp)
{
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

static CURL *thread_handle(struct s3_client *c)
{
	CURL *h = pthread_getspecific(c->handle_key);

	if (h)
		return h;
	h = K->easy_init();
	if (h && pthread_setspecific(c->handle_key, h)) {
		K->easy_cleanup(h);
		h = NULL;
	}
	return h;
}

struct upload {
	const uint8_t *p;
	size_t left;
};

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t k = size * n < u->left ? size * n : u->left;

	if (k == 0)
		return 0;
	memcpy(buf, u->p, k);
	u->p += k;
	u->left -= k;
	return k;
}

static size_t on_write(char *data, size_t size, size_t n, void *arg)
{
	struct s3_resp *r = arg;
	size_t k = size * n;
	uint8_t *nb;

	if (k > S3_BODY_MAX - r->len)
		return 0;   /* aborts the transfer: CURLE_WRITE_ERROR */
	nb = realloc(r->body, r->len + k + 1);
	if (!nb)
		return 0;
	memcpy(nb + r->len, data, k);
	r->body = nb;
	r->len += k;
	r->body[r->len] = '\0';
	return k;
}

static int add_header(struct curl_slist **l, const char *name, const char *value)
{
	char *line = NULL;
	struct curl_slist *n;

	if (asprintf(&line, "%s: %s", name, value) < 0)
		return -ENOMEM;
	n = K->slist_append(*l, line);
	free(line);
	if (!n)
		return -ENOMEM;
	*l = n;
	return 0;
}

/* The signed header set of one attempt and the curl list carrying it. */
static int build_headers(struct s3_client *c, const struct s3_req *r, const char *payload_hash,
			 struct curl_slist **out)
{
	struct sigv4_pair h[16];
	struct sigv4_scope scope = { c->creds.access_key, c->creds.secret, c->creds.secret_len,
				     c->region, "s3" };
	struct sigv4_request sr = { r->method, r->path, r->query, r->nquery, h, 0, payload_hash };
	struct curl_slist *l = NULL;
	char date[SIGV4_DATE_LEN + 1], *auth = NULL;
	size_t n = 0;
	int ret = -EINVAL;

	if (r->nheaders > 12)
		return -EINVAL;
	sigv4_amz_date(time(NULL), date);
	h[n++] = (struct sigv4_pair){ "host", c->host };
	h[n++] = (struct sigv4_pair){ "x-amz-content-sha256", payload_hash };
	h[n++] = (struct sigv4_pair){ "x-amz-date", date };
	if (c->creds.token)
		h[n++] = (struct sigv4_pair){ "x-amz-security-token", c->creds.token };
	for (size_t i = 0; i < r->nheaders; i++)
		h[n++] = r->headers[i];
	sr.nheaders = n;
	ret = sigv4_authorization(&sr, &scope, date, &auth);
	for (size_t i = 0; !ret && i < n; i++)
		ret = add_header(&l, h[i].name, h[i].value);
	if (!ret)
		ret = add_header(&l, "Authorization", auth);
	if (!ret && !(l = K->slist_append(l, "Expect:")))   /* no 100-continue round trip */
		ret = -ENOMEM;
	free(auth);
	if (ret) {
		K->slist_free_all(l);
		return ret;
	}
	*out = l;
	return 0;
}

static int build_url(struct s3_client *c, const struct s3_req *r, char **out)
{
	char *path = NULL, *query = NULL;
	int ret = -ENOMEM;

	*out = NULL;
	if (sigv4_uri_encode(r->path, 1, &path) || sigv4_canonical_query(r->query, r->nquery, &query))
		goto out;
	if (asprintf(out, "%s%s%s%s", c->endpoint, path, *query ? "?" : "", query) < 0) {
		*out = NULL;
		goto out;
	}
	ret = 0;
out:
	free(path);
	free(query);
	return ret;
}

static void set_options(struct s3_client *c, CURL *h, const struct s3_req *r, const char *url,
			struct curl_slist *hdrs, struct upload *up, struct s3_resp *resp,
			char *errbuf)
{
	K->easy_reset(h);
	K->easy_setopt(h, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	K->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	K->easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	K->easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	K->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	K->easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	K->easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	K->easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (c->ca_file)
		K->easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	K->easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)S3_CONNECT_TIMEOUT_S);
	K->easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)S3_STALL_BYTES);
	K->easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)S3_STALL_TIME_S);
	K->easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	K->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	K->easy_setopt(h, CURLOPT_WRITEDATA, resp);
	K->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (!strcmp(r->method, "PUT")) {
		K->easy_setopt(h, CURLOPT_UPLOAD, 1L);
		K->easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		K->easy_setopt(h, CURLOPT_READDATA, up);
		K->easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
	} else if (!strcmp(r->method, "HEAD")) {
		K->easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "GET")) {
		K->easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	}
}

/* TLS verification failures are not retried: they will not heal. */
static int retryable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_OUT_OF_MEMORY:
		return 0;
	default:
		return 1;
	}
}

static int retryable_status(long st)
{
	return st >= 500 || st == 408 || st == 429;
}

static void backoff(int attempt)
{
	long ms = (long)S3_BACKOFF_MS << (attempt < 6 ? attempt : 6);
	struct timespec ts;

	if (ms > 8000)
		ms = 8000;
	ms += rand() % (ms / 4 + 1);   /* jitter: parallel uploads do not retry in lock-step */
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

/* One attempt: 0 with resp filled, or the curl error. */
static CURLcode attempt(struct s3_client *c, CURL *h, const struct s3_req *r, const char *url,
			const char *payload_hash, struct s3_resp *resp, char *errbuf, int *err)
{
	struct curl_slist *hdrs = NULL;
	struct upload up = { r->body, r->body_len };
	curl_off_t cl = -1;
	CURLcode rc;

	s3_resp_free(resp);
	resp->content_length = -1;
	*err = build_headers(c, r, payload_hash, &hdrs);
	if (*err)
		return CURLE_OK;
	errbuf[0] = '\0';
	set_options(c, h, r, url, hdrs, &up, resp, errbuf);
	rc = K->easy_perform(h);
	if (rc == CURLE_OK) {
		K->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
		K->easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		resp->content_length = cl;
	}
	K->easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	K->slist_free_all(hdrs);
	return rc;
}

int s3_http_do(struct s3_client *c, const struct s3_req *r, struct s3_resp *resp)
{
	char hash[SIGV4_HEX_LEN + 1], errbuf[CURL_ERROR_SIZE], *url = NULL;
	CURL *h = thread_handle(c);
	CURLcode rc = CURLE_OK;
	int ret, err = 0;

	memset(resp, 0, sizeof(*resp));
	if (!h)
		return -ENOMEM;
	ret = sigv4_sha256_hex(r->body ? r->body : "", r->body_len, hash);
	if (!ret)
		ret = build_url(c, r, &url);
	if (ret)
		return ret;
	for (int i = 0; i <= c->retries; i++) {
		if (i)
			backoff(i - 1);
		rc = attempt(c, h, r, url, hash, resp, errbuf, &err);
		if (err) {
			ret = err;
			goto out;
		}
		if (rc == CURLE_OK && !retryable_status(resp->status))
			break;
		if (rc != CURLE_OK && !retryable_curl(rc))
			break;
	}
	if (rc != CURLE_OK) {
		if (!atomic_exchange(&c->said_net, 1))
			fprintf(stderr, "phifs-backup: %s: %s%s%s\n", c->host, K->easy_strerror(rc),
				errbuf[0] ? ": " : "", errbuf);
		s3_resp_free(resp);
		ret = -EIO;
		goto out;
	}
	ret = 0;
out:
	free(url);
	return ret;
}

int s3_http_errno(struct s3_client *c, const struct s3_resp *resp, const char *what)
{
	char code[128] = "";

	if (resp->status >= 200 && resp->status < 300)
		return 0;
	if (resp->status == 404)
		return -ENOENT;
	if (resp->body)
		(void)s3_xml_text((const char *)resp->body, resp->len, "Code", code, sizeof(code));
	if (resp->status == 403) {
		if (!strcmp(code, "AccessDenied"))
			fprintf(stderr, "phifs-backup: %s: access denied: %s\n", c->host, what);
		else if (!atomic_exchange(&c->said_auth, 1))
			fprintf(stderr, "phifs-backup: %s: credentials refused (wrong secret or "
				"clock skew?)%s%s\n", c->host, code[0] ? ": " : "", code);
		return -EACCES;
	}
	if (resp->status == 400 && !strcmp(code, "AuthorizationHeaderMalformed")) {
		if (!atomic_exchange(&c->said_auth, 1))
			fprintf(stderr, "phifs-backup: %s: request refused: wrong region? (%s; set "
				"?region= or AWS_DEFAULT_REGION)\n", c->host, c->region);
		return -EACCES;
	}
	fprintf(stderr, "phifs-backup: %s: %s: HTTP %ld%s%s\n", c->host, what, resp->status,
		code[0] ? " " : "", code);
	return -EIO;
}
