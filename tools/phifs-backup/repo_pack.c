/*
 * repo_pack.c: collects sealed blobs into packs of about pack_size bytes,
 * writes each pack under the SHA-256 of its bytes, and writes index objects
 * for written packs — in that order, so that no index names a pack that is
 * not stored (docs/BACKUP_FORMAT.md §6.2, §7 step 5, §8). It deduplicates
 * against the loaded index; what a blob means is the caller's business.
 * When the backend takes parallel puts, writer threads hash and store up to
 * REPO_PACK_WRITERS full packs while the caller reads and seals the next
 * (disk reads and writes overlap; a pack's buffer is reused, not freed);
 * the index learns of packs in the order they were filled, each only once
 * it is stored, and an index object is written only when no pack is in
 * flight. Sealing
 * threads (repo_pipe.c) may look blobs up while it runs: every change to
 * the index here holds ix_mu.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cipher.h"
#include "repo_obj.h"
#include "repo_pack.h"
#include "repo_util.h"

/* A writer thread: its packs one at a time, each named by its hash and
 * stored. */
static void *writer(void *arg)
{
	struct repo_pack_writer *w = arg;
	struct repo_packer *p = w->p;
	int ret;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && (!w->busy || w->done))
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			break;
		pthread_mutex_unlock(&p->mu);
		ret = repo_put_object(p->r, "data", w->buf, w->fly.size, w->fly.id);
		pthread_mutex_lock(&p->mu);
		w->ret = ret;
		w->done = 1;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	cipher_thread_cleanup();
	return NULL;
}

int repo_packer_new(struct repo *r, struct repo_index *ix, struct repo_packer **out)
{
	struct repo_packer *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->r = r;
	p->ix = ix;
	pthread_mutex_init(&p->mu, NULL);
	pthread_mutex_init(&p->ix_mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (; r->be->concurrency > 1 && p->nwriters < REPO_PACK_WRITERS; p->nwriters++) {
		p->wr[p->nwriters].p = p;
		if (pthread_create(&p->wr[p->nwriters].th, NULL, writer, &p->wr[p->nwriters]))
			break;
	}
	*out = p;
	return 0;
}

static int index_pack(struct repo_packer *p, const struct repo_pack_info *info)
{
	int ret;

	pthread_mutex_lock(&p->ix_mu);
	ret = repo_index_add_pack(p->ix, info);
	pthread_mutex_unlock(&p->ix_mu);
	return ret;
}

int repo_packer_known(struct repo_packer *p, const uint8_t id[32])
{
	int known;

	pthread_mutex_lock(&p->ix_mu);
	known = repo_index_find(p->ix, id) != NULL;
	pthread_mutex_unlock(&p->ix_mu);
	return known;
}

/* Waits for w's pack, if any, and records it: index table, then the list
 * of packs for the next index object. 0, or the writer's error. */
static int land(struct repo_packer *p, struct repo_pack_writer *w)
{
	int ret;

	if (!w->busy)
		return 0;
	pthread_mutex_lock(&p->mu);
	while (!w->done)
		pthread_cond_wait(&p->cv, &p->mu);
	ret = w->ret;
	w->busy = w->done = 0;
	pthread_mutex_unlock(&p->mu);
	if (!ret)
		ret = index_pack(p, &w->fly);
	if (ret) {
		free(w->fly.blobs);
		w->fly.blobs = NULL;
		return ret;
	}
	p->done[p->ndone++] = w->fly;       /* room reserved at hand-off */
	w->fly.blobs = NULL;
	p->packs++;
	return 0;
}

/* Every pack in flight, oldest first; the first error. */
static int land_all(struct repo_packer *p)
{
	int ret = 0, r;

	for (unsigned i = 0; i < p->nwriters; i++) {
		r = land(p, &p->wr[(p->next + i) % p->nwriters]);
		ret = ret ? ret : r;
	}
	return ret;
}

void repo_packer_free(struct repo_packer *p)
{
	if (!p)
		return;
	land_all(p);
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nwriters; i++) {
		pthread_join(p->wr[i].th, NULL);
		free(p->wr[i].fly.blobs);
		free(p->wr[i].buf);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	pthread_mutex_destroy(&p->ix_mu);
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

/* The pack buffer grows page-aligned: the directory backend writes it
 * with O_DIRECT (backend_dir.c). */
static int reserve_pack(struct repo_packer *p, size_t need)
{
	size_t c = p->cap ? p->cap : REPO_PACK_ALIGN;
	void *nb;

	if (need <= p->cap)
		return 0;
	while (c < need)
		c *= 2;
	if (posix_memalign(&nb, REPO_PACK_ALIGN, c))
		return -ENOMEM;
	if (p->len)
		memcpy(nb, p->buf, p->len);
	free(p->buf);
	p->buf = nb;
	p->cap = c;
	return 0;
}

int repo_packer_add_sealed(struct repo_packer *p, uint8_t type, const uint8_t id[32],
			   const uint8_t *sealed, size_t slen, size_t raw_len, int *added)
{
	struct repo_loc l = { .type = type, .raw_len = (uint32_t)raw_len };
	int ret;

	*added = 0;
	if (repo_index_find(p->ix, id))
		return 0;
	ret = reserve_pack(p, p->len + slen);
	if (!ret)
		ret = reserve((void **)&p->ents, &p->ents_cap, p->n + 1, sizeof(*p->ents));
	if (ret)
		return ret;
	memcpy(p->buf + p->len, sealed, slen);
	p->ents[p->n] = (struct repo_blob_ent){ .type = type, .off = p->len, .len = (uint32_t)slen,
						 .raw_len = (uint32_t)raw_len };
	memcpy(p->ents[p->n].id, id, 32);
	p->n++;
	p->len += slen;
	memcpy(l.id, id, 32);
	pthread_mutex_lock(&p->ix_mu);
	ret = repo_index_add_pending(p->ix, &l);
	pthread_mutex_unlock(&p->ix_mu);
	p->new_blobs++;
	p->new_bytes += slen;
	*added = 1;
	if (!ret && p->len >= p->r->cfg.pack_size)
		ret = repo_packer_flush(p);
	return ret;
}

int repo_packer_add(struct repo_packer *p, uint8_t type, const uint8_t id[32], const void *data,
		    size_t len, int *added)
{
	uint8_t *sealed = NULL;
	size_t slen = 0;
	int ret;

	*added = 0;
	if (repo_index_find(p->ix, id))
		return 0;
	ret = repo_obj_seal(p->r->keys->encrypt, type, id, data, len,
			    type == REPO_T_TREE ? REPO_Z_ALWAYS : REPO_Z_IF_WORTH, &sealed, &slen);
	if (!ret)
		ret = repo_packer_add_sealed(p, type, id, sealed, slen, len, added);
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
		ret = reserve_pack(p, p->len + slen + 4);
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

/* Hands the pack to the next writer, taking that writer's old buffer. */
static void hand_off(struct repo_packer *p, const struct repo_pack_info *info)
{
	struct repo_pack_writer *w = &p->wr[p->next];
	uint8_t *spare = w->buf;
	size_t spare_cap = w->cap;

	pthread_mutex_lock(&p->mu);
	w->fly = *info;
	w->buf = p->buf;
	w->cap = p->cap;
	w->busy = 1;
	w->done = 0;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	p->buf = spare;
	p->cap = spare_cap;
	p->next = (p->next + 1) % p->nwriters;
}

int repo_packer_flush(struct repo_packer *p)
{
	struct repo_pack_info info;
	int ret;

	if (!p->n)
		return 0;
	ret = close_pack(p);
	if (!ret && p->nwriters)
		ret = land(p, &p->wr[p->next]);  /* that writer's previous pack is stored */
	if (!ret)
		ret = reserve((void **)&p->done, &p->done_cap, p->ndone + p->nwriters + 1,
			      sizeof(*p->done));
	if (ret)
		return ret;
	info = (struct repo_pack_info){ .size = p->len, .n = (uint32_t)p->n, .blobs = p->ents };
	p->ents = NULL;
	p->n = p->ents_cap = 0;
	if (p->nwriters) {
		hand_off(p, &info);
	} else {
		ret = repo_put_object(p->r, "data", p->buf, p->len, info.id);
		if (!ret)
			ret = index_pack(p, &info);
		if (ret) {
			free(info.blobs);
			return ret;
		}
		p->done[p->ndone++] = info;
		p->packs++;
	}
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

	if (!ret)
		ret = land_all(p);               /* packs → index: nothing in flight */
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
