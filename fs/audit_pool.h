/*
 * audit_pool.h: a free list of fixed-size blocks for the audit trail's
 * per-event allocations (see audit_pool.c).
 */
#ifndef PHIFS_AUDIT_POOL_H
#define PHIFS_AUDIT_POOL_H

#include <pthread.h>
#include <stddef.h>

struct audit_pool {
	pthread_mutex_t lock;
	void *free;                    /* blocks, linked through their first bytes */
	size_t n;                      /* on the list */
	size_t size;                   /* of a block (≥ sizeof(void *)) */
	size_t max;                    /* kept at most; the rest go back to free(3) */
};

/* Under AddressSanitizer every block goes back to free(3) at once, so that
 * a use after the give-back is still caught (make check's second build). */
#if defined(__SANITIZE_ADDRESS__)
#define AUDIT_POOL_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AUDIT_POOL_SANITIZED 1
#endif
#endif
#ifndef AUDIT_POOL_SANITIZED
#define AUDIT_POOL_SANITIZED 0
#endif

/* A static pool of blocks of SIZE bytes, keeping at most MAX. */
#define AUDIT_POOL_INIT(SIZE, MAX) \
	{ PTHREAD_MUTEX_INITIALIZER, NULL, 0, (SIZE), (MAX) }

/* A block of pool->size bytes, contents undefined; NULL when out of memory. */
void *audit_pool_get(struct audit_pool *pool);
/* Gives b (from audit_pool_get, or NULL) back. The caller wipes what needs it. */
void audit_pool_put(struct audit_pool *pool, void *b);
/* Frees every block on the list (at the end of auditing). */
void audit_pool_drain(struct audit_pool *pool);

#endif
