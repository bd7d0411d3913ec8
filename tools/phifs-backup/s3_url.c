/*
 * s3_url.c: the S3 repository URL (docs/OPERATIONS.md "Backup to S3 and
 * cross-region sync"): s3:https://HOST[:PORT]/BUCKET[/PREFIX][?region=R].
 *
 * Owns the syntax checks that keep a URL from becoming something else on the
 * wire: path-style addressing only (the bucket is the first path component),
 * bucket and prefix restricted to S3's safe characters so no encoding
 * surprises reach the signer, no user-info (credentials never in argv), and
 * plain http only to a loopback host — PHI ciphertext and signed requests
 * never cross a network unencrypted. It does not resolve names or connect.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "s3_url.h"

static int fail(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -EINVAL;
}

int s3_url_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (!strcasecmp(host, "localhost"))
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

static int host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.';
}

/* Splits "host[:port]" / "[v6][:port]" (authority, n bytes); name gets the
 * bare host for the loopback check. */
static int parse_authority(const char *a, size_t n, char *name, size_t cap, char *err,
			   size_t errlen)
{
	const char *end = a + n, *p, *colon = NULL;
	size_t hl;

	if (n == 0)
		return fail(err, errlen, "no host");
	if (a[0] == '[') {
		p = memchr(a, ']', n);
		if (!p)
			return fail(err, errlen, "unterminated IPv6 address");
		hl = (size_t)(p - a - 1);
		if (hl == 0 || hl >= cap)
			return fail(err, errlen, "bad IPv6 address");
		memcpy(name, a + 1, hl);
		name[hl] = '\0';
		if (inet_pton(AF_INET6, name, &(struct in6_addr){ 0 }) != 1)
			return fail(err, errlen, "bad IPv6 address");
		p++;
		if (p < end && *p != ':')
			return fail(err, errlen, "junk after IPv6 address");
		colon = p < end ? p : NULL;
	} else {
		for (p = a; p < end && *p != ':'; p++)
			if (!host_char(*p))
				return fail(err, errlen, "bad character in host name");
		hl = (size_t)(p - a);
		if (hl == 0 || hl >= cap)
			return fail(err, errlen, "bad host name");
		memcpy(name, a, hl);
		name[hl] = '\0';
		colon = p < end ? p : NULL;
	}
	if (colon) {
		unsigned long port = 0;
		const char *d = colon + 1;

		if (d == end || end - d > 5)
			return fail(err, errlen, "bad port");
		for (; d < end; d++) {
			if (*d < '0' || *d > '9')
				return fail(err, errlen, "bad port");
			port = port * 10 + (unsigned long)(*d - '0');
		}
		if (port == 0 || port > 65535)
			return fail(err, errlen, "bad port");
	}
	return 0;
}

/* S3 bucket naming rules (lower-case DNS-like, 3..63). */
static int bucket_ok(const char *b, size_t n)
{
	if (n < 3 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '-' ||
		      b[i] == '.'))
			return 0;
	return b[0] != '-' && b[0] != '.' && b[n - 1] != '-' && b[n - 1] != '.';
}

/* Prefix components: the object-name alphabet of backend.h, no "." or "..". */
static int prefix_ok(const char *p, size_t n)
{
	size_t comp = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || p[i] == '/') {
			if (comp == 0 && i != n)
				return 0;
			if ((comp == 1 && p[i - 1] == '.') ||
			    (comp == 2 && p[i - 1] == '.' && p[i - 2] == '.'))
				return 0;
			comp = 0;
			continue;
		}
		if (!host_char(p[i]) && p[i] != '_')
			return 0;
		comp++;
	}
	return 1;
}

/* A query value: printable, no separators (a CA path or a region). */
static char *query_value(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f || v[i] == '%')
			return NULL;
	return n ? strndup(v, n) : NULL;
}

static int parse_query(const char *q, struct s3_url *u, char *err, size_t errlen)
{
	while (*q) {
		const char *amp = strchr(q, '&'), *end = amp ? amp : q + strlen(q);
		const char *eq = memchr(q, '=', (size_t)(end - q));
		char **slot = NULL;
		size_t kl;

		if (!eq)
			return fail(err, errlen, "query parameter without a value");
		kl = (size_t)(eq - q);
		if (kl == 6 && !memcmp(q, "region", 6))
			slot = &u->region;
		else if (kl == 2 && !memcmp(q, "ca", 2))
			slot = &u->ca_file;
		else if (kl == 6 && !memcmp(q, "retain", 6))
			slot = &u->retain;
		else
			return fail(err, errlen, "unknown query parameter (known: region, ca, retain)");
		free(*slot);
		*slot = query_value(eq + 1, (size_t)(end - eq - 1));
		if (!*slot)
			return fail(err, errlen, "empty or unsafe query parameter value");
		if (slot == &u->region) {
			for (const char *c = u->region; *c; c++)
				if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
					return fail(err, errlen, "bad region");
		}
		q = amp ? amp + 1 : end;
	}
	return 0;
}

static int parse_path(const char *p, size_t n, struct s3_url *u, char *err, size_t errlen)
{
	const char *slash = memchr(p, '/', n);
	size_t bl = slash ? (size_t)(slash - p) : n, pl;

	if (!bucket_ok(p, bl))
		return fail(err, errlen, "bad or missing bucket name (path-style: /BUCKET[/PREFIX])");
	u->bucket = strndup(p, bl);
	pl = slash ? n - bl - 1 : 0;
	while (pl && slash[pl] == '/')   /* "bucket/prefix/" == "bucket/prefix" */
		pl--;
	if (pl && !prefix_ok(slash + 1, pl))
		return fail(err, errlen, "bad prefix (components of A-Z a-z 0-9 . _ -)");
	if (pl) {
		u->prefix = malloc(pl + 2);
		if (u->prefix) {
			memcpy(u->prefix, slash + 1, pl);
			memcpy(u->prefix + pl, "/", 2);
		}
	} else {
		u->prefix = strdup("");
	}
	return u->bucket && u->prefix ? 0 : -ENOMEM;
}

int s3_url_parse(const char *url, struct s3_url *u, char *err, size_t errlen)
{
	const char *rest, *auth, *path, *q;
	char name[256];
	size_t alen;
	int https, ret;

	memset(u, 0, sizeof(*u));
	snprintf(err, errlen, "out of memory");
	if (!strncmp(url, "s3:https://", 11)) {
		https = 1;
		rest = url + 11;
	} else if (!strncmp(url, "s3:http://", 10)) {
		https = 0;
		rest = url + 10;
	} else {
		return fail(err, errlen, "expected s3:https://HOST[:PORT]/BUCKET[/PREFIX]");
	}
	auth = rest;
	path = strchr(auth, '/');
	if (!path)
		return fail(err, errlen, "no bucket (s3:https://HOST/BUCKET)");
	alen = (size_t)(path - auth);
	if (memchr(auth, '@', alen))
		return fail(err, errlen, "credentials in the URL are refused (use the environment "
					 "or a credentials file)");
	ret = parse_authority(auth, alen, name, sizeof(name), err, errlen);
	if (ret)
		goto out;
	u->loopback = s3_url_host_is_loopback(name);
	if (!https && !u->loopback) {
		ret = fail(err, errlen, "plain http is refused for a non-loopback host: use https");
		goto out;
	}
	ret = -ENOMEM;
	u->host = strndup(auth, alen);
	if (!u->host || asprintf(&u->endpoint, "%s://%s", https ? "https" : "http", u->host) < 0) {
		u->endpoint = NULL;
		goto out;
	}
	path++;
	q = strchr(path, '?');
	ret = parse_path(path, q ? (size_t)(q - path) : strlen(path), u, err, errlen);
	if (!ret && q)
		ret = parse_query(q + 1, u, err, errlen);
out:
	if (ret)
		s3_url_free(u);
	return ret;
}

void s3_url_free(struct s3_url *u)
{
	free(u->endpoint);
	free(u->host);
	free(u->bucket);
	free(u->prefix);
	free(u->region);
	free(u->ca_file);
	free(u->retain);
	memset(u, 0, sizeof(*u));
}
