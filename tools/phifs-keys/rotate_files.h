/*
 * rotate_files.h: rotate-kms on a per-file KMS volume (rotate_files.c):
 * every file header re-wrapped under the new KEK, offline and resumable.
 */
#ifndef PHIFS_ROTATE_FILES_H
#define PHIFS_ROTATE_FILES_H

#include <stdint.h>
#include "kms.h"
#include "volume.h"

struct rotate_files {
	struct volume *v;
	const char *dir;
	uint32_t ref;                 /* the new KEK's table ref */
	int resumed;                  /* a killed run had added it */
	unsigned long long rewrapped, already, failed;
};

/* Steps 1-2; on success leaves v->cfg's KEK table holding only the new KEK,
 * for the caller's volume_rewrap to write with the slots (step 3). */
int rotate_files_run(struct rotate_files *r, struct kms *newk, const char *new_id);

#endif
