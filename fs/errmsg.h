/*
 * errmsg.h: filling a caller's error buffer (char *err, size_t errcap), the
 * convention of the volume, key-table and KMS set-up calls whose messages
 * reach the operator. Messages never contain PHI: backing names and KMS URIs
 * (without secrets) only.
 */
#ifndef PHIFS_ERRMSG_H
#define PHIFS_ERRMSG_H

#include <stddef.h>

/* printf into err (cap bytes, always terminated); a NULL err or 0 cap is a no-op. */
void errmsg_set(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
