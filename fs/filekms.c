/*
 * filekms.c: per-file KMS mode (filekms.h; docs/FORMAT.md §3.3, §4.4). The
 * volume's data-key wrapper: a new file's DK is wrapped by the KMS under the
 * §4.4 AAD (volume id ‖ file id ‖ cipher, so a wrapped key moved to another
 * file or volume does not unwrap), the compact blob goes into the header, and
 * the header's bytes 24..27 name the KEK through the config's KEK table.
 *
 * Owns the KMS handle for file keys (one mutex: provider handles are not
 * thread-safe, and holding it across "look in the cache, else unwrap" makes
 * concurrent opens of one file unwrap once). It does not own the pool's
 * thread (filekms_pool.c) or the cache's layout (filekms_cache.c), and it
 * never touches VKs: names, xattrs and the config MAC stay under the volume
 * key as in wrap mode 1.
 *
 * Errors: a blob the KMS refuses (wrong KEK, moved or tampered) is -EBADMSG,
 * like a bad header; the KMS unreachable or failing is -EIO with a log line
 * naming the KMS (never a name or path); keys evicted (`phifs lock`) -EACCES.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filekms_int.h"
#include "log.h"
#include "secmem.h"
#include "volume.h"

#define AAD_PREFIX "phifs/v1/file-key"
#define AAD_PREFIX_LEN (sizeof(AAD_PREFIX) - 1)
_Static_assert(AAD_PREFIX_LEN + 2 * FORMAT_ID_LEN + 1 == FILEKMS_AAD_LEN, "FORMAT.md §4.4 AAD");

/* ---- §4.4 bytes -------------------------------------------------------- */

int filekms_blob_decode(const uint8_t *wrapped, size_t len, const uint8_t **body,
			size_t *body_len)
{
	if (len < 2 || len > FORMAT_HEADER_WRAPPED_MAX || wrapped[0] != FILEKMS_BLOB_FORMAT)
		return -EBADMSG;
	*body = wrapped + 1;
	*body_len = len - 1;
	return 0;
}

int filekms_blob_encode(const uint8_t *body, size_t body_len, uint8_t *wrapped, size_t cap,
			uint16_t *len)
{
	if (body_len < 1 || 1 + body_len > FORMAT_HEADER_WRAPPED_MAX || 1 + body_len > cap)
		return -EMSGSIZE;
	wrapped[0] = FILEKMS_BLOB_FORMAT;
	memcpy(wrapped + 1, body, body_len);
	*len = (uint16_t)(1 + body_len);
	return 0;
}

size_t filekms_aad(const uint8_t volume_id[FORMAT_ID_LEN], const uint8_t file_id[FORMAT_ID_LEN],
		   uint8_t cipher, uint8_t out[FILEKMS_AAD_LEN])
{
	memcpy(out, AAD_PREFIX, AAD_PREFIX_LEN);
	memcpy(out + AAD_PREFIX_LEN, volume_id, FORMAT_ID_LEN);
	memcpy(out + AAD_PREFIX_LEN + FORMAT_ID_LEN, file_id, FORMAT_ID_LEN);
	out[AAD_PREFIX_LEN + 2 * FORMAT_ID_LEN] = cipher;
	return FILEKMS_AAD_LEN;
}

/* ---- the KMS handle ---------------------------------------------------- */

/* The URI up to its query (a KMIP URI's query names certificate files). */
static const char *shown(const struct filekms *f, char *buf, size_t cap)
{
	size_t n = strcspn(f->uri, "?");

	snprintf(buf, cap, "%.*s", (int)(n < cap ? n : cap - 1), f->uri);
	return buf;
}

/* Caller holds kms_mu. The volume's handle, opened on first use. */
static int kms_get(struct filekms *f, struct kms **out)
{
	static const struct kms_opts no_opts;
	int ret;

	if (atomic_load(&f->evicted))
		return -EACCES;
	if (!f->kms) {
		ret = kms_open(f->uri, &no_opts, &f->kms);
		if (ret)
			return ret;
	}
	*out = f->kms;
	return 0;
}

static const struct format_kek *kek_by_ref(const struct filekms *f, uint32_t ref)
{
	for (unsigned i = 0; i < f->n_keks; i++)
		if (f->keks[i].ref == ref)
			return &f->keks[i];
	return NULL;
}

static const struct format_kek *kek_by_id(const struct filekms *f, const char *id)
{
	for (unsigned i = 0; i < f->n_keks; i++)
		if (!strcmp(f->keks[i].id, id))
			return &f->keks[i];
	return NULL;
}

/* Caller holds kms_mu: one KMS wrap of dk for h's file id into h. */
static int wrap_locked(struct filekms *f, const uint8_t *dk, struct format_header *h)
{
	uint8_t aad[FILEKMS_AAD_LEN], body[KMS_BLOB_MAX];
	size_t blen = sizeof(body);
	char kek_id[KMS_KEY_ID_MAX + 1];
	const struct format_kek *kek;
	struct kms *k = f->target;
	int ret = 0;

	if (!k)
		ret = kms_get(f, &k);
	if (ret)
		return ret;
	filekms_aad(f->volume_id, h->file_id, h->cipher, aad);
	atomic_fetch_add(&f->wraps, 1);
	ret = kms_wrap_compact(k, aad, sizeof(aad), dk, KEYS_DK_LEN, body, &blen, kek_id,
			       sizeof(kek_id));
	if (ret)
		return ret;
	if (f->target) {
		h->wrap_key_version = f->target_ref;
	} else {
		kek = kek_by_id(f, kek_id);
		if (!kek) {
			log_msg(LOG_ERR, "per-file KMS: the KMS wraps with %s, which is not in the "
				"volume's KEK table (phifs-keys rotate-kms adds it)", kek_id);
			return -ENOKEY;
		}
		h->wrap_key_version = kek->ref;
	}
	h->wrap_kind = FORMAT_WRAP_KMS;
	memset(h->wrapped, 0, sizeof(h->wrapped));
	return filekms_blob_encode(body, blen, h->wrapped, sizeof(h->wrapped), &h->wrapped_len);
}

int filekms_wrap_fresh(struct filekms *f, uint8_t cipher, const uint8_t *file_id,
		       uint8_t dk[KEYS_DK_LEN], struct format_header *h)
{
	int ret;

	memset(h, 0, sizeof(*h));
	h->cipher = cipher;
	if (file_id)
		memcpy(h->file_id, file_id, FORMAT_ID_LEN);
	ret = file_id ? 0 : keys_random_key(h->file_id, FORMAT_ID_LEN);
	if (!ret)
		ret = keys_random_key(dk, KEYS_DK_LEN);
	if (ret)
		return ret;
	pthread_mutex_lock(&f->kms_mu);
	ret = wrap_locked(f, dk, h);
	pthread_mutex_unlock(&f->kms_mu);
	if (ret)
		secmem_wipe(dk, KEYS_DK_LEN);
	return ret;
}

/* A KMS failure as the file system reports it; logged once per call. */
static int kms_failed(struct filekms *f, const char *what, int ret)
{
	char buf[256];

	if (ret == -EACCES || ret == -EBADMSG || ret == -ENOMEM)
		return ret;
	if (ret == -EKEYREJECTED)
		return -EBADMSG;
	log_msg(LOG_ERR, "per-file KMS: cannot %s a file key with KMS %s: %s", what,
		shown(f, buf, sizeof(buf)), strerror(-ret));
	return -EIO;
}

/* ---- keys.h wrapper ---------------------------------------------------- */

static int fk_wrap_new(void *ctx, uint8_t cipher, const uint8_t *file_id,
		       uint8_t dk[KEYS_DK_LEN], struct format_header *h)
{
	struct filekms *f = ctx;
	int ret;

	if (file_id || !f->pool || cipher != f->cipher || filekms_pool_take(f->pool, dk, h) != 0)
		ret = filekms_wrap_fresh(f, cipher, file_id, dk, h);
	else
		ret = 0;
	if (ret)
		return kms_failed(f, "wrap", ret);
	/* The file this mount just made opens again without asking the KMS. */
	filekms_cache_put(f->cache, h->file_id, h->wrapped, h->wrapped_len, dk);
	return 0;
}

static int fk_rewrap(void *ctx, const uint8_t dk[KEYS_DK_LEN], struct format_header *h)
{
	struct filekms *f = ctx;
	int ret;

	pthread_mutex_lock(&f->kms_mu);
	ret = wrap_locked(f, dk, h);
	pthread_mutex_unlock(&f->kms_mu);
	return ret ? kms_failed(f, "wrap", ret) : 0;
}

/* Caller holds kms_mu. */
static int unwrap_locked(struct filekms *f, const struct format_header *h, const uint8_t *body,
			 size_t blen, uint8_t dk[KEYS_DK_LEN])
{
	uint8_t aad[FILEKMS_AAD_LEN];
	const struct format_kek *kek = kek_by_ref(f, h->wrap_key_version);
	const char *tid = f->target ? kms_key_id(f->target) : NULL;
	struct kms *k = NULL;
	int ret;

	if (!kek) {
		log_msg(LOG_ERR, "per-file KMS: a header names KEK ref %u, which the volume's "
			"KEK table does not hold", h->wrap_key_version);
		return -EBADMSG;
	}
	if (tid && !strcmp(tid, kek->id))
		k = f->target;
	else if ((ret = kms_get(f, &k)) != 0)
		return ret;
	filekms_aad(f->volume_id, h->file_id, h->cipher, aad);
	atomic_fetch_add(&f->unwraps, 1);
	return kms_unwrap_compact(k, kek->id, aad, sizeof(aad), body, blen, dk, KEYS_DK_LEN);
}

static int fk_unwrap(void *ctx, const struct format_header *h, uint8_t dk[KEYS_DK_LEN])
{
	struct filekms *f = ctx;
	const uint8_t *body;
	size_t blen;
	int ret;

	ret = filekms_blob_decode(h->wrapped, h->wrapped_len, &body, &blen);
	if (ret)
		return ret;
	if (filekms_cache_get(f->cache, h->file_id, h->wrapped, h->wrapped_len, dk) == 0) {
		atomic_fetch_add(&f->hits, 1);
		return 0;
	}
	pthread_mutex_lock(&f->kms_mu);
	/* Another thread may have unwrapped this file while we waited. */
	if (filekms_cache_get(f->cache, h->file_id, h->wrapped, h->wrapped_len, dk) == 0) {
		atomic_fetch_add(&f->hits, 1);
		ret = 0;
	} else {
		ret = unwrap_locked(f, h, body, blen, dk);
		if (!ret)
			filekms_cache_put(f->cache, h->file_id, h->wrapped, h->wrapped_len, dk);
	}
	pthread_mutex_unlock(&f->kms_mu);
	if (ret)
		secmem_wipe(dk, KEYS_DK_LEN);
	return ret ? kms_failed(f, "unwrap", ret) : 0;
}

/* Lock, idle timeout, end of the unlock session: every file key and the KMS
 * session go; the next open after `phifs unlock` asks the KMS again. */
static void fk_evict(void *ctx)
{
	struct filekms *f = ctx;

	atomic_store(&f->evicted, 1);
	pthread_mutex_lock(&f->kms_mu);
	kms_close(f->kms);
	f->kms = NULL;
	pthread_mutex_unlock(&f->kms_mu);
	filekms_cache_clear(f->cache);
	if (f->pool)
		filekms_pool_clear(f->pool);
}

static void fk_restore(void *ctx)
{
	struct filekms *f = ctx;

	atomic_store(&f->evicted, 0);
	if (f->pool)
		filekms_pool_wake(f->pool);
}

static const struct keys_dk_wrapper fk_ops = {
	.wrap_new = fk_wrap_new,
	.unwrap = fk_unwrap,
	.rewrap = fk_rewrap,
	.evict = fk_evict,
	.restore = fk_restore,
};

/* ---- lifecycle --------------------------------------------------------- */

void filekms_set_keks(struct filekms *f, const struct format_config *cfg)
{
	pthread_mutex_lock(&f->kms_mu);
	f->n_keks = cfg->n_keks <= FORMAT_MAX_KEKS ? cfg->n_keks : FORMAT_MAX_KEKS;
	memcpy(f->keks, cfg->keks, sizeof(f->keks));
	pthread_mutex_unlock(&f->kms_mu);
}

int filekms_attach(struct volume *v, const char *uri)
{
	struct filekms *f;
	int ret;

	if (v->cfg->wrap_mode != FORMAT_WRAP_KMS)
		return 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	pthread_mutex_init(&f->kms_mu, NULL);
	snprintf(f->uri, sizeof(f->uri), "%s", uri ? uri : v->cfg->kms_uri);
	memcpy(f->volume_id, v->cfg->volume_id, FORMAT_ID_LEN);
	f->cipher = v->cipher;
	filekms_set_keks(f, v->cfg);
	ret = filekms_cache_new(FILEKMS_CACHE_DEFAULT, &f->cache);
	if (ret) {
		filekms_free(f);
		return ret;
	}
	keys_volume_set_dk_wrapper(v->keys, &fk_ops, f);
	v->filekms = f;
	return 0;
}

void filekms_free(struct filekms *f)
{
	if (!f)
		return;
	filekms_pool_stop(f);
	kms_close(f->kms);
	filekms_cache_free(f->cache);
	pthread_mutex_destroy(&f->kms_mu);
	free(f);
}

void filekms_set_target(struct filekms *f, struct kms *k, uint32_t ref)
{
	pthread_mutex_lock(&f->kms_mu);
	f->target = k;
	f->target_ref = ref;
	pthread_mutex_unlock(&f->kms_mu);
}

unsigned long filekms_wraps(const struct filekms *f)
{
	return f ? atomic_load(&f->wraps) : 0;
}

unsigned long filekms_unwraps(const struct filekms *f)
{
	return f ? atomic_load(&f->unwraps) : 0;
}

unsigned long filekms_cache_hits(const struct filekms *f)
{
	return f ? atomic_load(&f->hits) : 0;
}
