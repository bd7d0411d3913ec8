/*
 * sigv4.c: AWS Signature Version 4 (header-based, HMAC-SHA256) for the S3
 * backend (docs/OPERATIONS.md "Backup to S3 and cross-region sync").
 *
 * Owns the canonical request (S3 URI encoding: each path byte encoded once,
 * '/' kept; query parameters encoded and sorted by name then value; header
 * names lower-cased, values trimmed with inner runs of spaces collapsed,
 * sorted, repeated names joined by ','), the string to sign, the signing key
 * derivation and the Authorization header. It does not send anything
 * (s3_http.c) and never sees a body, only its hash: the caller puts the real
 * payload hash in x-amz-content-sha256 so the store can check the bytes.
 *
 * We sign ourselves rather than use libcurl's CURLOPT_AWS_SIGV4: Debian's
 * curl 7.88 omits x-amz-content-sha256 and mis-parses loopback hosts. Checked
 * against AWS's published test suite in tests/unit/test-sigv4.c.
 *
 * The secret key and every derived key live only in secure memory or in
 * fixed stack arrays wiped before return.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cipher.h"
#include "secmem.h"
#include "sigv4.h"

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

int sigv4_uri_encode(const char *s, int keep_slash, char **out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s), j = 0;
	char *o = malloc(3 * n + 1);

	*out = NULL;
	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (unreserved(c) || (keep_slash && c == '/')) {
			o[j++] = (char)c;
		} else {
			o[j++] = '%';
			o[j++] = hex[c >> 4];
			o[j++] = hex[c & 15];
		}
	}
	o[j] = '\0';
	*out = o;
	return 0;
}

static void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int sigv4_sha256_hex(const void *data, size_t len, char out[SIGV4_HEX_LEN + 1])
{
	uint8_t md[32];
	int ret = cipher_sha256(data, len, md);

	if (ret)
		return ret;
	hex_encode(md, sizeof(md), out);
	return 0;
}

void sigv4_amz_date(time_t t, char out[SIGV4_DATE_LEN + 1])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, SIGV4_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

/* Closes a memstream and hands its buffer to *out (freed on failure). */
static int stream_finish(FILE *f, char **buf, char **out)
{
	int rc = fclose(f);

	if (rc != 0)
		return -ENOMEM;
	*out = *buf;
	*buf = NULL;
	return 0;
}

/* One query parameter, encoded: sorted as "name=value" pairs by name, then value. */
struct enc_pair {
	char *name;
	char *value;
};

static int enc_pair_cmp(const void *a, const void *b)
{
	const struct enc_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

static void enc_pairs_free(struct enc_pair *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
}

int sigv4_canonical_query(const struct sigv4_pair *q, size_t n, char **out)
{
	struct enc_pair *p = calloc(n ? n : 1, sizeof(*p));
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int ret = -ENOMEM;

	*out = NULL;
	if (!p)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (sigv4_uri_encode(q[i].name, 0, &p[i].name) ||
		    sigv4_uri_encode(q[i].value ? q[i].value : "", 0, &p[i].value))
			goto out;
	qsort(p, n, sizeof(*p), enc_pair_cmp);
	f = open_memstream(&buf, &len);
	if (!f)
		goto out;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s=%s", i ? "&" : "", p[i].name, p[i].value);
	ret = stream_finish(f, &buf, out);
out:
	free(buf);
	enc_pairs_free(p, n);
	return ret;
}

/* A header as canonicalised: lower-case name, value trimmed and with runs of
 * spaces collapsed to one. */
struct canon_hdr {
	char *name;
	char *value;
	size_t order;  /* position in the request: repeated names keep it */
};

static int canon_hdr_cmp(const void *a, const void *b)
{
	const struct canon_hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int header_name_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == ':' || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static char *canon_value(const char *v)
{
	char *o = malloc(strlen(v) + 1), *p = o;

	if (!o)
		return NULL;
	while (*v == ' ' || *v == '\t')
		v++;
	while (*v) {
		if (*v == ' ' || *v == '\t') {
			while (*v == ' ' || *v == '\t')
				v++;
			if (*v)
				*p++ = ' ';
			continue;
		}
		*p++ = *v++;
	}
	*p = '\0';
	return o;
}

static void canon_hdrs_free(struct canon_hdr *h, size_t n)
{
	for (size_t i = 0; h && i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

static int canon_headers(const struct sigv4_request *r, struct canon_hdr **out)
{
	struct canon_hdr *h = calloc(r->nheaders ? r->nheaders : 1, sizeof(*h));

	*out = NULL;
	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < r->nheaders; i++) {
		if (!header_name_ok(r->headers[i].name) || !r->headers[i].value ||
		    strpbrk(r->headers[i].value, "\r\n")) {
			canon_hdrs_free(h, r->nheaders);
			return -EINVAL;
		}
		h[i].name = strdup(r->headers[i].name);
		h[i].value = canon_value(r->headers[i].value);
		h[i].order = i;
		if (!h[i].name || !h[i].value) {
			canon_hdrs_free(h, r->nheaders);
			return -ENOMEM;
		}
		for (char *c = h[i].name; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
	}
	qsort(h, r->nheaders, sizeof(*h), canon_hdr_cmp);
	*out = h;
	return 0;
}

/* "a;b;c": the signed header names, each once. */
static void put_signed_names(FILE *f, const struct canon_hdr *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(h[i].name, h[i - 1].name))
			fprintf(f, "%s%s", i ? ";" : "", h[i].name);
}

/* Writes the canonical request, or with signed_only just the signed names. */
static int canonical(const struct sigv4_request *r, int signed_only, char **out)
{
	struct canon_hdr *h = NULL;
	char *path = NULL, *query = NULL, *buf = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	*out = NULL;
	if (!r->method || !r->path || r->path[0] != '/' || !r->payload_hash)
		return -EINVAL;
	ret = canon_headers(r, &h);
	if (ret)
		goto out;
	ret = -ENOMEM;
	if (sigv4_uri_encode(r->path, 1, &path) || sigv4_canonical_query(r->query, r->nquery, &query))
		goto out;
	f = open_memstream(&buf, &len);
	if (!f)
		goto out;
	if (signed_only) {
		put_signed_names(f, h, r->nheaders);
	} else {
		fprintf(f, "%s\n%s\n%s\n", r->method, path, query);
		for (size_t i = 0; i < r->nheaders; i++) {
			if (i && !strcmp(h[i].name, h[i - 1].name))
				fprintf(f, ",%s", h[i].value);
			else
				fprintf(f, "%s%s:%s", i ? "\n" : "", h[i].name, h[i].value);
		}
		fputs("\n\n", f);
		put_signed_names(f, h, r->nheaders);
		fprintf(f, "\n%s", r->payload_hash);
	}
	ret = stream_finish(f, &buf, out);
out:
	free(buf);
	free(path);
	free(query);
	canon_hdrs_free(h, r->nheaders);
	return ret;
}

int sigv4_canonical_request(const struct sigv4_request *r, char **out)
{
	return canonical(r, 0, out);
}

static int hmac_str(const uint8_t *key, size_t key_len, const char *s, uint8_t out[32])
{
	return cipher_hmac_sha256(key, key_len, s, strlen(s), out);
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
static int signing_key(const struct sigv4_scope *s, const char *date8, uint8_t out[32])
{
	uint8_t k[4 + SIGV4_SECRET_MAX];
	uint8_t a[32], b[32];
	int ret = -EINVAL;

	if (s->secret_len > SIGV4_SECRET_MAX)
		goto out;
	memcpy(k, "AWS4", 4);
	memcpy(k + 4, s->secret, s->secret_len);
	ret = hmac_str(k, 4 + s->secret_len, date8, a);
	if (!ret)
		ret = hmac_str(a, 32, s->region, b);
	if (!ret)
		ret = hmac_str(b, 32, s->service, a);
	if (!ret)
		ret = hmac_str(a, 32, "aws4_request", out);
out:
	secmem_wipe(k, sizeof(k));
	secmem_wipe(a, sizeof(a));
	secmem_wipe(b, sizeof(b));
	return ret;
}

static int date_ok(const char *d)
{
	if (strlen(d) != SIGV4_DATE_LEN || d[8] != 'T' || d[15] != 'Z')
		return 0;
	for (int i = 0; i < 15; i++)
		if (i != 8 && (d[i] < '0' || d[i] > '9'))
			return 0;
	return 1;
}

int sigv4_authorization(const struct sigv4_request *r, const struct sigv4_scope *s,
			const char *amz_date, char **out)
{
	char date8[9], creq_hash[SIGV4_HEX_LEN + 1], sig_hex[SIGV4_HEX_LEN + 1];
	char *creq = NULL, *names = NULL, *sts = NULL, *auth = NULL;
	uint8_t key[32], sig[32];
	int ret;

	*out = NULL;
	if (!date_ok(amz_date) || !s->access_key || !s->region || !s->service ||
	    strpbrk(s->region, "/\r\n") || strpbrk(s->access_key, "/,\r\n "))
		return -EINVAL;
	memcpy(date8, amz_date, 8);
	date8[8] = '\0';
	ret = canonical(r, 0, &creq);
	if (!ret)
		ret = canonical(r, 1, &names);
	if (!ret)
		ret = sigv4_sha256_hex(creq, strlen(creq), creq_hash);
	if (ret)
		goto out;
	ret = -ENOMEM;
	if (asprintf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", amz_date, date8,
		     s->region, s->service, creq_hash) < 0) {
		sts = NULL;
		goto out;
	}
	ret = signing_key(s, date8, key);
	if (!ret)
		ret = hmac_str(key, sizeof(key), sts, sig);
	if (ret)
		goto out;
	hex_encode(sig, sizeof(sig), sig_hex);
	ret = -ENOMEM;
	if (asprintf(&auth, "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
		     "SignedHeaders=%s, Signature=%s", s->access_key, date8, s->region,
		     s->service, names, sig_hex) < 0)
		goto out;
	*out = auth;
	ret = 0;
out:
	secmem_wipe(key, sizeof(key));
	secmem_wipe(sig, sizeof(sig));
	free(creq);
	free(names);
	free(sts);
	return ret;
}
