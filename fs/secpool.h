/*
 * secpool.h: small secret objects (per-file keys) carved from locked,
 * no-dump chunks of secmem, so that opening a file costs no mmap/mprotect
 * (see secpool.c for the trade-off).
 */
#ifndef PHIFS_SECPOOL_H
#define PHIFS_SECPOOL_H

#include <stddef.h>

#define SECPOOL_SLOT 256   /* largest object */

/* A zeroed slot of at least len bytes (len <= SECPOOL_SLOT), or NULL. */
void *secpool_alloc(size_t len);
/* Wipes the slot and returns it to the pool; takes NULL. */
void secpool_free(void *p);

#endif
