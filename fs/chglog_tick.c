/*
 * chglog_tick.c: the periodic store of open files' change records
 * (docs/FORMAT.md §7.1 rule 3). Writable open files register here; one
 * thread asks each, every interval, to end its open generation (if any) the
 * way fsync does. It owns the list and the timing only: what a store is and
 * why it is safe is chglog.c's; taking the file's lock is the callback's
 * (fileio.c), which gives up after a bounded wait rather than stall the
 * thread behind one busy file.
 *
 * The list mutex is never held across a callback: the thread marks the entry
 * it works on (t_busy) and drops the mutex, and chglog_tick_del waits until
 * that mark is gone. So closing a file never waits for another file's store,
 * and a callback may block on its file's lock without any lock-order cycle
 * (writers take their file's lock, then at most this mutex, never the other
 * way round).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "chglog_tick.h"

struct chglog_tick {
	struct chglog_tick *prev, *next;     /* t_mu */
	chglog_tick_fn fn;
	void *arg;
	int64_t due;                         /* CLOCK_MONOTONIC s of the next call; t_mu */
};

static pthread_mutex_t t_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t t_cv;                  /* t_busy cleared, or stop; monotonic */
static struct chglog_tick *t_head;           /* t_mu */
static struct chglog_tick *t_busy;           /* its fn runs now, t_mu dropped; t_mu */
static unsigned t_interval = CHGLOG_TICK_DEFAULT_S;   /* s; set before the thread */
static int t_stop;                           /* t_mu */
static int t_running;                        /* start/stop only */
static pthread_t t_thread;

static int64_t now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec;
}

struct chglog_tick *chglog_tick_add(chglog_tick_fn fn, void *arg)
{
	struct chglog_tick *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->fn = fn;
	t->arg = arg;
	pthread_mutex_lock(&t_mu);
	t->due = now_s() + t_interval;
	t->next = t_head;
	if (t_head)
		t_head->prev = t;
	t_head = t;
	pthread_mutex_unlock(&t_mu);
	return t;
}

void chglog_tick_del(struct chglog_tick *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t_mu);
	while (t_busy == t)
		pthread_cond_wait(&t_cv, &t_mu);
	if (t->prev)
		t->prev->next = t->next;
	else
		t_head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&t_mu);
	free(t);
}

/* One walk over the list; called and returns with t_mu held. The entry being
 * called stays linked (del waits for it), so its next is valid afterwards. */
static int64_t walk(void)
{
	int64_t now = now_s(), next = now + t_interval;

	for (struct chglog_tick *t = t_head; t && !t_stop; t = t->next) {
		if (t->due <= now) {
			int ret;

			t_busy = t;
			pthread_mutex_unlock(&t_mu);
			ret = t->fn(t->arg);
			pthread_mutex_lock(&t_mu);
			t_busy = NULL;
			pthread_cond_broadcast(&t_cv);
			t->due = now_s() + (ret == -EAGAIN ? CHGLOG_TICK_RETRY_S : t_interval);
		}
		if (t->due < next)
			next = t->due;
	}
	return next;
}

static void *ticker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&t_mu);
	while (!t_stop) {
		struct timespec until = { .tv_sec = (time_t)walk() };

		if (!t_stop)
			pthread_cond_timedwait(&t_cv, &t_mu, &until);
	}
	pthread_mutex_unlock(&t_mu);
	return NULL;
}

int chglog_tick_start(unsigned interval_s)
{
	pthread_condattr_t ca;
	int ret;

	if (t_running || !interval_s)
		return -EINVAL;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	ret = -pthread_cond_init(&t_cv, &ca);
	pthread_condattr_destroy(&ca);
	if (ret)
		return ret;
	pthread_mutex_lock(&t_mu);
	t_interval = interval_s;
	t_stop = 0;
	for (struct chglog_tick *t = t_head; t; t = t->next)
		t->due = now_s() + interval_s;
	pthread_mutex_unlock(&t_mu);
	ret = -pthread_create(&t_thread, NULL, ticker, NULL);
	if (ret) {
		pthread_cond_destroy(&t_cv);
		return ret;
	}
	t_running = 1;
	return 0;
}

void chglog_tick_stop(void)
{
	if (!t_running)
		return;
	pthread_mutex_lock(&t_mu);
	t_stop = 1;
	pthread_cond_broadcast(&t_cv);
	pthread_mutex_unlock(&t_mu);
	pthread_join(t_thread, NULL);
	pthread_cond_destroy(&t_cv);
	t_running = 0;
}
