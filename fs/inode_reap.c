/*
 * inode_reap.c: giving a deleted file's backing space back without making the
 * unlink wait for it (docs/OPERATIONS.md "When the backing store fails").
 *
 * When an unlink (or a rename over a file) removes a backing file's last link
 * while no handle has it open, the node's O_PATH fd still holds the inode and
 * its blocks. Usually the kernel forgets the node within milliseconds and
 * closing the fd frees them; but a process that keeps the inode referenced
 * (an O_PATH descriptor, a pending lookup) can delay that indefinitely. So the
 * unlink hands the node, with one lookup reference of its own, to this reaper
 * thread: INODE_REAP_DELAY_MS later, if the kernel has forgotten the node by
 * then, dropping the reference closes the fd and that is all (the rm -rf
 * case: no extra syscall on the unlink's path); otherwise the data blocks are
 * cut away now (inode_release_space) and the reference dropped.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "inode.h"

#define INODE_REAP_DELAY_MS 500

struct reap_ent {
	struct inode *i;
	uint64_t due_ms;
	struct reap_ent *next;
};

struct inode_reaper {
	pthread_mutex_t lock;            /* guards the list and stop */
	pthread_cond_t cond;
	struct reap_ent *head, *tail;
	int stop;
	pthread_t thread;
	struct inode_table *t;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The node's only reference is ours: the kernel has forgotten it. */
static int kernel_forgot(struct inode_table *t, struct inode *i)
{
	int only_ours;

	pthread_mutex_lock(&t->lock);
	only_ours = i->nlookup == 1;
	pthread_mutex_unlock(&t->lock);
	return only_ours;
}

static void reap_one(struct inode_table *t, struct inode *i)
{
	int release;

	pthread_mutex_lock(&i->lock);
	release = i->unlinked && !i->nopen;
	pthread_mutex_unlock(&i->lock);
	if (release && !kernel_forgot(t, i))
		inode_release_space(i);
	inode_forget(t, i, 1);
}

static void wait_until(struct inode_reaper *r, uint64_t due_ms)
{
	struct timespec ts = { .tv_sec = (time_t)(due_ms / 1000),
			       .tv_nsec = (long)(due_ms % 1000) * 1000000L };

	pthread_cond_timedwait(&r->cond, &r->lock, &ts);
}

static void *reaper_main(void *arg)
{
	struct inode_reaper *r = arg;

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		struct reap_ent *e = r->head;

		if (!e) {
			pthread_cond_wait(&r->cond, &r->lock);
			continue;
		}
		if (mono_ms() < e->due_ms) {
			wait_until(r, e->due_ms);
			continue;
		}
		r->head = e->next;
		if (!r->head)
			r->tail = NULL;
		pthread_mutex_unlock(&r->lock);
		reap_one(r->t, e->i);
		free(e);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static struct inode_reaper *reaper_start(struct inode_table *t)
{
	struct inode_reaper *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;

	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);
	r->t = t;
	if (pthread_create(&r->thread, NULL, reaper_main, r) != 0) {
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return NULL;
	}
	return r;
}

void inode_reap_later(struct inode_table *t, struct inode *i)
{
	struct reap_ent *e = malloc(sizeof(*e));
	struct inode_reaper *r;

	pthread_mutex_lock(&t->lock);
	if (!t->reaper)
		t->reaper = reaper_start(t);
	r = t->reaper;
	pthread_mutex_unlock(&t->lock);
	if (!e || !r) {
		/* No thread: do it now rather than not at all. */
		free(e);
		reap_one(t, i);
		return;
	}
	e->i = i;
	e->due_ms = mono_ms() + INODE_REAP_DELAY_MS;
	e->next = NULL;
	pthread_mutex_lock(&r->lock);
	if (r->tail)
		r->tail->next = e;
	else
		r->head = e;
	r->tail = e;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

void inode_reap_stop(struct inode_table *t)
{
	struct inode_reaper *r = t->reaper;
	struct reap_ent *e;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	/* The table is going away with every node: drop the references only. */
	while ((e = r->head)) {
		r->head = e->next;
		inode_forget(t, e->i, 1);
		free(e);
	}
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
	t->reaper = NULL;
}
