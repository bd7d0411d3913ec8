/*
 * hook.h: the single door through which the filesystem reports security events
 * (integrity failures today; audit records later). Default: a log line naming
 * the file id and block, never a name or content. The audit module replaces it.
 */
#ifndef PHIFS_HOOK_H
#define PHIFS_HOOK_H

#include <stdint.h>
#include "format.h"

typedef void (*hook_integrity_fn)(void *arg, const uint8_t file_id[FORMAT_ID_LEN],
				  uint64_t blockno, const char *what);

void hook_set_integrity(hook_integrity_fn fn, void *arg);
/* what: short static reason, e.g. "tag mismatch", "truncated", "zeroed block". */
void hook_integrity_failure(const uint8_t file_id[FORMAT_ID_LEN], uint64_t blockno,
			    const char *what);

/*
 * Key operations (rotation, unlock, lock, shred): op is a short static verb
 * ("rotate-kms", "unlock", ...), from/to are key ids (never key bytes; NULL
 * when not applicable), result 0 or -errno. Default: one log line.
 */
typedef void (*hook_key_fn)(void *arg, const char *op, const char *from, const char *to,
			    int result);

void hook_set_key(hook_key_fn fn, void *arg);
void hook_key_op(const char *op, const char *from, const char *to, int result);

#endif
