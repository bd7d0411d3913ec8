/*
 * secpool.c: a free list of fixed 256-byte slots inside 64 KiB chunks from
 * secmem_alloc (mlocked, excluded from core dumps, guard pages around each
 * chunk). Every file open needs a keys_file; one sodium_malloc per open costs
 * an mmap, three mprotects and an mlock, whose TLB shootdowns dominated the
 * cost of reading many small files. The trade-off: slots of one chunk have no
 * guard pages between them — an overflow of one key object could reach a
 * neighbour, where sodium_malloc would have trapped it. keys_file is
 * fixed-size and written only by keys.c, so that risk is small; every slot is
 * wiped on free. Chunks are kept for the process's life (bounded by the peak
 * number of open files) and released, wiped, by sodium at exit with the process.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "secmem.h"
#include "secpool.h"

#define SECPOOL_CHUNK (64u * 1024u)

union slot {
	union slot *next;              /* while free */
	uint8_t bytes[SECPOOL_SLOT];
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static union slot *free_list;

/* Adds one chunk's slots to the free list; caller holds pool_lock. */
static int secpool_grow(void)
{
	union slot *chunk = secmem_alloc(SECPOOL_CHUNK);
	size_t n = SECPOOL_CHUNK / sizeof(union slot);

	if (!chunk)
		return -1;
	for (size_t i = 0; i < n; i++) {
		chunk[i].next = free_list;
		free_list = &chunk[i];
	}
	return 0;
}

void *secpool_alloc(size_t len)
{
	union slot *s = NULL;

	if (len > SECPOOL_SLOT)
		return NULL;
	pthread_mutex_lock(&pool_lock);
	if (free_list || secpool_grow() == 0) {
		s = free_list;
		free_list = s->next;
	}
	pthread_mutex_unlock(&pool_lock);
	if (s)
		memset(s, 0, sizeof(*s));
	return s;
}

void secpool_free(void *p)
{
	union slot *s = p;

	if (!s)
		return;
	secmem_wipe(s, sizeof(*s));
	pthread_mutex_lock(&pool_lock);
	s->next = free_list;
	free_list = s;
	pthread_mutex_unlock(&pool_lock);
}
