/*
 * rewrap.h: moving one file's data key under another volume-key version
 * (phifs-keys rotate-volume-key) or, in per-file KMS mode, another KEK
 * (rotate-kms): the header alone changes, in one pwrite of
 * 176 bytes at offset 0 under the header lock, so a kill at any moment leaves
 * the old or the new header — both open while both versions are in the config.
 */
#ifndef PHIFS_REWRAP_H
#define PHIFS_REWRAP_H

#include <stdint.h>
#include "keys.h"

enum rewrap_result { REWRAP_DONE, REWRAP_ALREADY };

/* path: a backing regular file. 0 with *res, or -errno (-EBADMSG: header not
 * authentic or not ours, left untouched). */
int rewrap_file(const char *path, const struct keys_volume *kv, uint32_t version,
		enum rewrap_result *res);
/* Per-file KMS mode (rotate-kms, FORMAT.md §4.4): a wrap kind 2 header's DK
 * unwrapped by the KMS and wrapped again under the per-file wrapper's target
 * KEK, table entry `ref`; the same single pwrite. Kind 1 headers: ALREADY. */
int rewrap_file_kms(const char *path, const struct keys_volume *kv, uint32_t ref,
		    enum rewrap_result *res);

#endif
