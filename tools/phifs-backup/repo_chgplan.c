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

/* The parent's patches, when they parse and are all still indexed. */
static int parent_patches(struct json_object *p, uint64_t psz, const struct repo_index *ix,
			  struct repo_patch **pa, size_t *n)
{
	int ret = repo_patch_parse(p, psz, pa, n) ? -ESTALE : 0;

	for (size_t i = 0; !ret && i < *n; i++)
		if (!repo_index_find(ix, (*pa)[i].id))
			ret = -ESTALE;
	return ret;
}

/* Planning state: the parent's patches are consumed in order, chunk by chunk. */
struct planner {
	const struct chglog_bits *dirty;
	uint32_t slot;
	int patches;                   /* the repository takes patches */
	uint8_t *mark;                 /* per slot of the current chunk: to be patched */
	struct repo_patch *old;        /* the parent's */
	size_t nold, next;             /* next: first parent patch not yet consumed */
	size_t cap;
	struct chgplan *out;
};

static int add_patch(struct planner *pn, uint64_t off, uint64_t len, const uint8_t *id)
{
	struct chgplan *o = pn->out;

	if (o->npa == pn->cap) {
		size_t cap = pn->cap ? pn->cap * 2 : 64;
		struct repo_patch *np = realloc(o->pa, cap * sizeof(*np));
		uint8_t *nf = np ? realloc(o->fresh, cap) : NULL;

		if (np)
			o->pa = np;
		if (!nf)
			return -ENOMEM;
		o->fresh = nf;
		pn->cap = cap;
	}
	o->pa[o->npa].off = off;
	o->pa[o->npa].len = (uint32_t)len;
	if (id)
		memcpy(o->pa[o->npa].id, id, 32);
	else
		memset(o->pa[o->npa].id, 0, 32);
	o->fresh[o->npa++] = !id;
	return 0;
}

/* Of the parent's patches inside [off, off + len): how many, from *first.
 * -ESTALE when one is not slot-aligned inside the chunk. */
static int chunk_patches(struct planner *pn, uint64_t off, uint64_t len, size_t *first, size_t *cnt)
{
	*first = pn->next;
	while (pn->next < pn->nold && pn->old[pn->next].off < off + len) {
		const struct repo_patch *q = &pn->old[pn->next++];

		if (q->off < off || q->off + q->len > off + len || (q->off - off) % pn->slot)
			return -ESTALE;
	}
	*cnt = pn->next - *first;
	return 0;
}

/* Marks the slots written since the parent, and the whole of every parent
 * patch they touch (it is replaced); drop[i] for those patches. The
 * patched slot count and the patch count the chunk would have. */
static void mark_chunk(struct planner *pn, uint64_t off, uint64_t s0, size_t ns, size_t first,
		       size_t cnt, uint8_t *drop, size_t *slots, size_t *npatch)
{
	size_t runs = 0;

	*slots = 0;
	*npatch = 0;
	for (size_t i = 0; i < ns; i++)
		pn->mark[i] = (uint8_t)chglog_bits_any(pn->dirty, s0 + i, s0 + i);
	for (size_t i = 0; i < cnt; i++) {
		const struct repo_patch *q = &pn->old[first + i];
		size_t a = (size_t)((q->off - off) / pn->slot);
		size_t b = (size_t)((q->off - off + q->len + pn->slot - 1) / pn->slot);

		drop[i] = 0;
		for (size_t s = a; s < b && s < ns; s++)
			drop[i] |= pn->mark[s];
		if (drop[i])
			memset(pn->mark + a, 1, b - a);
		else
			*slots += b - a;
		*npatch += !drop[i];
	}
	for (size_t i = 0; i < ns; i++) {
		*slots += pn->mark[i];
		runs += pn->mark[i] && (i == 0 || !pn->mark[i - 1]);
	}
	*npatch += runs;
}

/* The patches of a chunk kept as base, in offset order: the parent's
 * untouched ones and one fresh patch per run of marked slots. */
static int emit_chunk(struct planner *pn, uint64_t off, uint64_t len, size_t ns, size_t first,
		      size_t cnt, const uint8_t *drop)
{
	const struct repo_patch *old = pn->old + first;
	size_t k = 0;
	int ret = 0;

	for (size_t i = 0; !ret && i < ns; i++) {
		uint64_t at = off + (uint64_t)i * pn->slot, end;
		size_t e = i;

		if (!pn->mark[i])
			continue;
		while (e < ns && pn->mark[e])
			e++;
		for (; !ret && k < cnt && old[k].off < at; k++)
			ret = drop[k] ? 0 : add_patch(pn, old[k].off, old[k].len, old[k].id);
		end = (uint64_t)e * pn->slot < len ? (uint64_t)e * pn->slot : len;
		if (!ret)
			ret = add_patch(pn, at, off + end - at, NULL);
		i = e;
	}
	for (; !ret && k < cnt; k++)
		ret = drop[k] ? 0 : add_patch(pn, old[k].off, old[k].len, old[k].id);
	return ret;
}

/* Chunk j (same byte range in both sizes, not the header) at off: 1 to keep
 * the parent's chunk (with patches), 0 to read it whole, or -errno. */
static int plan_chunk(struct planner *pn, uint64_t off, uint64_t len)
{
	uint64_t s0 = (off - FORMAT_HEADER_LEN) / pn->slot;
	size_t ns = (size_t)((len + pn->slot - 1) / pn->slot), first, cnt, slots, npatch;
	uint8_t *drop = NULL;
	int keep = 0, ret = chunk_patches(pn, off, len, &first, &cnt);

	if (ret)
		return ret;
	drop = calloc(cnt ? cnt : 1, 1);
	if (!drop)
		return -ENOMEM;
	if (!chglog_bits_any(pn->dirty, s0, s0 + ns - 1)) {
		keep = 1;                       /* untouched: as it was, patches and all */
		ret = emit_chunk(pn, off, len, 0, first, cnt, drop);
		goto out;
	}
	if (!pn->patches)
		goto out;                       /* read whole */
	mark_chunk(pn, off, s0, ns, first, cnt, drop, &slots, &npatch);
	if (slots * CHGPLAN_REBASE_DIV > ns || npatch > CHGPLAN_PATCHES_MAX)
		goto out;                       /* rebase: read whole, its patches dropped */
	keep = 1;
	ret = emit_chunk(pn, off, len, ns, first, cnt, drop);
out:
	free(drop);
	return ret ? ret : keep;
}

int chgplan_make(struct json_object *p, const struct chgplan_rec *r, const struct stat *st,
		 uint32_t slot, uint32_t chunk_max, const struct repo_index *ix, int patches,
		 struct chgplan *out)
{
	struct chglog_bits *dirty = calloc(1, sizeof(*dirty));
	struct planner pn = { .dirty = dirty, .slot = slot, .patches = patches, .out = out };
	uint64_t size = (uint64_t)st->st_size, off = 0, len;
	int64_t psz;
	int ret = -ENOMEM;

	memset(out, 0, sizeof(*out));
	pn.mark = calloc(chunk_max / slot + 1, 1);
	if (!dirty || !pn.mark)
		goto out;
	ret = p ? since_parent(p, r, dirty) : -ESTALE;
	if (!ret)
		ret = repo_json_i64(p, "sz", &psz) || psz < 0 ? -ESTALE : 0;
	if (!ret)
		ret = parent_chunks(p, (uint64_t)psz, slot, chunk_max, ix, &out->ids);
	if (!ret)
		ret = parent_patches(p, (uint64_t)psz, ix, &pn.old, &pn.nold);
	if (!ret) {
		out->n = json_object_array_length(out->ids);
		out->reuse = calloc(out->n ? out->n : 1, 1);
		ret = out->reuse ? 0 : -ENOMEM;
	}
	/* chunk 0 is the header: always read. Chunk j must have the same bytes
	 * range in both sizes; then it is kept when no region was written
	 * since, or patched when few were. A chunk read whole drops the
	 * parent's patches inside it. */
	for (size_t j = 0; !ret && (len = repo_chunk_len(off, size, slot, chunk_max)) > 0; j++) {
		if (j > 0 && j < out->n && len == repo_chunk_len(off, (uint64_t)psz, slot, chunk_max)) {
			ret = plan_chunk(&pn, off, len);
			out->reuse[j] = ret == 1;
			ret = ret < 0 ? ret : 0;
		} else {
			while (pn.next < pn.nold && pn.old[pn.next].off < off + len)
				pn.next++;
		}
		off += len;
	}
out:
	free(pn.mark);
	free(pn.old);
	free(dirty);
	if (ret)
		chgplan_free(out);
	return ret;
}

void chgplan_free(struct chgplan *pl)
{
	free(pl->reuse);
	free(pl->pa);
	free(pl->fresh);
	memset(pl, 0, sizeof(*pl));
}
