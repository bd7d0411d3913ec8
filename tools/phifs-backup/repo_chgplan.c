/*
 * repo_chgplan.c: the reading plan of docs/BACKUP_FORMAT.md §7.1 — from the
 * change record the daemon keeps on a backing file (FORMAT.md §7.1,
 * fs/chglog_rec.c) and the parent snapshot's entry, the chunks that cannot
 * have changed since the parent read the file. Every condition that fails
 * means "read the file whole", the behaviour without a record; nothing here
 * can make a backup store bytes the file does not hold, as long as the
 * record is one the daemon wrote (THREAT_MODEL.md: the record is not
 * authenticated).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "format.h"
#include "repo_chgplan.h"
#include "repo_chunk.h"
#include "repo_json.h"
#include "repo_util.h"

static int64_t ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

void chgplan_rec_read(int fd, const struct stat *st, struct chgplan_rec *out)
{
	ssize_t n = fgetxattr(fd, CHGLOG_XATTR, out->raw, sizeof(out->raw));

	out->len = n > 0 ? (size_t)n : 0;
	out->trusted = out->len && !chglog_rec_decode(out->raw, out->len, &out->rec) &&
		       chglog_rec_vouches(&out->rec, ns(st->st_mtim), (uint64_t)st->st_size);
}

int chgplan_rec_same(const struct chgplan_rec *a, const struct chgplan_rec *b)
{
	return a->len == b->len && !memcmp(a->raw, b->raw, a->len);
}

void chgplan_tag(struct json_object *e, const struct chgplan_rec *r)
{
	char hex[2 * CHGLOG_ID_LEN + 1];

	if (!r->trusted)
		return;
	repo_hex(r->rec.id, CHGLOG_ID_LEN, hex);
	json_object_object_add(e, "cl", json_object_new_string(hex));
	json_object_object_add(e, "cg", json_object_new_int64((int64_t)r->rec.gen));
}

/* The parent's chunks, when they are exactly the cut of its size and all
 * still indexed. */
static int parent_chunks(struct json_object *p, uint64_t psz, uint32_t slot, uint32_t chunk_max,
			 const struct repo_index *ix, struct json_object **ids)
{
	uint64_t off = 0, len;
	size_t n = 0;

	if (!json_object_object_get_ex(p, "c", ids) || !json_object_is_type(*ids, json_type_array))
		return -ESTALE;
	while ((len = repo_chunk_len(off, psz, slot, chunk_max)) > 0) {
		off += len;
		n++;
	}
	if (n != json_object_array_length(*ids))
		return -ESTALE;
	for (size_t i = 0; i < n; i++) {
		const char *hex = json_object_get_string(json_object_array_get_idx(*ids, i));
		uint8_t id[32];

		if (!hex || repo_unhex(hex, id, 32) || !repo_index_find(ix, id))
			return -ESTALE;
	}
	return 0;
}

/* Regions written after the generation the parent saw, in this lineage. */
static int since_parent(struct json_object *p, const struct chgplan_rec *r,
			struct chglog_bits *dirty)
{
	const char *cl = repo_json_str(p, "cl"), *t = repo_json_str(p, "t");
	char hex[2 * CHGLOG_ID_LEN + 1];
	int64_t cg;

	if (!r->trusted || !t || strcmp(t, "f") || !cl || repo_json_i64(p, "cg", &cg) || cg < 0)
		return -ESTALE;
	repo_hex(r->rec.id, CHGLOG_ID_LEN, hex);
	if (strcmp(hex, cl))
		return -ESTALE;
	return chglog_rec_since(&r->rec, (uint64_t)cg, dirty);
}

int chgplan_make(struct json_object *p, const struct chgplan_rec *r, const struct stat *st,
		 uint32_t slot, uint32_t chunk_max, const struct repo_index *ix,
		 struct chgplan *out)
{
	struct chglog_bits *dirty = calloc(1, sizeof(*dirty));
	uint64_t size = (uint64_t)st->st_size, off = 0, len;
	int64_t psz;
	int ret = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (!dirty)
		return ret;
	ret = p ? since_parent(p, r, dirty) : -ESTALE;
	if (!ret)
		ret = repo_json_i64(p, "sz", &psz) || psz < 0 ? -ESTALE : 0;
	if (!ret)
		ret = parent_chunks(p, (uint64_t)psz, slot, chunk_max, ix, &out->ids);
	if (!ret) {
		out->n = json_object_array_length(out->ids);
		out->reuse = calloc(out->n ? out->n : 1, 1);
		ret = out->reuse ? 0 : -ENOMEM;
	}
	/* chunk 0 is the header: always read. Chunk j must have the same bytes
	 * range in both sizes and no region written since. */
	for (size_t j = 0; !ret && (len = repo_chunk_len(off, size, slot, chunk_max)) > 0; j++) {
		if (j > 0 && j < out->n && len == repo_chunk_len(off, (uint64_t)psz, slot, chunk_max))
			out->reuse[j] = !chglog_bits_any(dirty, (off - FORMAT_HEADER_LEN) / slot,
							 (off + len - 1 - FORMAT_HEADER_LEN) / slot);
		off += len;
	}
	free(dirty);
	if (ret)
		chgplan_free(out);
	return ret;
}

void chgplan_free(struct chgplan *pl)
{
	free(pl->reuse);
	memset(pl, 0, sizeof(*pl));
}
