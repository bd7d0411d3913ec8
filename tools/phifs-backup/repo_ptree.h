/* repo_ptree.h: the parent snapshot's tree as a backup reads it — its text,
 * looked up by path, an unchanged file's line scanned without json-c
 * (repo_ptree.c, docs/BACKUP_FORMAT.md §7 step 3, §9.1). */
#ifndef PHIFS_BACKUP_REPO_PTREE_H
#define PHIFS_BACKUP_REPO_PTREE_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "repo.h"
#include "repo_index.h"

struct ptree;

/* The keys of a file entry the unchanged test reads (§7 step 3). */
struct ptree_file {
	int64_t m, u, g;               /* mode bits, owner */
	int64_t mt, ct;                /* ns since the epoch */
	int64_t ino, sz;               /* inode number, bytes */
	const char *c;                 /* the "c" array's text, brackets included */
	size_t c_len;
	int pa;                        /* it has patches, "pa" (§6.3): more blobs to check */
};

/* The tree blob `tree`, indexed by path: 0, -EBADMSG when a line names no
 * path, or -errno from the repository. */
int ptree_load(struct repo *r, const struct repo_index *ix, const uint8_t tree[32],
	       struct ptree **out);
/* Same, from the tree's text (taken over: freed by ptree_free, also on error). */
int ptree_from_text(char *text, size_t len, struct ptree **out);
void ptree_free(struct ptree *t);
/* The line of path (without its newline; owned by t), or NULL. */
const char *ptree_line(const struct ptree *t, const char *path, size_t *len);
/* The entry of path parsed with json-c (the caller puts it), or NULL. */
struct json_object *ptree_entry(const struct ptree *t, const char *path);
/* A line's file keys: 0 when it is a file entry ("t":"f") of the usual
 * shape — every key of struct ptree_file present once, integers plain —,
 * else -EBADMSG (then treat the file as changed). */
int ptree_scan_file(const char *line, size_t len, struct ptree_file *out);
/* 1 when every id of a scanned "c" array is a 64-digit hex id in ix
 * (patches, "pa", are not looked at: repo_patch.c). */
int ptree_chunks_indexed(const struct ptree_file *f, const struct repo_index *ix);

#endif
