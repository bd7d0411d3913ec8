/* repo_index.h: where every blob is (repo_index.c, docs/BACKUP_FORMAT.md
 * §6.2 pack headers, §8 index objects). */
#ifndef PHIFS_BACKUP_REPO_INDEX_H
#define PHIFS_BACKUP_REPO_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "repo.h"

/* One blob inside a pack. */
struct repo_blob_ent {
	uint8_t type;            /* REPO_T_DATA or REPO_T_TREE */
	uint8_t id[32];
	uint64_t off;            /* bytes from the start of the pack */
	uint32_t len;            /* stored (sealed) bytes */
	uint32_t raw_len;        /* bytes before sealing (file bytes of a chunk) */
};

/* One pack as an index object lists it. */
struct repo_pack_info {
	uint8_t id[32];
	uint64_t size;           /* bytes of the whole pack object */
	uint32_t n;
	struct repo_blob_ent *blobs;   /* malloc'd */
};

/* Index payload (§8) ↔ packs. decode: -EBADMSG on any malformation. */
int repo_index_encode(const struct repo_pack_info *packs, size_t n, uint8_t **out, size_t *len);
int repo_index_decode(const uint8_t *in, size_t len, struct repo_pack_info **packs, size_t *n);
/* Pack header payload (§6.2): entries in order; offsets from cumulative lengths. */
int repo_packhdr_encode(const struct repo_blob_ent *b, size_t n, uint8_t **out, size_t *len);
int repo_packhdr_decode(const uint8_t *in, size_t len, struct repo_blob_ent **b, size_t *n);
void repo_packs_free(struct repo_pack_info *packs, size_t n);

/* The repository's index in memory: every blob of every index object. */
#define REPO_PACK_PENDING UINT32_MAX

struct repo_loc {
	uint8_t id[32];
	uint8_t type;
	uint32_t pack;           /* into ix->packs, or REPO_PACK_PENDING (being written) */
	uint64_t off;
	uint32_t len, raw_len;
};

struct repo_index {
	struct repo_loc *slots;  /* open addressing on id; empty when type == 0 */
	size_t cap, count;
	struct repo_pack_info *packs;  /* id and size of each pack (blobs unused) */
	size_t npacks, packs_cap;
	char **objects;          /* names of the index objects loaded */
	size_t nobjects;
};

int repo_index_new(struct repo_index **out);
void repo_index_free(struct repo_index *ix);
/* Reads every index/ object (verifying its name against its bytes). */
int repo_index_load(struct repo *r, struct repo_index *ix);
/* Adds a pack and its blobs (already-known blobs keep their first place). */
int repo_index_add_pack(struct repo_index *ix, const struct repo_pack_info *p);
struct repo_loc *repo_index_find(const struct repo_index *ix, const uint8_t id[32]);
/* Inserts a pending blob (pack REPO_PACK_PENDING). */
int repo_index_add_pending(struct repo_index *ix, const struct repo_loc *l);
/* Reads a blob: the bytes from its pack, opened and checked against its id
 * (HMAC under the chunk-id key). Malloc'd plaintext. -EBADMSG when corrupt. */
int repo_blob_read(struct repo *r, const struct repo_index *ix, const uint8_t id[32],
		   uint8_t **out, size_t *len);
/* The blob id of bytes (§6.1). */
int repo_blob_id(const struct repo *r, const void *buf, size_t len, uint8_t id[32]);

#endif
