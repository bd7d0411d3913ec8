/* s3_http.h: signed HTTP requests to an S3 endpoint (see s3_http.c). */
#ifndef PHIFS_BACKUP_S3_HTTP_H
#define PHIFS_BACKUP_S3_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "s3_creds.h"
#include "sigv4.h"

struct s3_client;

struct s3_req {
	const char *method;               /* GET, PUT, HEAD, DELETE */
	const char *path;                 /* raw: "/BUCKET/KEY" (encoded here) */
	const struct sigv4_pair *query;
	size_t nquery;
	const struct sigv4_pair *headers; /* extra signed headers (range, object lock) */
	size_t nheaders;
	const void *body;                 /* PUT payload (its SHA-256 is signed) */
	size_t body_len;
};

struct s3_resp {
	long status;                      /* HTTP status of the last attempt */
	uint8_t *body;                    /* malloc'd, NUL-terminated (not counted) */
	size_t len;
	int64_t content_length;           /* from the headers (HEAD), -1 if none */
};

/* One client per endpoint; takes ownership of *creds (emptied). endpoint is
 * "http(s)://host[:port]", host the Host header, ca_file NULL for the system
 * store. */
int s3_client_new(const char *endpoint, const char *host, const char *region,
		  const char *ca_file, struct s3_creds *creds, struct s3_client **out);
void s3_client_free(struct s3_client *c);

/* Sends r (thread-safe: a reused curl handle per thread), retrying transport
 * errors and 5xx with backoff. 0 with *resp filled for any HTTP status;
 * -EIO when no answer came after the retries (said on stderr). */
int s3_http_do(struct s3_client *c, const struct s3_req *r, struct s3_resp *resp);
void s3_resp_free(struct s3_resp *resp);
/* 2xx → 0, 403 → -EACCES ("credentials refused (wrong secret or clock
 * skew?)" on stderr once), 404 → -ENOENT, else -EIO with the status and S3
 * error code on stderr. what names the operation for the message. */
int s3_http_errno(struct s3_client *c, const struct s3_resp *resp, const char *what);

#endif
