/*
 * backend_s3.c: the S3-compatible object store backend of phifs-backup
 * (backend.h; docs/OPERATIONS.md "Backup to S3 and cross-region sync").
 *
 * Maps the object contract onto S3 with path-style addressing: object NAME is
 * key PREFIX+NAME in BUCKET; put is one PUT (atomic by S3's semantics),
 * get_range a Range GET, stat a HEAD, list ListObjectsV2 over every page
 * (continuation tokens), del a DELETE. At open it probes the bucket's Object
 * Lock configuration: when enabled, every PUT but the deletable "locks/"
 * carries a retain-until date (the repository's retention) and a SHA-256
 * checksum, as S3 requires. Puts are thread-safe (concurrency 8).
 *
 * The URL syntax is s3_url.c's, credentials s3_creds.c's, signing sigv4.c's,
 * transport s3_http.c's, XML s3_xml.c's: this file only speaks S3's API.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../phifs/common.h"
#include "b64.h"
#include "backend_s3.h"
#include "cipher.h"
#include "s3_http.h"
#include "s3_url.h"
#include "s3_xml.h"

#define S3_CONCURRENCY 8
#define S3_DEFAULT_REGION "us-east-1"

struct s3_backend {
	struct backend b;
	struct s3_url url;
	struct s3_client *http;
	int lock_enabled;          /* bucket has Object Lock enabled */
	char lock_mode[16];        /* COMPLIANCE or GOVERNANCE */
	_Atomic int64_t retain_s;  /* retention per PUT, seconds; 0: the bucket's default */
	int retain_given;          /* ?retain= or PHIFS_S3_RETAIN named it: the repository's floor does not replace it */
	_Atomic int warned;        /* the "bucket default applies" note was printed */
};

static struct s3_backend *s3b(struct backend *b)
{
	return (struct s3_backend *)b;
}

/* backend.h's alphabet: components of [A-Za-z0-9._-], no "." or "..". */
static int name_ok(const char *n, int allow_empty)
{
	size_t comp = 0;
	const char *start = n;

	if (!*n)
		return allow_empty;
	for (;; n++) {
		if (*n == '/' || *n == '\0') {
			if (comp == 0 && !(*n == '\0' && allow_empty && n > start))
				return 0;
			if ((comp == 1 && n[-1] == '.') || (comp == 2 && n[-1] == '.' && n[-2] == '.'))
				return 0;
			if (*n == '\0')
				return 1;
			comp = 0;
			continue;
		}
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') ||
		      *n == '.' || *n == '_' || *n == '-'))
			return 0;
		comp++;
	}
}

static int object_path(struct s3_backend *s, const char *name, char **out)
{
	*out = NULL;
	if (!name_ok(name, 0))
		return -EINVAL;
	if (asprintf(out, "/%s/%s%s", s->url.bucket, s->url.prefix, name) < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* One request about one object: r's path is filled in; *resp is the
 * caller's to read and free (also on error). 0 or the mapped -errno. */
static int object_request(struct s3_backend *s, const char *name, struct s3_req *r,
			  const char *what, struct s3_resp *resp)
{
	char *path = NULL;
	int ret = object_path(s, name, &path);

	memset(resp, 0, sizeof(*resp));
	if (ret)
		return ret;
	r->path = path;
	ret = s3_http_do(s->http, r, resp);
	if (!ret && resp->status == 416)
		ret = -EIO;   /* Range beyond the end: a short object */
	else if (!ret)
		ret = s3_http_errno(s->http, resp, what);
	r->path = NULL;
	free(path);
	return ret;
}

/* Standard base64 (x-amz-checksum-sha256) from fs/b64.c's base64url. */
static int checksum_b64(const void *buf, size_t len, char out[48])
{
	uint8_t md[32];
	size_t n;
	int ret = cipher_sha256(buf, len, md);

	if (!ret)
		ret = b64_encode(md, sizeof(md), out, 47);
	if (ret)
		return ret;
	for (n = 0; out[n]; n++)
		out[n] = out[n] == '-' ? '+' : out[n] == '_' ? '/' : out[n];
	while (n % 4)
		out[n++] = '=';
	out[n] = '\0';
	return 0;
}

static int s3_put(struct backend *b, const char *name, const void *buf, size_t len)
{
	struct s3_backend *s = s3b(b);
	struct sigv4_pair h[4];
	struct s3_req r = { .method = "PUT", .headers = h, .body = buf, .body_len = len };
	struct s3_resp resp = { 0 };
	char until[32], sum[48];
	int64_t retain = atomic_load(&s->retain_s);
	int ret;

	if (s->lock_enabled && strncmp(name, "locks/", 6)) {
		time_t t = time(NULL) + (time_t)retain;
		struct tm tm;

		ret = checksum_b64(buf, len, sum);
		if (ret)
			return ret;
		h[r.nheaders++] = (struct sigv4_pair){ "x-amz-sdk-checksum-algorithm", "SHA256" };
		h[r.nheaders++] = (struct sigv4_pair){ "x-amz-checksum-sha256", sum };
		if (retain == 0 && !atomic_exchange(&s->warned, 1))
			fprintf(stderr, "phifs-backup: %s: Object Lock enabled; no retention given "
				"(?retain=, or the repository's retention floor): the bucket's default "
				"retention applies\n", s->url.host);
		if (retain > 0) {
			gmtime_r(&t, &tm);
			strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
			h[r.nheaders++] = (struct sigv4_pair){ "x-amz-object-lock-mode", s->lock_mode };
			h[r.nheaders++] = (struct sigv4_pair){ "x-amz-object-lock-retain-until-date",
							       until };
		}
	}
	ret = object_request(s, name, &r, "PUT", &resp);
	s3_resp_free(&resp);
	return ret;
}

static int s3_get(struct backend *b, const char *name, uint8_t **buf, size_t *len)
{
	struct s3_backend *s = s3b(b);
	struct s3_req r = { .method = "GET" };
	struct s3_resp resp;
	int ret = object_request(s, name, &r, "GET", &resp);

	*buf = NULL;
	*len = 0;
	if (!ret) {
		*buf = resp.body ? resp.body : malloc(1);
		*len = resp.len;
		resp.body = NULL;
		if (!*buf)
			ret = -ENOMEM;
	}
	s3_resp_free(&resp);
	return ret;
}

static int s3_get_range(struct backend *b, const char *name, uint64_t off, size_t len,
			uint8_t *out)
{
	struct s3_backend *s = s3b(b);
	struct sigv4_pair h[1];
	struct s3_req r = { .method = "GET", .headers = h, .nheaders = 1 };
	struct s3_resp resp;
	char range[64];
	int ret;

	if (len == 0)
		return 0;
	if (off > UINT64_MAX - len)
		return -EINVAL;
	snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, off, off + len - 1);
	h[0] = (struct sigv4_pair){ "range", range };
	ret = object_request(s, name, &r, "GET range", &resp);
	if (!ret) {
		/* 206 with exactly the range; 200 if the store ignored Range */
		if (resp.status == 206 && resp.len == len)
			memcpy(out, resp.body, len);
		else if (resp.status == 200 && resp.len >= off + len)
			memcpy(out, resp.body + off, len);
		else
			ret = -EIO;
	}
	s3_resp_free(&resp);
	return ret;
}

static int s3_stat(struct backend *b, const char *name, uint64_t *size)
{
	struct s3_backend *s = s3b(b);
	struct s3_req r = { .method = "HEAD" };
	struct s3_resp resp;
	int ret = object_request(s, name, &r, "HEAD", &resp);

	if (!ret && resp.content_length < 0)
		ret = -EIO;
	if (!ret)
		*size = (uint64_t)resp.content_length;
	s3_resp_free(&resp);
	return ret;
}

struct list_ctx {
	struct s3_backend *s;
	int (*cb)(void *, const char *, uint64_t);
	void *arg;
};

/* A key of the page, back to an object name; foreign keys are skipped. */
static int list_one(void *arg, const char *key, uint64_t size)
{
	struct list_ctx *l = arg;
	size_t pl = strlen(l->s->url.prefix);

	if (strncmp(key, l->s->url.prefix, pl) || !name_ok(key + pl, 0))
		return 0;
	return l->cb(l->arg, key + pl, size);
}

static int s3_list(struct backend *b, const char *prefix,
		   int (*cb)(void *, const char *, uint64_t), void *arg)
{
	struct s3_backend *s = s3b(b);
	struct list_ctx l = { s, cb, arg };
	struct s3_list_page *pg = calloc(1, sizeof(*pg));
	struct sigv4_pair q[3];
	struct s3_req r = { .method = "GET", .query = q };
	struct s3_resp resp = { 0 };
	char *full = NULL, *path = NULL;
	int ret = -ENOMEM;

	if (!pg || asprintf(&full, "%s%s", s->url.prefix, prefix) < 0 ||
	    asprintf(&path, "/%s", s->url.bucket) < 0)
		goto out;
	r.path = path;
	do {
		r.nquery = 0;
		q[r.nquery++] = (struct sigv4_pair){ "list-type", "2" };
		if (*full)
			q[r.nquery++] = (struct sigv4_pair){ "prefix", full };
		if (pg->next_token[0])
			q[r.nquery++] = (struct sigv4_pair){ "continuation-token", pg->next_token };
		ret = s3_http_do(s->http, &r, &resp);
		if (!ret)
			ret = s3_http_errno(s->http, &resp, "list");
		if (!ret)
			ret = s3_xml_list_page((const char *)resp.body, resp.len, list_one, &l, pg);
		if (ret == -EPROTO)
			fprintf(stderr, "phifs-backup: %s: malformed listing\n", s->url.host);
		s3_resp_free(&resp);
	} while (!ret && pg->truncated);
out:
	free(pg);
	free(full);
	free(path);
	return ret == -EPROTO ? -EIO : ret;
}

static int s3_del(struct backend *b, const char *name)
{
	struct s3_backend *s = s3b(b);
	struct s3_req r = { .method = "DELETE" };
	struct s3_resp resp;
	int ret = object_request(s, name, &r, "DELETE", &resp);

	s3_resp_free(&resp);
	return ret;
}

static void s3_close(struct backend *b)
{
	struct s3_backend *s = s3b(b);

	s3_client_free(s->http);
	s3_url_free(&s->url);
	free(s->b.url);
	free(s);
}

static const struct backend_ops s3_ops = {
	.put = s3_put,
	.get = s3_get,
	.get_range = s3_get_range,
	.stat = s3_stat,
	.list = s3_list,
	.del = s3_del,
	.close = s3_close,
};

/* Object Lock: GET ?object-lock. Absent (404 without NoSuchBucket, 400/501
 * from stores that lack it, s3rver's answers) means no lock. */
static int probe_lock(struct s3_backend *s)
{
	struct sigv4_pair q[1] = { { "object-lock", "" } };
	struct s3_req r = { .method = "GET", .query = q, .nquery = 1 };
	struct s3_resp resp;
	char *path = NULL, code[64] = "", v[32];
	int ret = -ENOMEM;

	if (asprintf(&path, "/%s", s->url.bucket) < 0)
		return ret;
	r.path = path;
	ret = s3_http_do(s->http, &r, &resp);
	if (ret)
		goto out;
	if (resp.body)
		(void)s3_xml_text((const char *)resp.body, resp.len, "Code", code, sizeof(code));
	if (resp.status == 200) {
		s->lock_enabled = s3_xml_text((const char *)resp.body, resp.len, "ObjectLockEnabled",
					      v, sizeof(v)) == 0 && !strcmp(v, "Enabled");
		if (s->lock_enabled && s3_xml_text((const char *)resp.body, resp.len, "Mode", v,
						   sizeof(v)) == 0 && !strcmp(v, "GOVERNANCE"))
			snprintf(s->lock_mode, sizeof(s->lock_mode), "GOVERNANCE");
	} else if (resp.status == 404 && !strcmp(code, "NoSuchBucket")) {
		fprintf(stderr, "phifs-backup: %s: bucket %s does not exist\n", s->url.host,
			s->url.bucket);
		ret = -ENOENT;
	} else if (resp.status == 403 && !strcmp(code, "AccessDenied")) {
		fprintf(stderr, "phifs-backup: %s: may not read the Object Lock configuration; "
			"assuming none\n", s->url.host);
	} else if (resp.status == 403 || (resp.status >= 500 && resp.status != 501) ||
		   (resp.status == 400 && !strcmp(code, "AuthorizationHeaderMalformed"))) {
		ret = s3_http_errno(s->http, &resp, "Object Lock probe");
	}
out:
	s3_resp_free(&resp);
	free(path);
	return ret;
}

static int retention(struct s3_backend *s)
{
	const char *d = s->url.retain ? s->url.retain : getenv("PHIFS_S3_RETAIN");
	int64_t secs = 0;

	if (d && *d && parse_duration(d, &secs)) {
		fprintf(stderr, "phifs-backup: bad retention '%s' (e.g. 2190d)\n", d);
		return -EINVAL;
	}
	atomic_store(&s->retain_s, secs);
	s->retain_given = d && *d;
	return 0;
}

static int s3_connect(struct s3_backend *s)
{
	struct s3_creds creds;
	const char *region = s->url.region, *ca = s->url.ca_file;
	char err[256];
	int ret;

	if (!region)
		region = getenv("AWS_DEFAULT_REGION");
	if (!region || !*region)
		region = getenv("AWS_REGION");
	if (!region || !*region)
		region = S3_DEFAULT_REGION;
	if (!ca)
		ca = getenv("PHIFS_S3_CA_FILE");
	ret = s3_creds_load(&creds, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "phifs-backup: %s\n", err);
		return ret;
	}
	ret = s3_client_new(s->url.endpoint, s->url.host, region, ca && *ca ? ca : NULL, &creds,
			    &s->http);
	s3_creds_free(&creds);
	return ret;
}

int backend_s3_open(const char *url, struct backend **out)
{
	struct s3_backend *s = calloc(1, sizeof(*s));
	char err[160];
	int ret = -ENOMEM;

	*out = NULL;
	if (!s)
		return ret;
	s->b.ops = &s3_ops;
	s->b.concurrency = S3_CONCURRENCY;
	snprintf(s->lock_mode, sizeof(s->lock_mode), "COMPLIANCE");
	ret = s3_url_parse(url, &s->url, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "phifs-backup: bad S3 URL: %s\n", err);
		free(s);
		return ret;
	}
	ret = -ENOMEM;
	s->b.url = strdup(url);
	if (s->b.url)
		ret = s3_connect(s);
	if (!ret)
		ret = probe_lock(s);
	if (!ret)
		ret = retention(s);
	if (ret) {
		s3_close(&s->b);
		return ret;
	}
	*out = &s->b;
	return 0;
}

void backend_s3_set_retention(struct backend *b, int64_t seconds)
{
	if (b && b->ops == &s3_ops && seconds >= 0 && !s3b(b)->retain_given)
		atomic_store(&s3b(b)->retain_s, seconds);
}

int backend_s3_object_lock(const struct backend *b)
{
	return b && b->ops == &s3_ops && ((const struct s3_backend *)b)->lock_enabled;
}
