/*
 * policy_store.h: the access policy as stored in the cipher dir,
 * `phifs.policy` (docs/FORMAT.md §11): the rule text followed by a MAC line
 * under the policy-mac key of a volume key (fs/keys.c), so that nobody
 * without the volume key can change what the filesystem enforces.
 */
#ifndef PHIFS_POLICY_STORE_H
#define PHIFS_POLICY_STORE_H

#include <stddef.h>

#define POLICY_STORE_FILE "phifs.policy"
#define POLICY_STORE_TMP "phifs.policy.tmp"
#define POLICY_STORE_MAX (1024 * 1024)   /* bytes, MAC line included */

struct keys_volume;

/* Writes text (checked by the caller with policy_parse) with a MAC under the
 * primary VK, atomically. 0, -EINVAL (text too long or contains the MAC
 * marker), -errno. */
int policy_store_write(int dirfd, const char *text, size_t len, const struct keys_volume *kv);
/* Reads the stored text (malloc'd, NUL-terminated, MAC line removed) into
 * *text. kv NULL: the MAC is not checked (showing it), only its line must
 * be there. Otherwise 0 only if the MAC verifies: -EBADMSG modified or no MAC line, -ENOKEY the VK version is not
 * unlocked (re-set it after a rotation retires that key), -ENOENT no policy. */
int policy_store_read(int dirfd, const struct keys_volume *kv, char **text, size_t *len);
/* Removes the stored policy (no policy: nothing enforced). 0 or -errno. */
int policy_store_remove(int dirfd);

#endif
