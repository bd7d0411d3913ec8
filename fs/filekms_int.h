/*
 * filekms_int.h: what filekms.c and filekms_pool.c share; not used elsewhere.
 * Lock order: pool mu → kms_mu (the pool thread wraps under kms_mu, never
 * holding the pool's mutex meanwhile); the cache's mutex is a leaf.
 */
#ifndef PHIFS_FILEKMS_INT_H
#define PHIFS_FILEKMS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include "filekms.h"
#include "filekms_cache.h"
#include "keys.h"

struct filekms_pool;

struct filekms {
	pthread_mutex_t kms_mu;          /* serializes every KMS call; guards kms, target */
	struct kms *kms;                 /* the volume's KMS, opened lazily; NULL when evicted */
	struct kms *target;              /* rotate-kms: wraps go here (borrowed), else NULL */
	uint32_t target_ref;
	char uri[FORMAT_MAX_URI + 1];
	uint8_t volume_id[FORMAT_ID_LEN];
	uint8_t cipher;
	uint16_t n_keks;                 /* copy of the config's table (§3.3), under kms_mu */
	struct format_kek keks[FORMAT_MAX_KEKS];
	struct filekms_cache *cache;
	struct filekms_pool *pool;       /* daemon only */
	atomic_int evicted;              /* keys wiped (lock/idle): no KMS call until restore */
	atomic_ulong wraps, unwraps, hits; /* KMS calls for file keys; cache hits */
	atomic_int warned_down;          /* one log line per outage, not one per create */
};

/* A fresh data key wrapped by the KMS for file_id (NULL: a random id) into
 * h (file_id, wrap kind 2, KEK ref, wrapped). -EIO (logged, naming the KMS)
 * when the KMS cannot wrap. */
int filekms_wrap_fresh(struct filekms *f, uint8_t cipher, const uint8_t *file_id,
		       uint8_t dk[KEYS_DK_LEN], struct format_header *h);
/* Pool: a pre-wrapped key (0) or -ENOENT when empty. */
int filekms_pool_take(struct filekms_pool *p, uint8_t dk[KEYS_DK_LEN], struct format_header *h);
void filekms_pool_clear(struct filekms_pool *p);
void filekms_pool_wake(struct filekms_pool *p);

#endif
