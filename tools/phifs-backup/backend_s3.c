/*
 * backend_s3.c: the S3-compatible object store backend (placeholder until the
 * S3 client lands: SigV4 in sigv4.c, HTTP in s3_http.c).
 */
#include "config.h"

#include <errno.h>

#include "backend.h"

int backend_s3_open(const char *url, struct backend **out)
{
	(void)url;
	*out = NULL;
	return -ENOTSUP;
}
