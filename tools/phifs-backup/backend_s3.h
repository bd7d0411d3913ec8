/* backend_s3.h: S3-only settings beyond backend.h (see backend_s3.c). */
#ifndef PHIFS_BACKUP_BACKEND_S3_H
#define PHIFS_BACKUP_BACKEND_S3_H

#include <stdint.h>

#include "backend.h"

/* Object Lock retention (seconds from each PUT) for a bucket with Object Lock
 * enabled: the repository's retention floor (repo.c), used unless ?retain= or
 * PHIFS_S3_RETAIN named one (those win: docs/OPERATIONS.md "Object Lock").
 * No effect on other backends or buckets without Object Lock. */
void backend_s3_set_retention(struct backend *b, int64_t seconds);
/* 1 when the bucket reported Object Lock enabled at open. */
int backend_s3_object_lock(const struct backend *b);

#endif
