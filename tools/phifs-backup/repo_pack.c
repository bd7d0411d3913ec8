/*
 * repo_pack.c: collects sealed blobs into packs of about pack_size bytes,
 * writes each pack under the SHA-256 of its bytes, and writes index objects
 * for written packs — in that order, so that no index names a pack that is
 * not stored (docs/BACKUP_FORMAT.md §6.2, §7 step 5, §8). It deduplicates
 * against the loaded index; what a blob means is the caller's business.
 * When the backend takes parallel puts, a writer thread hashes and stores
 * one full pack while the caller reads and seals the next (disk reads and
 * writes overlap); the index learns of a pack only once it is stored, and
 * an index object is written only when no pack is in flight.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cipher.h"
#include "repo_obj.h"
#include "repo_pack.h"
#include "repo_util.h"

/* The writer thread: one pack at a time, named by its hash and stored. */
static void *writer(void *arg)
{
	struct repo_packer *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && (!p->fly_buf || p->fly_done))
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			break;
		pthread_mutex_unlock(&p->mu);
		int ret = repo_put_object(p->r, "data", p->fly_buf, p->fly.size, p->fly.id);

		pthread_mutex_lock(&p->mu);
		p->fly_ret = ret;
		p->fly_done = 1;
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
	pthread_cond_init(&p->cv, NULL);
	p->threaded = r->be->concurrency > 1 && pthread_create(&p->th, NULL, writer, p) == 0;
	*out = p;
	return 0;
}

/* Waits for the pack in flight and records it: index table, then the list
 * of packs for the next index object. 0, or the writer's error. */
static int land(struct repo_packer *p)
{
	int ret;

	pthread_mutex_lock(&p->mu);
	while (p->fly_buf && !p->fly_done)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
	if (!p->fly_buf)
		return 0;
	ret = p->fly_ret;
	free(p->fly_buf);
	p->fly_buf = NULL;
	p->fly_done = 0;
	if (!ret)
		ret = repo_index_add_pack(p->ix, &p->fly);
	if (ret) {
		free(p->fly.blobs);
		p->fly.blobs = NULL;
		return ret;
	}
	p->done[p->ndone++] = p->fly;       /* room reserved at hand-off */
	p->fly.blobs = NULL;
	p->packs++;
	return 0;
}

void repo_packer_free(struct repo_packer *p)
{
	if (!p)
		return;
	if (p->threaded) {
		land(p);
		pthread_mutex_lock(&p->mu);
		p->stop = 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->th, NULL);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->fly.blobs);
	free(p->fly_buf);
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
	struct repo_pack_info info;
	int ret;

	if (!p->n)
		return 0;
	ret = close_pack(p);
	if (!ret)
		ret = land(p);                   /* the previous pack is stored */
	if (!ret)
		ret = reserve((void **)&p->done, &p->done_cap, p->ndone + 1, sizeof(*p->done));
	if (ret)
		return ret;
	info = (struct repo_pack_info){ .size = p->len, .n = (uint32_t)p->n, .blobs = p->ents };
	p->ents = NULL;
	p->n = p->ents_cap = 0;
	if (p->threaded) {                      /* hand the pack to the writer */
		pthread_mutex_lock(&p->mu);
		p->fly = info;
		p->fly_buf = p->buf;
		p->fly_done = 0;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		p->buf = NULL;
		p->cap = 0;
	} else {
		ret = repo_put_object(p->r, "data", p->buf, p->len, info.id);
		if (!ret)
			ret = repo_index_add_pack(p->ix, &info);
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
		ret = land(p);                   /* packs → index: nothing in flight */
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
