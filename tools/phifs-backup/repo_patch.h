/* repo_patch.h: a file entry's blob references — its chunk list "c" and its
 * patches "pa" (repo_patch.c, docs/BACKUP_FORMAT.md §6.3, §9.1). Every
 * command that reads a file's content or its blob ids goes through here. */
#ifndef PHIFS_BACKUP_REPO_PATCH_H
#define PHIFS_BACKUP_REPO_PATCH_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

/* One patch: len bytes at off in the file replace the base chunks' bytes. */
struct repo_patch {
	uint64_t off;
	uint32_t len;
	uint8_t id[32];
};

/* The entry's "pa": 0 with *n patches in *out (malloc'd; NULL and 0 when the
 * entry has none), or -EBADMSG when malformed, unsorted, overlapping, empty
 * or past sz (a patch never extends a file). */
int repo_patch_parse(struct json_object *e, uint64_t sz, struct repo_patch **out, size_t *n);
/* The "pa" value for n patches (n > 0). */
struct json_object *repo_patch_json(const struct repo_patch *pa, size_t n);
/* fn(arg, id) for every blob a file entry needs: its chunks, then its
 * patches. 0, fn's first non-zero return, or -EBADMSG for a malformed id. */
int repo_patch_each_blob(struct json_object *e, int (*fn)(void *arg, const uint8_t id[32]),
			 void *arg);

#endif
