/*
 * audit_pool.c: recycles the audit trail's per-event blocks (captured
 * events and their path copies, audit_pend.c; the writer keeps its queue
 * entries on a list of its own, under the queue's lock).
 *
 * Why not malloc(3): a FUSE thread allocates each block and the audit writer
 * thread frees it. glibc serves a thread from its own arena and a block
 * freed by another thread goes back to that arena under its lock, so every
 * event paid the slow paths of both calls (malloc, _int_free and
 * malloc_consolidate were a third of the audit trail's CPU in an untar,
 * docs/PERFORMANCE.md "Audit cost"). A list under one mutex, held for two
 * pointer moves, is cheaper. Blocks never go back to the system while the
 * list is below its maximum; audit_pool_drain frees them at unmount.
 */
#include "config.h"

#include <stdlib.h>

#include "audit_pool.h"

void *audit_pool_get(struct audit_pool *pool)
{
	void *b;

	pthread_mutex_lock(&pool->lock);
	b = pool->free;
	if (b) {
		pool->free = *(void **)b;
		pool->n--;
	}
	pthread_mutex_unlock(&pool->lock);
	return b ? b : malloc(pool->size);
}

void audit_pool_put(struct audit_pool *pool, void *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&pool->lock);
	if (!AUDIT_POOL_SANITIZED && pool->n < pool->max) {
		*(void **)b = pool->free;
		pool->free = b;
		pool->n++;
		b = NULL;
	}
	pthread_mutex_unlock(&pool->lock);
	free(b);
}

void audit_pool_drain(struct audit_pool *pool)
{
	void *b;

	pthread_mutex_lock(&pool->lock);
	b = pool->free;
	pool->free = NULL;
	pool->n = 0;
	pthread_mutex_unlock(&pool->lock);
	while (b) {
		void *next = *(void **)b;

		free(b);
		b = next;
	}
}
