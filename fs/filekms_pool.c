/*
 * filekms_pool.c: pre-wrapped data keys for creates in per-file KMS mode
 * (docs/OPERATIONS.md "Per-file KMS mode"). A create takes a ready (file id,
 * DK, wrapped DK) from the pool instead of waiting for a KMS round trip; one
 * background thread refills it from the low-water mark (a quarter) to full.
 * Keys live in one secmem block, wiped on lock/idle (filekms.c fk_evict) and
 * at unmount. While the KMS is down the thread retries every few seconds and
 * says so once in the log; creates then empty the pool and fail with EIO
 * (filekms.c), never wait.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filekms_int.h"
#include "log.h"
#include "secmem.h"

#define RETRY_S 3

struct pool_entry {
	uint8_t dk[KEYS_DK_LEN];
	struct format_header h;
};

struct filekms_pool {
	struct filekms *f;
	pthread_mutex_t mu;              /* guards everything below */
	pthread_cond_t cv;
	unsigned cap, low, n;
	int filling, stop;
	struct pool_entry *e;            /* secmem: cap entries, n in use */
	struct pool_entry *scratch;      /* secmem: the thread's one in flight */
	pthread_t thread;
};

int filekms_pool_take(struct filekms_pool *p, uint8_t dk[KEYS_DK_LEN], struct format_header *h)
{
	int ret = -ENOENT;

	pthread_mutex_lock(&p->mu);
	if (p->n > 0 && !atomic_load(&p->f->evicted)) {
		struct pool_entry *e = &p->e[--p->n];

		memcpy(dk, e->dk, KEYS_DK_LEN);
		*h = e->h;
		secmem_wipe(e, sizeof(*e));
		ret = 0;
	}
	if (p->n <= p->low && !p->filling) {
		p->filling = 1;
		pthread_cond_signal(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return ret;
}

void filekms_pool_clear(struct filekms_pool *p)
{
	pthread_mutex_lock(&p->mu);
	secmem_wipe(p->e, (size_t)p->cap * sizeof(*p->e));
	p->n = 0;
	p->filling = 1;
	pthread_mutex_unlock(&p->mu);
}

void filekms_pool_wake(struct filekms_pool *p)
{
	pthread_mutex_lock(&p->mu);
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static void wait_retry(struct filekms_pool *p)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += RETRY_S;
	(void)pthread_cond_timedwait(&p->cv, &p->mu, &ts);
}

/* One key into the pool; called and returns with mu held, drops it to wrap. */
static void fill_one(struct filekms_pool *p, int *down)
{
	struct filekms *f = p->f;
	int ret;

	pthread_mutex_unlock(&p->mu);
	ret = filekms_wrap_fresh(f, f->cipher, NULL, p->scratch->dk, &p->scratch->h);
	pthread_mutex_lock(&p->mu);
	if (ret) {
		if (!*down && ret != -EACCES)
			log_msg(LOG_WARNING, "per-file KMS: cannot pre-wrap keys for new files "
				"(%s); creates fail with EIO once the %u ready keys are used",
				strerror(-ret), p->n);
		*down = ret != -EACCES;
		wait_retry(p);
		return;
	}
	if (*down)
		log_msg(LOG_NOTICE, "per-file KMS: the KMS wraps keys again");
	*down = 0;
	/* Evicted meanwhile: fk_evict cleared under mu, this key must not stay. */
	if (!atomic_load(&f->evicted) && p->n < p->cap)
		p->e[p->n++] = *p->scratch;
	secmem_wipe(p->scratch, sizeof(*p->scratch));
}

static void *pool_thread(void *arg)
{
	struct filekms_pool *p = arg;
	int down = 0;

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		if (atomic_load(&p->f->evicted) || !p->filling || p->n >= p->cap) {
			p->filling = p->n < p->cap && p->filling;
			pthread_cond_wait(&p->cv, &p->mu);
			continue;
		}
		fill_one(p, &down);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int filekms_pool_start(struct filekms *f, unsigned n)
{
	struct filekms_pool *p;
	int ret;

	if (!f || f->pool || !n)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->f = f;
	p->cap = n;
	p->low = n / 4;
	p->filling = 1;
	p->e = secmem_alloc((size_t)n * sizeof(*p->e));
	p->scratch = secmem_alloc(sizeof(*p->scratch));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	ret = p->e && p->scratch ? -pthread_create(&p->thread, NULL, pool_thread, p) : -ENOMEM;
	if (ret) {
		secmem_free(p->e);
		secmem_free(p->scratch);
		free(p);
		return ret;
	}
	f->pool = p;
	return 0;
}

void filekms_pool_stop(struct filekms *f)
{
	struct filekms_pool *p = f ? f->pool : NULL;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	f->pool = NULL;
	secmem_free(p->e);        /* wipes */
	secmem_free(p->scratch);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
