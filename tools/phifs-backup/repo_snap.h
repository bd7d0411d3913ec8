/* repo_snap.h: snapshots and their trees (repo_snap.c,
 * docs/BACKUP_FORMAT.md §9). */
#ifndef PHIFS_BACKUP_REPO_SNAP_H
#define PHIFS_BACKUP_REPO_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "repo.h"
#include "repo_index.h"
#include "repo_json.h"

struct repo_snap {
	uint8_t id[32];
	char id_hex[65];
	int64_t time;                  /* Unix seconds */
	int64_t created_ns;            /* real clock at writing: orders equal times */
	int partial;
	uint8_t tree[32];
	struct json_object *json;      /* the whole snapshot */
};

/* Every snapshot, oldest first. A snapshot object that does not open is
 * reported on stderr and counted in *bad (NULL: ignored). */
int repo_snap_list(struct repo *r, struct repo_snap **out, size_t *n, int *bad);
void repo_snap_free(struct repo_snap *s, size_t n);
/* "latest" (newest), or a unique hex prefix of at least 8 digits. -ENOENT, -EINVAL (ambiguous). */
int repo_snap_find(struct repo_snap *s, size_t n, const char *ref, struct repo_snap **out);
/* Seals and stores a snapshot; its id in id. */
int repo_snap_write(struct repo *r, struct json_object *o, uint8_t id[32]);
/* The object name of a snapshot ("snapshots/<hex>"). */
void repo_snap_name(const struct repo_snap *s, char *out, size_t cap);

/* A tree blob's JSON lines, each parsed and passed to cb (non-zero stops). */
int repo_tree_each(struct repo *r, const struct repo_index *ix, const uint8_t tree[32],
		   int (*cb)(void *arg, struct json_object *e), void *arg);

#endif
