/* repo_util.h: small helpers every part of phifs-backup shares (repo_util.c). */
#ifndef PHIFS_BACKUP_REPO_UTIL_H
#define PHIFS_BACKUP_REPO_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define REPO_HEX_ID 65      /* 64 hex digits and a NUL */

void repo_hex(const uint8_t *in, size_t len, char *out /* 2 * len + 1 */);
/* Exactly 2 * len lowercase or uppercase hex digits → len bytes; -EINVAL. */
int repo_unhex(const char *in, uint8_t *out, size_t len);
/* "data/<2 hex>/<64 hex>" or "<prefix>/<64 hex>" for an object id. */
void repo_obj_name(const char *prefix, const uint8_t id[32], char *out, size_t cap);
/* Object id of stored bytes: SHA-256 (BACKUP_FORMAT.md §2). */
int repo_obj_id(const void *buf, size_t len, uint8_t id[32]);
/* Now in Unix seconds; PHIFS_BACKUP_NOW overrides it (tests only, §9.2). */
int64_t repo_now(void);
/* "6y" (365-day years), "52w", "30d", "12h", "30m", "90s" or plain seconds;
 * "0" → 0 (none). -EINVAL. */
int repo_parse_duration(const char *s, int64_t *out);

#endif
