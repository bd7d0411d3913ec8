/* repo_meta.h: extended attributes of backing entries ↔ tree JSON
 * (repo_meta.c, docs/BACKUP_FORMAT.md §9.1 "x"). */
#ifndef PHIFS_BACKUP_REPO_META_H
#define PHIFS_BACKUP_REPO_META_H

#include "repo_json.h"

/* Every xattr of an open file or directory, as {name: base64url}; *out is
 * NULL when there are none (or the filesystem has none). 0 or -errno. */
int repo_meta_xattrs_get(int fd, struct json_object **out);
/* Sets every xattr of x (may be NULL) on fd. 0 or the first -errno. */
int repo_meta_xattrs_set(int fd, struct json_object *x);

#endif
