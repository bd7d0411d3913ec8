/*
 * s3_creds.c: where the S3 backend's credentials come from — the environment
 * or an AWS shared credentials file, never the command line (docs/OPERATIONS.md
 * "Backup to S3 and cross-region sync").
 *
 * The secret access key (and a session token) are copied into secure memory
 * (fs/secmem.h) at once; the file is read into secure memory too and wiped.
 * Only the variable or file *name* appears in an error. It does not sign
 * (sigv4.c) or cache anything beyond the struct it fills.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s3_creds.h"
#include "secmem.h"
#include "sigv4.h"

#define CREDS_FILE_MAX (64 * 1024)

static char *secdup(const char *s, size_t n)
{
	char *p = secmem_alloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static int fill(struct s3_creds *c, const char *ak, size_t akl, const char *sk, size_t skl,
		const char *tok, size_t tokl, char *err, size_t errlen)
{
	if (akl == 0 || skl == 0) {
		snprintf(err, errlen, "access key id or secret access key empty");
		return -ENOKEY;
	}
	if (skl > SIGV4_SECRET_MAX) {
		snprintf(err, errlen, "secret access key longer than %d bytes", SIGV4_SECRET_MAX);
		return -EINVAL;
	}
	c->access_key = strndup(ak, akl);
	c->secret = secdup(sk, skl);
	c->secret_len = skl;
	c->token = tok && tokl ? secdup(tok, tokl) : NULL;
	if (!c->access_key || !c->secret || (tok && tokl && !c->token)) {
		s3_creds_free(c);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static const char *trim(const char *s, const char **end)
{
	while (s < *end && (*s == ' ' || *s == '\t'))
		s++;
	while (*end > s && ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r'))
		(*end)--;
	return s;
}

/* Scans the INI text for the profile's three keys (pointers into buf). */
static void scan_profile(const char *buf, size_t len, const char *profile, const char *v[3],
			 size_t vl[3])
{
	static const char *const keys[3] = { "aws_access_key_id", "aws_secret_access_key",
					     "aws_session_token" };
	const char *p = buf, *end = buf + len;
	int in = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		const char *s = trim(p, &le), *eq;

		p = nl ? nl + 1 : end;
		if (s < le && *s == '[') {
			const char *ne = le;

			if (ne > s && ne[-1] == ']')
				ne--;
			s++;
			s = trim(s, &ne);
			in = (size_t)(ne - s) == strlen(profile) && !memcmp(s, profile, strlen(profile));
			continue;
		}
		eq = in ? memchr(s, '=', (size_t)(le - s)) : NULL;
		if (!eq)
			continue;
		for (int k = 0; k < 3; k++) {
			const char *ke = eq, *ks = trim(s, &ke), *ve = le, *vs = trim(eq + 1, &ve);

			if ((size_t)(ke - ks) == strlen(keys[k]) && !memcmp(ks, keys[k], strlen(keys[k]))) {
				v[k] = vs;
				vl[k] = (size_t)(ve - vs);
			}
		}
	}
}

static int from_file(struct s3_creds *c, char *err, size_t errlen)
{
	const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE"), *home = getenv("HOME");
	const char *profile = getenv("AWS_PROFILE"), *v[3] = { NULL, NULL, NULL };
	size_t vl[3] = { 0, 0, 0 };
	char path[4096], *buf = NULL;
	ssize_t n = 0;
	int fd = -1, ret;

	if (!profile || !*profile)
		profile = "default";
	if (file && *file)
		snprintf(path, sizeof(path), "%s", file);
	else if (home && *home)
		snprintf(path, sizeof(path), "%s/.aws/credentials", home);
	else
		path[0] = '\0';
	ret = -ENOKEY;
	fd = path[0] ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0) {
		snprintf(err, errlen, "no S3 credentials: set AWS_ACCESS_KEY_ID and "
			 "AWS_SECRET_ACCESS_KEY or provide %s",
			 path[0] ? path : "~/.aws/credentials");
		goto out;
	}
	ret = -ENOMEM;
	buf = secmem_alloc(CREDS_FILE_MAX);
	if (!buf)
		goto out;
	for (ssize_t r; (r = read(fd, buf + n, CREDS_FILE_MAX - (size_t)n)) > 0;)
		n += r;
	scan_profile(buf, (size_t)n, profile, v, vl);
	if (!v[0] || !v[1]) {
		snprintf(err, errlen, "%s: profile [%s] has no aws_access_key_id / "
			 "aws_secret_access_key", path, profile);
		ret = -ENOKEY;
		goto out;
	}
	ret = fill(c, v[0], vl[0], v[1], vl[1], v[2], vl[2], err, errlen);
out:
	if (buf) {
		secmem_wipe(buf, CREDS_FILE_MAX);
		secmem_free(buf);
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

int s3_creds_load(struct s3_creds *c, char *err, size_t errlen)
{
	const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
	const char *tok = getenv("AWS_SESSION_TOKEN");

	memset(c, 0, sizeof(*c));
	if (ak && *ak && sk && *sk)
		return fill(c, ak, strlen(ak), sk, strlen(sk), tok, tok ? strlen(tok) : 0, err,
			    errlen);
	if ((ak && *ak) || (sk && *sk)) {
		snprintf(err, errlen, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set");
		return -ENOKEY;
	}
	return from_file(c, err, errlen);
}

void s3_creds_free(struct s3_creds *c)
{
	free(c->access_key);
	if (c->secret) {
		secmem_wipe(c->secret, c->secret_len);
		secmem_free(c->secret);
	}
	if (c->token) {
		secmem_wipe(c->token, strlen(c->token));
		secmem_free(c->token);
	}
	memset(c, 0, sizeof(*c));
}
