/*
 * repo_pipe.c: uses more than one core for a backup (docs/BACKUP_FORMAT.md
 * §7 steps 4–5, docs/PERFORMANCE.md "Backups"). The caller reads a file's
 * chunks into a ring of buffers; worker threads compute each chunk's id
 * (HMAC-SHA256) and seal it (AES-256-GCM) when the index does not have it;
 * the caller lands finished chunks strictly in file order — id into the
 * file's list, sealed bytes into the packer — so packs, trees and the
 * dedup decisions are the same as with one thread. It owns the threads and
 * buffers only: what is read, and whether a read was torn, stays with
 * cmd_backup.c; the pack and index with repo_pack.c (whose index lookups
 * are locked against the workers' own, repo_packer_known).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "cipher.h"
#include "repo_obj.h"
#include "repo_pipe.h"
#include "repo_util.h"

#define PIPE_BUF_BYTES (8u * 1048576u)  /* ring bytes to aim for (small chunks: more slots) */
#define PIPE_MAX_SLOTS 256
#define PIPE_SHORT_PASS (256u * 1024u)   /* bytes: a shorter pass stays on the caller's thread */

struct pipe_slot {
	uint8_t *buf;            /* chunk_max bytes */
	size_t len, j;           /* chunk bytes; index in the file */
	uint64_t seq;            /* its number among long passes' chunks, from 1; 0 in a short pass */
	int store;
	uint8_t id[32];
	uint8_t *sealed;         /* malloc'd object; NULL when known or !store */
	size_t slen;
	int ret;
	int done;                /* set under mu; read atomically by repo_pipe_slot */
};

struct repo_pipe {
	struct repo *r;
	struct repo_packer *pk;
	struct pipe_slot *slots;
	size_t nslots;
	/* Monotonic counts, slot = count % nslots: taken, and submitted's
	 * writes, under mu; landed the caller's. landed ≤ submitted ≤ landed +
	 * nslots, taken ≤ submitted. */
	uint64_t landed, taken, submitted;
	unsigned nthreads;
	pthread_t th[REPO_PIPE_MAX_THREADS];
	pthread_mutex_t mu;
	pthread_cond_t work, done;      /* a chunk to take; a chunk finished */
	int stop;                       /* guarded by mu */
	/* The pass (caller's thread only). */
	struct json_object *ids;
	int store, err;
	int here;                       /* this pass runs on the caller's thread */
	int long_pass;                  /* this pass is one for the workers (when there are any) */
	uint64_t seq;                   /* long passes' chunks submitted in this run */
	uint64_t fail_at;               /* test hook: that chunk (1-based) fails with -EIO */
};

/* A worker's part of one chunk: id, then the sealed object unless the
 * index already has the blob (then the caller skips it anyway). */
static int process(struct repo_pipe *pp, struct pipe_slot *s)
{
	int ret;

	s->sealed = NULL;
	if (s->seq && s->seq == pp->fail_at)
		return -EIO;
	ret = repo_blob_id(pp->r, s->buf, s->len, s->id);
	if (ret || !s->store || repo_packer_known(pp->pk, s->id))
		return ret;
	return repo_obj_seal(pp->r->keys->encrypt, REPO_T_DATA, s->id, s->buf, s->len,
			     REPO_Z_IF_WORTH, &s->sealed, &s->slen);
}

static void *worker(void *arg)
{
	struct repo_pipe *pp = arg;
	struct pipe_slot *s;

	pthread_mutex_lock(&pp->mu);
	for (;;) {
		while (!pp->stop && pp->taken == pp->submitted)
			pthread_cond_wait(&pp->work, &pp->mu);
		if (pp->stop)
			break;
		s = &pp->slots[pp->taken++ % pp->nslots];
		pthread_mutex_unlock(&pp->mu);
		s->ret = process(pp, s);
		pthread_mutex_lock(&pp->mu);
		__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&pp->done);
	}
	pthread_mutex_unlock(&pp->mu);
	cipher_thread_cleanup();
	return NULL;
}

/* The oldest chunk, once finished: into ids and the packer, in order. */
static void land_one(struct repo_pipe *pp)
{
	struct pipe_slot *s = &pp->slots[pp->landed % pp->nslots];
	char hex[REPO_HEX_ID];
	int added;

	if (!pp->here) {
		pthread_mutex_lock(&pp->mu);
		while (!s->done)
			pthread_cond_wait(&pp->done, &pp->mu);
		pthread_mutex_unlock(&pp->mu);
	}
	if (!pp->err)
		pp->err = s->ret;
	if (!pp->err && s->sealed)
		pp->err = repo_packer_add_sealed(pp->pk, REPO_T_DATA, s->id, s->sealed, s->slen,
						 s->len, &added);
	if (!pp->err) {
		repo_hex(s->id, 32, hex);
		if (json_object_array_put_idx(pp->ids, s->j, json_object_new_string(hex)))
			pp->err = -ENOMEM;
	}
	free(s->sealed);
	s->sealed = NULL;
	__atomic_store_n(&s->done, 0, __ATOMIC_RELAXED);
	pp->landed++;
}

static size_t slot_count(unsigned nthreads, uint32_t chunk_max)
{
	size_t n = PIPE_BUF_BYTES / chunk_max;

	if (!nthreads)
		return 1;
	if (n < 2 * (size_t)nthreads + 2)
		n = 2 * (size_t)nthreads + 2;
	return n > PIPE_MAX_SLOTS ? PIPE_MAX_SLOTS : n;
}

int repo_pipe_new(struct repo *r, struct repo_packer *pk, unsigned nthreads,
		  struct repo_pipe **out)
{
	struct repo_pipe *pp = calloc(1, sizeof(*pp));
	const char *fail = getenv("PHIFS_BACKUP_TEST_FAIL_CHUNK");   /* OPERATIONS.md, tests only */
	int ret = -ENOMEM;

	*out = NULL;
	if (!pp)
		return -ENOMEM;
	pthread_mutex_init(&pp->mu, NULL);
	pthread_cond_init(&pp->work, NULL);
	pthread_cond_init(&pp->done, NULL);
	pp->r = r;
	pp->pk = pk;
	pp->fail_at = fail ? strtoull(fail, NULL, 10) : 0;
	pp->nslots = slot_count(nthreads, r->cfg.chunk_max);
	pp->slots = calloc(pp->nslots, sizeof(*pp->slots));
	if (!pp->slots)
		goto out;
	for (size_t i = 0; i < pp->nslots; i++)
		if (!(pp->slots[i].buf = malloc(r->cfg.chunk_max)))
			goto out;
	ret = 0;
	for (; pp->nthreads < nthreads && pp->nthreads < REPO_PIPE_MAX_THREADS; pp->nthreads++) {
		ret = -pthread_create(&pp->th[pp->nthreads], NULL, worker, pp);
		if (ret)
			break;
	}
out:
	if (ret) {
		repo_pipe_free(pp);
		return ret;
	}
	*out = pp;
	return 0;
}

void repo_pipe_free(struct repo_pipe *pp)
{
	if (!pp)
		return;
	pthread_mutex_lock(&pp->mu);
	pp->stop = 1;
	pthread_cond_broadcast(&pp->work);
	pthread_mutex_unlock(&pp->mu);
	for (unsigned i = 0; i < pp->nthreads; i++)
		pthread_join(pp->th[i], NULL);
	for (size_t i = 0; pp->slots && i < pp->nslots; i++) {
		free(pp->slots[i].buf);
		free(pp->slots[i].sealed);
	}
	free(pp->slots);
	pthread_cond_destroy(&pp->done);
	pthread_cond_destroy(&pp->work);
	pthread_mutex_destroy(&pp->mu);
	free(pp);
}

void repo_pipe_begin(struct repo_pipe *pp, struct json_object *ids, int store, uint64_t bytes)
{
	pp->ids = ids;
	pp->store = store;
	pp->err = 0;
	/* handing a small file's chunks over costs more (two wake-ups each) than it saves */
	pp->long_pass = bytes >= PIPE_SHORT_PASS;
	pp->here = !pp->nthreads || !pp->long_pass;
}

int repo_pipe_slot(struct repo_pipe *pp, uint8_t **buf)
{
	while (pp->submitted - pp->landed == pp->nslots)
		land_one(pp);
	/* finished chunks land early: the packer fills while workers seal */
	while (!pp->here && pp->landed < pp->submitted &&
	       __atomic_load_n(&pp->slots[pp->landed % pp->nslots].done, __ATOMIC_ACQUIRE))
		land_one(pp);
	*buf = pp->slots[pp->submitted % pp->nslots].buf;
	return pp->err;
}

int repo_pipe_submit(struct repo_pipe *pp, size_t len, size_t j)
{
	struct pipe_slot *s = &pp->slots[pp->submitted % pp->nslots];

	s->len = len;
	s->j = j;
	s->store = pp->store;
	s->seq = pp->long_pass ? ++pp->seq : 0;
	if (pp->here) {                 /* every earlier chunk has landed: no worker looks */
		s->ret = process(pp, s);
		pthread_mutex_lock(&pp->mu);
		pp->submitted++;
		pp->taken++;
		pthread_mutex_unlock(&pp->mu);
		land_one(pp);
		return pp->err;
	}
	pthread_mutex_lock(&pp->mu);
	pp->submitted++;
	pthread_cond_signal(&pp->work);
	pthread_mutex_unlock(&pp->mu);
	return pp->err;
}

int repo_pipe_end(struct repo_pipe *pp)
{
	while (pp->landed < pp->submitted)
		land_one(pp);
	pp->ids = NULL;
	return pp->err;
}
