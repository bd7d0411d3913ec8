/*
 * repo_index.c: the index of a backup repository (docs/BACKUP_FORMAT.md §8)
 * and the headers of packs (§6.2): their byte encodings, the in-memory table
 * of where every blob is, and reading one blob back with its id checked.
 * Index objects and pack headers come from storage: decoders check every
 * count and length against the bytes present before allocating.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cipher.h"
#include "repo_index.h"
#include "repo_obj.h"
#include "repo_util.h"
#include "secmem.h"

#define IX_MAGIC "PHIX"
#define IX_PACK_LEN (32 + 8 + 4)
#define IX_BLOB_LEN (1 + 32 + 8 + 4 + 4)
#define HDR_BLOB_LEN (1 + 32 + 4 + 4)

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

int repo_index_encode(const struct repo_pack_info *packs, size_t n, uint8_t **out, size_t *len)
{
	size_t size = 8;
	uint8_t *buf, *p;

	for (size_t i = 0; i < n; i++)
		size += IX_PACK_LEN + (size_t)packs[i].n * IX_BLOB_LEN;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, IX_MAGIC, 4);
	put32(buf + 4, (uint32_t)n);
	p = buf + 8;
	for (size_t i = 0; i < n; i++) {
		memcpy(p, packs[i].id, 32);
		put64(p + 32, packs[i].size);
		put32(p + 40, packs[i].n);
		p += IX_PACK_LEN;
		for (uint32_t j = 0; j < packs[i].n; j++, p += IX_BLOB_LEN) {
			const struct repo_blob_ent *b = &packs[i].blobs[j];

			p[0] = b->type;
			memcpy(p + 1, b->id, 32);
			put64(p + 33, b->off);
			put32(p + 41, b->len);
			put32(p + 45, b->raw_len);
		}
	}
	*out = buf;
	*len = size;
	return 0;
}

void repo_packs_free(struct repo_pack_info *packs, size_t n)
{
	if (!packs)
		return;
	for (size_t i = 0; i < n; i++)
		free(packs[i].blobs);
	free(packs);
}

static int blob_ok(const struct repo_blob_ent *b, uint64_t pack_size)
{
	return (b->type == REPO_T_DATA || b->type == REPO_T_TREE) && b->len >= REPO_OBJ_OVERHEAD &&
	       b->off <= pack_size && b->len <= pack_size - b->off;
}

int repo_index_decode(const uint8_t *in, size_t len, struct repo_pack_info **out, size_t *nout)
{
	struct repo_pack_info *packs = NULL;
	size_t n, pos = 8, i = 0;
	int ret = -EBADMSG;

	*out = NULL;
	*nout = 0;
	if (len < 8 || memcmp(in, IX_MAGIC, 4) != 0)
		return -EBADMSG;
	n = get32(in + 4);
	if (n > (len - 8) / IX_PACK_LEN)
		return -EBADMSG;
	packs = calloc(n ? n : 1, sizeof(*packs));
	if (!packs)
		return -ENOMEM;
	for (; i < n; i++) {
		struct repo_pack_info *p = &packs[i];

		if (len - pos < IX_PACK_LEN)
			goto out;
		memcpy(p->id, in + pos, 32);
		p->size = get64(in + pos + 32);
		p->n = get32(in + pos + 40);
		pos += IX_PACK_LEN;
		if (p->n > (len - pos) / IX_BLOB_LEN)
			goto out;
		p->blobs = calloc(p->n ? p->n : 1, sizeof(*p->blobs));
		if (!p->blobs) {
			ret = -ENOMEM;
			goto out;
		}
		for (uint32_t j = 0; j < p->n; j++, pos += IX_BLOB_LEN) {
			struct repo_blob_ent *b = &p->blobs[j];

			b->type = in[pos];
			memcpy(b->id, in + pos + 1, 32);
			b->off = get64(in + pos + 33);
			b->len = get32(in + pos + 41);
			b->raw_len = get32(in + pos + 45);
			if (!blob_ok(b, p->size))
				goto out;
		}
	}
	if (pos != len)
		goto out;
	*out = packs;
	*nout = n;
	return 0;
out:
	repo_packs_free(packs, n);
	return ret;
}

int repo_packhdr_encode(const struct repo_blob_ent *b, size_t n, uint8_t **out, size_t *len)
{
	uint8_t *buf = malloc(n ? n * HDR_BLOB_LEN : 1);

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = buf + i * HDR_BLOB_LEN;

		p[0] = b[i].type;
		memcpy(p + 1, b[i].id, 32);
		put32(p + 33, b[i].len);
		put32(p + 37, b[i].raw_len);
	}
	*out = buf;
	*len = n * HDR_BLOB_LEN;
	return 0;
}

int repo_packhdr_decode(const uint8_t *in, size_t len, struct repo_blob_ent **out, size_t *nout)
{
	size_t n = len / HDR_BLOB_LEN;
	uint64_t off = 0;
	struct repo_blob_ent *b;

	*out = NULL;
	*nout = 0;
	if (len % HDR_BLOB_LEN)
		return -EBADMSG;
	b = calloc(n ? n : 1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = in + i * HDR_BLOB_LEN;

		b[i].type = p[0];
		memcpy(b[i].id, p + 1, 32);
		b[i].off = off;
		b[i].len = get32(p + 33);
		b[i].raw_len = get32(p + 37);
		off += b[i].len;
		if (!blob_ok(&b[i], UINT64_MAX / 2)) {
			free(b);
			return -EBADMSG;
		}
	}
	*out = b;
	*nout = n;
	return 0;
}

/* --- the table --- */

int repo_index_new(struct repo_index **out)
{
	struct repo_index *ix = calloc(1, sizeof(*ix));

	*out = NULL;
	if (!ix)
		return -ENOMEM;
	ix->cap = 1024;
	ix->slots = calloc(ix->cap, sizeof(*ix->slots));
	if (!ix->slots) {
		free(ix);
		return -ENOMEM;
	}
	*out = ix;
	return 0;
}

void repo_index_free(struct repo_index *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < ix->nobjects; i++)
		free(ix->objects[i]);
	free(ix->objects);
	free(ix->packs);
	free(ix->slots);
	free(ix);
}

static size_t slot_of(const struct repo_index *ix, const uint8_t id[32])
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));   /* ids are keyed hashes: uniformly spread */
	return (size_t)(h & (ix->cap - 1));
}

struct repo_loc *repo_index_find(const struct repo_index *ix, const uint8_t id[32])
{
	for (size_t i = slot_of(ix, id);; i = (i + 1) & (ix->cap - 1)) {
		struct repo_loc *l = &ix->slots[i];

		if (!l->type)
			return NULL;
		if (!memcmp(l->id, id, 32))
			return l;
	}
}

static int grow(struct repo_index *ix)
{
	struct repo_index big = *ix;

	big.cap = ix->cap * 2;
	big.slots = calloc(big.cap, sizeof(*big.slots));
	if (!big.slots)
		return -ENOMEM;
	for (size_t i = 0; i < ix->cap; i++) {
		if (!ix->slots[i].type)
			continue;
		size_t j = slot_of(&big, ix->slots[i].id);

		while (big.slots[j].type)
			j = (j + 1) & (big.cap - 1);
		big.slots[j] = ix->slots[i];
	}
	free(ix->slots);
	ix->slots = big.slots;
	ix->cap = big.cap;
	return 0;
}

static int insert(struct repo_index *ix, const struct repo_loc *l)
{
	size_t i;

	if (repo_index_find(ix, l->id))
		return 0;
	if ((ix->count + 1) * 4 > ix->cap * 3) {
		int ret = grow(ix);

		if (ret)
			return ret;
	}
	for (i = slot_of(ix, l->id); ix->slots[i].type; i = (i + 1) & (ix->cap - 1))
		;
	ix->slots[i] = *l;
	ix->count++;
	return 0;
}

int repo_index_add_pending(struct repo_index *ix, const struct repo_loc *l)
{
	struct repo_loc c = *l;

	c.pack = REPO_PACK_PENDING;
	return insert(ix, &c);
}

int repo_index_add_pack(struct repo_index *ix, const struct repo_pack_info *p)
{
	uint32_t k = (uint32_t)ix->npacks;
	int ret;

	if (ix->npacks == ix->packs_cap) {
		size_t cap = ix->packs_cap ? ix->packs_cap * 2 : 64;
		struct repo_pack_info *np = realloc(ix->packs, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		ix->packs = np;
		ix->packs_cap = cap;
	}
	memcpy(ix->packs[k].id, p->id, 32);
	ix->packs[k].size = p->size;
	ix->packs[k].n = p->n;
	ix->packs[k].blobs = NULL;
	ix->npacks++;
	for (uint32_t j = 0; j < p->n; j++) {
		const struct repo_blob_ent *b = &p->blobs[j];
		struct repo_loc *have = repo_index_find(ix, b->id);
		struct repo_loc l = { .type = b->type, .pack = k, .off = b->off, .len = b->len,
				      .raw_len = b->raw_len };

		if (have && have->pack == REPO_PACK_PENDING) {
			*have = l;       /* the pack it was pending for is now written */
			memcpy(have->id, b->id, 32);
			continue;
		}
		memcpy(l.id, b->id, 32);
		ret = insert(ix, &l);
		if (ret)
			return ret;
	}
	return 0;
}

struct load {
	struct repo *r;
	struct repo_index *ix;
	int err;
};

static int load_one(void *arg, const char *name, uint64_t size)
{
	struct load *ld = arg;
	struct repo_pack_info *packs = NULL;
	uint8_t *raw = NULL, *pt = NULL, id[32];
	size_t len, ptlen, n = 0;
	char want[80], **objs;
	int ret;

	(void)size;
	ret = backend_get(ld->r->be, name, &raw, &len);
	if (!ret)
		ret = repo_obj_id(raw, len, id);
	repo_obj_name("index", id, want, sizeof(want));
	if (!ret && strcmp(want, name))
		ret = -EBADMSG;
	if (!ret)
		ret = repo_obj_open(ld->r->keys->encrypt, REPO_T_INDEX, NULL, raw, len, &pt, &ptlen);
	if (!ret)
		ret = repo_index_decode(pt, ptlen, &packs, &n);
	for (size_t i = 0; !ret && i < n; i++)
		ret = repo_index_add_pack(ld->ix, &packs[i]);
	objs = ret ? NULL : realloc(ld->ix->objects, (ld->ix->nobjects + 1) * sizeof(char *));
	if (objs) {
		ld->ix->objects = objs;
		objs[ld->ix->nobjects] = strdup(name);
		if (objs[ld->ix->nobjects])
			ld->ix->nobjects++;
	}
	repo_packs_free(packs, n);
	free(pt);
	free(raw);
	if (ret) {
		fprintf(stderr, "phifs-backup: index object %s: %s\n", name, strerror(-ret));
		ld->err = ret;
	}
	return 0;
}

int repo_index_load(struct repo *r, struct repo_index *ix)
{
	struct load ld = { r, ix, 0 };
	int ret = backend_list(r->be, "index/", load_one, &ld);

	return ret ? ret : ld.err;
}

int repo_blob_id(const struct repo *r, const void *buf, size_t len, uint8_t id[32])
{
	return cipher_hmac_sha256(r->keys->chunk_id, 32, buf, len, id);
}

int repo_blob_read(struct repo *r, const struct repo_index *ix, const uint8_t id[32],
		   uint8_t **out, size_t *outlen)
{
	const struct repo_loc *l = repo_index_find(ix, id);
	uint8_t *raw = NULL, check[32];
	char name[100];
	int ret;

	*out = NULL;
	if (!l || l->pack == REPO_PACK_PENDING)
		return -ENOENT;
	raw = malloc(l->len);
	if (!raw)
		return -ENOMEM;
	repo_obj_name("data", ix->packs[l->pack].id, name, sizeof(name));
	ret = backend_get_range(r->be, name, l->off, l->len, raw);
	if (!ret)
		ret = repo_obj_open(r->keys->encrypt, l->type, id, raw, l->len, out, outlen);
	if (!ret)
		ret = repo_blob_id(r, *out, *outlen, check);
	if (!ret && (!secmem_equal(check, id, 32) || *outlen != l->raw_len))
		ret = -EBADMSG;
	if (ret) {
		free(*out);
		*out = NULL;
	}
	free(raw);
	return ret;
}
