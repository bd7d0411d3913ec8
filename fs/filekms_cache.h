/*
 * filekms_cache.h: the unwrapped data keys of per-file KMS mode
 * (docs/OPERATIONS.md "Per-file KMS mode"), so a file opened again needs no
 * KMS round trip. Bounded: 8-way set-associative, least recently used first
 * out within a set, keyed by file id and the exact wrapped bytes (a re-wrapped
 * or rekeyed header misses and is unwrapped again). One secmem allocation.
 * Thread-safe (one mutex; a hit copies 32 bytes under it).
 */
#ifndef PHIFS_FILEKMS_CACHE_H
#define PHIFS_FILEKMS_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include "format.h"
#include "keys.h"

struct filekms_cache;

/* entries rounded up to a multiple of the associativity. */
int filekms_cache_new(unsigned entries, struct filekms_cache **out);
void filekms_cache_free(struct filekms_cache *c);   /* wipes; takes NULL */
/* 0 with dk filled, or -ENOENT. */
int filekms_cache_get(struct filekms_cache *c, const uint8_t file_id[FORMAT_ID_LEN],
		      const uint8_t *wrapped, size_t wlen, uint8_t dk[KEYS_DK_LEN]);
void filekms_cache_put(struct filekms_cache *c, const uint8_t file_id[FORMAT_ID_LEN],
		       const uint8_t *wrapped, size_t wlen, const uint8_t dk[KEYS_DK_LEN]);
/* Wipes every entry (phifs lock, idle timeout, session end). */
void filekms_cache_clear(struct filekms_cache *c);

#endif
