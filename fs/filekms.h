/*
 * filekms.h: per-file KMS mode (docs/FORMAT.md §3.3, §4.4; docs/OPERATIONS.md
 * "Per-file KMS mode"). Each file's data key is wrapped by the KMS itself, so
 * the KMS's own log shows every file's key use. filekms.c is the volume's
 * data-key wrapper (keys.h struct keys_dk_wrapper): it owns the KMS handle
 * used for file keys, the unwrapped-key cache (filekms_cache.c) and, in the
 * daemon, the pool of pre-wrapped keys for creates (filekms_pool.c).
 */
#ifndef PHIFS_FILEKMS_H
#define PHIFS_FILEKMS_H

#include <stddef.h>
#include <stdint.h>
#include "format.h"
#include "kms.h"

struct volume;
struct filekms;

#define FILEKMS_BLOB_FORMAT 1      /* §4.4: wrapped[0] */
#define FILEKMS_AAD_LEN 50         /* §4.4: the file-key prefix, volume id, file id, cipher */
#define FILEKMS_CACHE_DEFAULT 4096 /* unwrapped keys kept (entries) */
#define FILEKMS_POOL_DEFAULT 32    /* pre-wrapped keys kept ready */

/* §4.4 wrapped field: format ‖ the provider's compact blob (kms_wrap_compact).
 * decode: 0 with body and body_len pointing into `wrapped`, or -EBADMSG. */
int filekms_blob_decode(const uint8_t *wrapped, size_t len, const uint8_t **body,
			size_t *body_len);
/* -EMSGSIZE when the compact blob does not fit the header's 96 bytes. */
int filekms_blob_encode(const uint8_t *body, size_t body_len, uint8_t *wrapped, size_t cap,
			uint16_t *len);
/* The §4.4 AAD; returns FILEKMS_AAD_LEN. */
size_t filekms_aad(const uint8_t volume_id[FORMAT_ID_LEN], const uint8_t file_id[FORMAT_ID_LEN],
		   uint8_t cipher, uint8_t out[FILEKMS_AAD_LEN]);

/* Installs the per-file wrapper on an opened volume of wrap mode 2 (a no-op
 * for mode 1). uri: the KMS to open when a file key is first needed (NULL:
 * the config's). The handle opens lazily: tools that touch no file never
 * reach the KMS for files. */
int filekms_attach(struct volume *v, const char *uri);
void filekms_free(struct filekms *f);
/* The daemon: keep n pre-wrapped keys ready (a background thread refills at
 * n/4); unwrapped-key cache of `cache` entries (0: default). */
int filekms_pool_start(struct filekms *f, unsigned n);
void filekms_pool_stop(struct filekms *f);
/* rotate-kms: new wraps go to k (borrowed) under table entry ref; unwraps of
 * blobs naming k's KEK use k too. k NULL: back to the volume's KMS. */
void filekms_set_target(struct filekms *f, struct kms *k, uint32_t ref);
/* The KEK table changed (rotate-kms wrote the config): copy it again. */
void filekms_set_keks(struct filekms *f, const struct format_config *cfg);
/* KMS wraps and unwraps of file keys, and cache hits, since attach. */
unsigned long filekms_wraps(const struct filekms *f);
unsigned long filekms_unwraps(const struct filekms *f);
unsigned long filekms_cache_hits(const struct filekms *f);

#endif
