/* sigv4.h: AWS Signature Version 4 for S3 requests (see sigv4.c). */
#ifndef PHIFS_BACKUP_SIGV4_H
#define PHIFS_BACKUP_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SIGV4_DATE_LEN 16      /* "20150830T123600Z" */
#define SIGV4_HEX_LEN 64       /* hex SHA-256 */
#define SIGV4_SECRET_MAX 128   /* bytes of a secret access key we accept */

/* Query parameters and headers as sent, not yet encoded. A query parameter
 * without a value ("?object-lock") has value "". */
struct sigv4_pair {
	const char *name;
	const char *value;
};

struct sigv4_request {
	const char *method;
	const char *path;                 /* raw, '/'-separated, e.g. "/bucket/data/ab/cd" */
	const struct sigv4_pair *query;
	size_t nquery;
	const struct sigv4_pair *headers; /* every header that is signed: host, x-amz-date, ... */
	size_t nheaders;
	const char *payload_hash;         /* hex SHA-256 of the body */
};

/* Who signs: secret points into secure memory (never copied out of it but
 * into a wiped stack array while the signing key is derived). */
struct sigv4_scope {
	const char *access_key;
	const char *secret;
	size_t secret_len;
	const char *region;
	const char *service;              /* "s3" */
};

/* "Authorization" header value for r at amz_date (SIGV4_DATE_LEN chars);
 * *out malloc'd. -EINVAL on a malformed request, -ENOMEM. */
int sigv4_authorization(const struct sigv4_request *r, const struct sigv4_scope *s,
			const char *amz_date, char **out);
/* The canonical request (step 1), for tests and debugging; *out malloc'd. */
int sigv4_canonical_request(const struct sigv4_request *r, char **out);
/* S3 URI encoding: every byte but A-Z a-z 0-9 - . _ ~ as %XX (upper-case),
 * '/' kept when keep_slash. *out malloc'd. */
int sigv4_uri_encode(const char *s, int keep_slash, char **out);
/* The encoded, sorted query string (no '?'), as sent and as signed. */
int sigv4_canonical_query(const struct sigv4_pair *q, size_t n, char **out);
/* x-amz-date for t (UTC). */
void sigv4_amz_date(time_t t, char out[SIGV4_DATE_LEN + 1]);
/* Lower-case hex of SHA-256(data). */
int sigv4_sha256_hex(const void *data, size_t len, char out[SIGV4_HEX_LEN + 1]);

#endif
