/*
 * backend.c: picks the backend for a repository URL (backend.h): S3 in
 * backend_s3.c, a directory in backend_dir.c.
 */
#include "config.h"

#include <string.h>

#include "backend.h"

int backend_open(const char *url, int create, struct backend **out)
{
	if (strncmp(url, "s3:", 3) == 0)
		return backend_s3_open(url, out);
	return backend_dir_open(url, create, out);
}
