/*
 * repo_pack.c: collects sealed blobs into packs of about pack_size bytes,
 * writes each pack under the SHA-256 of its bytes, and writes index objects
 * for written packs — in that order, so that no index names a pack that is
 * not stored (docs/BACKUP_FORMAT.md §6.2, §7 step 5, §8). It deduplicates
 * against the loaded index; what a blob means is the caller's business.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "repo_obj.h"
#include "repo_pack.h"
#include "repo_util.h"

int repo_packer_new(struct repo *r, struct repo_index *ix, struct repo_packer **out)
{
	struct repo_packer *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->r = r;
	p->ix = ix;
	*out = p;
	return 0;
}

void repo_packer_free(struct repo_packer *p)
{
	if (!p)
		return;
	repo_packs_free(p->done, p->ndone);
	free(p->ents);
	free(p->buf);
	free(p);
}

static int reserve(void **buf, size_t *cap, size_t need, size_t unit)
{
	void *nb;
	size_t c = *cap ? *cap : 16;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	nb = realloc(*buf, c * unit);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = c;
	return 0;
}

int repo_packer_add(struct repo_packer *p, uint8_t type, const uint8_t id[32], const void *data,
		    size_t len, int *added)
{
	uint8_t *sealed = NULL;
	size_t slen = 0;
	struct repo_loc l = { .type = type, .raw_len = (uint32_t)len };
	int ret;

	*added = 0;
	if (repo_index_find(p->ix, id))
		return 0;
	ret = repo_obj_seal(p->r->keys->encrypt, type, id, data, len,
			    type == REPO_T_TREE ? REPO_Z_ALWAYS : REPO_Z_IF_WORTH, &sealed, &slen);
	if (ret)
		return ret;
	ret = reserve((void **)&p->buf, &p->cap, p->len + slen, 1);
	if (!ret)
		ret = reserve((void **)&p->ents, &p->ents_cap, p->n + 1, sizeof(*p->ents));
	if (ret)
		goto out;
	memcpy(p->buf + p->len, sealed, slen);
	p->ents[p->n] = (struct repo_blob_ent){ .type = type, .off = p->len, .len = (uint32_t)slen,
						 .raw_len = (uint32_t)len };
	memcpy(p->ents[p->n].id, id, 32);
	p->n++;
	p->len += slen;
	memcpy(l.id, id, 32);
	ret = repo_index_add_pending(p->ix, &l);
	p->new_blobs++;
	p->new_bytes += slen;
	*added = 1;
	if (!ret && p->len >= p->r->cfg.pack_size)
		ret = repo_packer_flush(p);
out:
	free(sealed);
	return ret;
}

/* Appends the sealed header and its length (§6.2). */
static int close_pack(struct repo_packer *p)
{
	uint8_t *hdr = NULL, *sealed = NULL;
	size_t hlen, slen;
	int ret;

	ret = repo_packhdr_encode(p->ents, p->n, &hdr, &hlen);
	if (!ret)
		ret = repo_obj_seal(p->r->keys->encrypt, REPO_T_PACKHDR, NULL, hdr, hlen, REPO_Z_NONE,
				    &sealed, &slen);
	if (!ret)
		ret = reserve((void **)&p->buf, &p->cap, p->len + slen + 4, 1);
	if (!ret) {
		memcpy(p->buf + p->len, sealed, slen);
		for (int i = 0; i < 4; i++)
			p->buf[p->len + slen + i] = (uint8_t)(slen >> (8 * i));
		p->len += slen + 4;
	}
	free(sealed);
	free(hdr);
	return ret;
}

int repo_packer_flush(struct repo_packer *p)
{
	struct repo_pack_info *info;
	int ret;

	if (!p->n)
		return 0;
	ret = close_pack(p);
	if (!ret)
		ret = reserve((void **)&p->done, &p->done_cap, p->ndone + 1, sizeof(*p->done));
	if (ret)
		return ret;
	info = &p->done[p->ndone];
	*info = (struct repo_pack_info){ .size = p->len, .n = (uint32_t)p->n, .blobs = p->ents };
	ret = repo_put_object(p->r, "data", p->buf, p->len, info->id);
	if (!ret)
		ret = repo_index_add_pack(p->ix, info);
	if (ret)
		return ret;
	p->ndone++;
	p->packs++;
	p->ents = NULL;
	p->n = p->ents_cap = 0;
	p->len = 0;
	if (p->ndone >= REPO_PACKS_PER_INDEX)
		return repo_packer_write_index(p);
	return 0;
}

int repo_packer_write_index(struct repo_packer *p)
{
	uint8_t *pt = NULL;
	size_t ptlen;
	int ret = repo_packer_flush(p);

	if (ret || !p->ndone)
		return ret;
	ret = repo_index_encode(p->done, p->ndone, &pt, &ptlen);
	if (!ret)
		ret = repo_put_sealed(p->r, REPO_T_INDEX, "index", pt, ptlen, NULL);
	if (!ret) {
		repo_packs_free(p->done, p->ndone);
		p->done = NULL;
		p->ndone = p->done_cap = 0;
	}
	free(pt);
	return ret;
}
