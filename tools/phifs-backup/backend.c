/*
 * backend.c: picks the backend for a repository URL (backend.h). The directory
 * backend lands with the repository code; S3 in backend_s3.c.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "backend.h"

int backend_open(const char *url, int create, struct backend **out)
{
	if (strncmp(url, "s3:", 3) == 0)
		return backend_s3_open(url, out);
	return backend_dir_open(url, create, out);
}

int backend_dir_open(const char *path, int create, struct backend **out)
{
	(void)path;
	(void)create;
	*out = NULL;
	return -ENOTSUP;
}
