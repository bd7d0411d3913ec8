/*
 * audit_writer.c: the one thread that writes the daemon's audit records, and
 * the failure policy of issue 4 ("Sinks and failure policy"; docs/OPERATIONS.md
 * "Audit"). FUSE threads put records on a bounded queue (AUDIT_QUEUE_MAX);
 * the writer drains it in batches into audit_log_append and makes them
 * durable with audit_log_sync (batched, at least once a second).
 *
 * When a record cannot be appended or synced, or the queue overflows: with
 * audit_on_failure=deny the gate refuses new opens and namespace changes
 * (audit_writer_gate → EIO) and the writer keeps the record and retries each
 * second; with =continue the record is dropped and counted. Either way an
 * "audit-gap" record (lost, refused, since, until) is written first when the
 * sink recovers, and the daemon log says so (counts only, never PHI).
 * Records marked keep (handle summaries) are never dropped for a full queue.
 * FUSE threads may also queue a captured event (an item) instead of a
 * record: the writer has audit.c's callback build its record just before it
 * is appended, in queue order, off the FUSE threads.
 * It knows no event format (audit.c and audit_pend.c do) nor FUSE.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "audit_line.h"
#include "audit_log.h"
#include "audit_pool.h"
#include "audit_rec.h"
#include "audit_writer.h"
#include "log.h"

#define AUDIT_RETRY_MS 1000           /* deny mode: retry of a failing sink */
#define AUDIT_BATCH_MS 10             /* the writer lets a batch form: ≤ 100 wakeups/s */

struct qent {
	struct json_object *rec;          /* a built record, or NULL with item */
	void *item;                       /* a captured event: build() makes its record */
	struct qent *next;
};

struct audit_writer {
	struct audit_log *log;
	int cont;                         /* audit_on_failure=continue */
	uint8_t volume_id[FORMAT_ID_LEN];
	unsigned interval_s;              /* interim summaries */
	void (*interim)(void *arg);
	int (*build)(void *arg, void *item, char time[40], struct audit_line *out);
	void (*drop)(void *item);
	void *arg;
	pthread_t thread;
	int started;

	pthread_mutex_t lock;             /* guards the queue, lost, since, stopping */
	pthread_cond_t cond;
	struct qent *head, *tail;
	size_t n;                         /* also read unlocked by the gate */
	uint64_t gen;                     /* batches taken: a ticket of this gen is queued */
	struct qent *qfree;               /* written entries, for reuse: a FUSE thread
					   * allocates an entry and the writer frees it,
					   * which malloc(3) does slowly (audit_pool.c) */
	int stopping;
	uint64_t lost;                    /* records dropped since the last gap record */
	struct timespec since;            /* first failure or drop since then */
	int have_since;

	int blocked;                      /* atomic: the gate refuses (deny mode) */
	uint64_t refused;                 /* atomic: operations refused meanwhile */

	int failing;                      /* writer thread only */
	int dirty;                        /* writer: appended since the last sync */
	struct timespec last_sync, last_interim;   /* writer; CLOCK_MONOTONIC */
	struct audit_line line;           /* writer: an item's record text (reused) */
	char line_time[40];               /* writer: its time */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void note_since(struct audit_writer *w)
{
	if (!w->have_since) {
		clock_gettime(CLOCK_REALTIME, &w->since);
		w->have_since = 1;
	}
}

/* A record that will not be written: counted for the gap record; under
 * deny the gate closes until that record is written. */
static void count_lost(struct audit_writer *w)
{
	pthread_mutex_lock(&w->lock);
	w->lost++;
	note_since(w);
	if (!w->cont)
		__atomic_store_n(&w->blocked, 1, __ATOMIC_RELAXED);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* keep: a handle summary, never dropped for a full queue. Once this returns
 * with the entry linked in, the record is "accepted" (deny mode's
 * condition for acknowledging the operation). t (may be NULL): names it. */
static void put(struct audit_writer *w, struct json_object *rec, void *item, int keep,
		struct audit_writer_ticket *t)
{
	struct qent *e;

	if (t)
		t->entry = NULL;
	if (!rec && !item)
		goto lost;
	pthread_mutex_lock(&w->lock);
	if (!keep && w->n >= AUDIT_QUEUE_MAX) {
		pthread_mutex_unlock(&w->lock);
		goto lost;
	}
	e = w->qfree;
	if (e) {
		w->qfree = e->next;
	} else {
		pthread_mutex_unlock(&w->lock);
		e = malloc(sizeof(*e));
		if (!e)
			goto lost;
		pthread_mutex_lock(&w->lock);
		if (!keep && w->n >= AUDIT_QUEUE_MAX) {   /* filled meanwhile */
			pthread_mutex_unlock(&w->lock);
			free(e);
			goto lost;
		}
	}
	e->rec = rec;
	e->item = item;
	e->next = NULL;
	if (w->tail)
		w->tail->next = e;
	else
		w->head = e;
	w->tail = e;
	if (t) {
		t->entry = e;
		t->gen = w->gen;
	}
	__atomic_store_n(&w->n, w->n + 1, __ATOMIC_RELAXED);
	/* Only the first record wakes the writer (a context switch per record
	 * would cost more than the record); the rest join its batch. */
	if (w->n == 1)
		pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return;
lost:
	json_object_put(rec);
	if (item)
		w->drop(item);
	count_lost(w);
}

void audit_writer_put(struct audit_writer *w, struct json_object *rec, int keep)
{
	put(w, rec, NULL, keep, NULL);
}

void audit_writer_put_item(struct audit_writer *w, void *item, int keep)
{
	put(w, NULL, item, keep, NULL);
}

void audit_writer_put_item_t(struct audit_writer *w, void *item, int keep,
			     struct audit_writer_ticket *t)
{
	put(w, NULL, item, keep, t);
}

int audit_writer_join(struct audit_writer *w, int (*join)(void *item, void *arg), void *arg)
{
	int joined = 0;

	pthread_mutex_lock(&w->lock);
	if (w->tail && w->tail->item)
		joined = join(w->tail->item, arg);
	pthread_mutex_unlock(&w->lock);
	return joined;
}

/* An entry of the current gen has not been taken by the writer, so it is
 * neither written nor recycled: still the item it was at put. */
int audit_writer_join_ticket(struct audit_writer *w, const struct audit_writer_ticket *t,
			     int (*join)(void *item, void *arg), void *arg)
{
	int joined = 0;

	if (!t->entry)
		return 0;
	pthread_mutex_lock(&w->lock);
	if (t->gen == w->gen)
		joined = join(((struct qent *)t->entry)->item, arg);
	pthread_mutex_unlock(&w->lock);
	return joined;
}

int audit_writer_gate(struct audit_writer *w)
{
	if (w->cont)
		return 0;
	if (!__atomic_load_n(&w->blocked, __ATOMIC_RELAXED) &&
	    __atomic_load_n(&w->n, __ATOMIC_RELAXED) < AUDIT_QUEUE_MAX)
		return 0;
	__atomic_add_fetch(&w->refused, 1, __ATOMIC_RELAXED);
	return -EIO;
}

static void note_failure(struct audit_writer *w, int err)
{
	if (w->failing)
		return;
	w->failing = 1;
	pthread_mutex_lock(&w->lock);
	note_since(w);
	pthread_mutex_unlock(&w->lock);
	if (!w->cont)
		__atomic_store_n(&w->blocked, 1, __ATOMIC_RELAXED);
	log_msg(LOG_ERR, "audit: cannot make records durable (%s): %s", strerror(-err),
		w->cont ? "operations continue, records are counted as lost"
			: "new opens and namespace changes fail with EIO until the audit sink "
			  "recovers");
}

/* The audit-gap record, then a sync: only when both worked is the gap over. */
static int recover(struct audit_writer *w)
{
	struct json_object *rec = audit_rec_new("audit-gap", w->volume_id, NULL, 0);
	uint64_t lost, refused = __atomic_load_n(&w->refused, __ATOMIC_RELAXED);
	struct timespec since, now;
	char t[40];
	int ret;

	if (!rec)
		return -ENOMEM;
	pthread_mutex_lock(&w->lock);
	lost = w->lost;
	since = w->since;
	pthread_mutex_unlock(&w->lock);
	clock_gettime(CLOCK_REALTIME, &now);
	json_object_object_add(rec, "lost", json_object_new_int64((int64_t)lost));
	json_object_object_add(rec, "refused", json_object_new_int64((int64_t)refused));
	audit_rec_time(&since, t);
	json_object_object_add(rec, "since", json_object_new_string(t));
	audit_rec_time(&now, t);
	json_object_object_add(rec, "until", json_object_new_string(t));
	ret = audit_log_append(w->log, rec);
	json_object_put(rec);
	if (!ret)
		ret = audit_log_sync(w->log);
	if (ret)
		return ret;
	pthread_mutex_lock(&w->lock);
	w->lost -= lost;
	w->have_since = w->lost > 0;
	pthread_mutex_unlock(&w->lock);
	__atomic_sub_fetch(&w->refused, refused, __ATOMIC_RELAXED);
	w->failing = 0;
	w->dirty = 0;
	__atomic_store_n(&w->blocked, 0, __ATOMIC_RELAXED);
	log_msg(LOG_NOTICE, "audit: records durable again; gap recorded (%llu lost, %llu "
		"operations refused)", (unsigned long long)lost, (unsigned long long)refused);
	return 0;
}

static int gap_pending(struct audit_writer *w)
{
	int pending;

	pthread_mutex_lock(&w->lock);
	pending = w->lost > 0;
	pthread_mutex_unlock(&w->lock);
	return w->failing || pending || __atomic_load_n(&w->refused, __ATOMIC_RELAXED) > 0;
}

static int stopping(struct audit_writer *w)
{
	int s;

	pthread_mutex_lock(&w->lock);
	s = w->stopping;
	pthread_mutex_unlock(&w->lock);
	return s;
}

static void wait_ms(struct audit_writer *w, unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->lock);
	if (!w->stopping)
		pthread_cond_timedwait(&w->cond, &w->lock, &ts);
	pthread_mutex_unlock(&w->lock);
}

/* rec, or (NULL) the item record in w->line. */
static int append(struct audit_writer *w, struct json_object *rec)
{
	if (rec)
		return audit_log_append(w->log, rec);
	return audit_log_append_members(w->log, w->line_time, w->line.buf, w->line.len);
}

/* Deny: hold the record and retry until it is written (or unmount); continue: count it. */
static void write_rec(struct audit_writer *w, struct json_object *rec)
{
	for (;;) {
		int ret = gap_pending(w) ? recover(w) : 0;

		if (!ret)
			ret = append(w, rec);
		if (!ret) {
			w->dirty = 1;
			return;
		}
		note_failure(w, ret);
		if (w->cont || stopping(w)) {
			pthread_mutex_lock(&w->lock);
			w->lost++;
			pthread_mutex_unlock(&w->lock);
			return;
		}
		wait_ms(w, AUDIT_RETRY_MS);
	}
}

static uint64_t ms_since(const struct timespec *t)
{
	uint64_t then = (uint64_t)t->tv_sec * 1000u + (uint64_t)t->tv_nsec / 1000000u;

	return mono_ms() - then;
}

/* After each batch and at least once a second: the batch written out, gaps,
 * syncs, interim summaries. */
static void tick(struct audit_writer *w)
{
	int ret = w->dirty ? audit_log_flush(w->log) : 0;

	if (ret)
		note_failure(w, ret);
	else if (gap_pending(w))
		ret = recover(w);
	else if ((w->dirty && ms_since(&w->last_sync) >= AUDIT_SYNC_MS) ||
		 ms_since(&w->last_sync) >= 1000) {
		ret = audit_log_sync(w->log);
		clock_gettime(CLOCK_MONOTONIC, &w->last_sync);
		if (!ret)
			w->dirty = 0;
	}
	if (ret)
		note_failure(w, ret);
	if (ms_since(&w->last_interim) >= w->interval_s * 1000u) {
		clock_gettime(CLOCK_MONOTONIC, &w->last_interim);
		w->interim(w->arg);
	}
}

/* The written entries of a batch back on the free list. Caller holds w->lock. */
static void recycle_locked(struct audit_writer *w, struct qent *done, struct qent *last)
{
	if (!done)
		return;
	last->next = w->qfree;
	w->qfree = done;
}

static void *writer_main(void *arg)
{
	struct audit_writer *w = arg;
	struct qent *done = NULL, *last = NULL;

	for (;;) {
		struct qent *batch;
		int stop;

		pthread_mutex_lock(&w->lock);
		recycle_locked(w, done, last);
		done = last = NULL;
		if (!w->head && !w->stopping) {
			struct timespec ts;
			uint64_t wait = w->dirty ? AUDIT_SYNC_MS : 1000, f = audit_log_flush_in(w->log);

			if (f && f < wait)
				wait = f;   /* records waiting in memory: written when due */
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_nsec += (long)wait * 1000000L;
			ts.tv_sec += ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&w->cond, &w->lock, &ts);
			if (w->head && !w->stopping) {
				struct timespec pause = { 0, AUDIT_BATCH_MS * 1000000L };

				pthread_mutex_unlock(&w->lock);
				nanosleep(&pause, NULL);
				pthread_mutex_lock(&w->lock);
			}
		}
		batch = w->head;
		w->head = w->tail = NULL;
		w->gen++;
		__atomic_store_n(&w->n, 0, __ATOMIC_RELAXED);
		stop = w->stopping;
		pthread_mutex_unlock(&w->lock);
		while (batch) {
			struct qent *next = batch->next;

			int built = 1;

			if (batch->item) {
				built = !w->build(w->arg, batch->item, w->line_time, &w->line);
				w->drop(batch->item);
			}
			if (built)
				write_rec(w, batch->rec);
			else
				count_lost(w);   /* out of memory building it */
			json_object_put(batch->rec);
			if (AUDIT_POOL_SANITIZED) {
				free(batch);
			} else {
				batch->next = done;
				done = batch;
				if (!last)
					last = batch;
			}
			batch = next;
		}
		tick(w);
		if (stop && !batch) {
			pthread_mutex_lock(&w->lock);
			recycle_locked(w, done, last);
			done = last = NULL;
			stop = !w->head;
			pthread_mutex_unlock(&w->lock);
			if (stop)
				break;
		}
	}
	return NULL;
}

/* SCHED_BATCH: the writer's wakeups do not preempt a running FUSE thread or
 * the application waiting on it (its records are throughput work, due within
 * the sync window, not on any request's path); it keeps its fair share of
 * the CPU, so it cannot starve and fill the queue. Without it (a kernel that
 * refuses) nothing changes but latency: the error is not worth a message. */
static void writer_batch_class(pthread_t t)
{
	struct sched_param sp = { .sched_priority = 0 };

	if (pthread_setschedparam(t, SCHED_BATCH, &sp))
		return;
}

static int start_thread(struct audit_writer *w)
{
	pthread_condattr_t ca;
	int ret;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	clock_gettime(CLOCK_MONOTONIC, &w->last_sync);
	w->last_interim = w->last_sync;
	ret = -pthread_create(&w->thread, NULL, writer_main, w);
	w->started = !ret;
	/* Named, so a profile or bench/audit-cpu.sh can tell its CPU time apart. */
	if (!ret)
		pthread_setname_np(w->thread, "phifs-audit");
	if (!ret)
		writer_batch_class(w->thread);
	return ret;
}

int audit_writer_room(const struct audit_writer *w)
{
	return __atomic_load_n(&w->n, __ATOMIC_RELAXED) < AUDIT_QUEUE_MAX;
}

int audit_writer_start(struct audit_log *log, const uint8_t volume_id[FORMAT_ID_LEN], int cont,
		       unsigned interval_s, const struct audit_writer_cb *cb,
		       struct audit_writer **out)
{
	struct audit_writer *w = calloc(1, sizeof(*w));
	int ret;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->log = log;
	w->cont = cont;
	memcpy(w->volume_id, volume_id, FORMAT_ID_LEN);
	w->interval_s = interval_s;
	w->interim = cb->interim;
	w->build = cb->build;
	w->drop = cb->drop;
	w->arg = cb->arg;
	pthread_mutex_init(&w->lock, NULL);
	ret = start_thread(w);
	if (ret) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return ret;
	}
	*out = w;
	return 0;
}

uint64_t audit_writer_stop(struct audit_writer *w)
{
	uint64_t lost;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		pthread_join(w->thread, NULL);
	lost = w->lost;
	while (w->qfree) {
		struct qent *e = w->qfree;

		w->qfree = e->next;
		free(e);
	}
	audit_line_free(&w->line);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return lost;
}
