/*
 * cipher.c: the one door to OpenSSL.
 *
 * Owns every call into libcrypto: AES-256-GCM (file blocks, key wrap),
 * AES-256-XTS (length-preserving blocks), AES-256-SIV (names), HKDF and
 * HMAC-SHA256 (key derivation, config MAC), and the random source. OpenSSL
 * errors are translated here to -errno (-EBADMSG for a failed tag). It does not
 * know about files, blocks or keys' meaning (block.c, names.c, keys.c do).
 *
 * Hot path: block seal/open run on every FUSE read/write, so each thread keeps
 * its own pre-fetched EVP_CIPHER_CTX (no allocation, no implicit fetch per
 * block). See docs/FORMAT.md "Primitives".
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "cipher.h"
#include "secmem.h"

enum cipher_kind { CK_GCM, CK_XTS, CK_ECB, CK_SIV, CK_SIV128, CK_COUNT };

static const char *const cipher_names[CK_COUNT] = {
	[CK_GCM] = "AES-256-GCM",
	[CK_XTS] = "AES-256-XTS",
	[CK_ECB] = "AES-256-ECB",
	[CK_SIV] = "AES-256-SIV",
	[CK_SIV128] = "AES-128-SIV", /* RFC 5297 vectors only */
};

/* Per-thread cache: the fetched algorithm and a context to reuse. */
struct cipher_tls {
	EVP_CIPHER *alg[CK_COUNT];
	EVP_CIPHER_CTX *ctx[CK_COUNT];
	EVP_KDF *hkdf;                  /* fetched once: a fetch per call costs more than the KDF */
	EVP_MAC *hmac;
	EVP_MD *sha256;                 /* fetched once: EVP_sha256() fetches per call */
	/* The GCM context's current key and direction: consecutive blocks of one
	 * file skip the key schedule and GHASH set-up and only take a new nonce. */
	uint8_t *gcm_key;               /* secmem (the cache itself is plain heap, so leak
					 * checkers still see the OpenSSL objects it owns) */
	int gcm_state;                  /* 0 none, 1 encrypt, 2 decrypt */
};

/*
 * libfuse retires idle worker threads, so the cache is freed by a pthread key
 * destructor when its thread exits; the _Thread_local pointer is the fast path.
 */
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static _Thread_local struct cipher_tls *tls;

static void tls_free(void *p)
{
	struct cipher_tls *t = p;

	for (int k = 0; t && k < CK_COUNT; k++) {
		/* Freeing a context cleanses the key schedule it held. */
		EVP_CIPHER_CTX_free(t->ctx[k]);
		EVP_CIPHER_free(t->alg[k]);
	}
	if (t) {
		EVP_KDF_free(t->hkdf);
		EVP_MAC_free(t->hmac);
		EVP_MD_free(t->sha256);
	}
	if (t)
		secmem_free(t->gcm_key);   /* wipes the cached GCM key */
	free(t);
}

static int tls_ready;

/* The cache keeps a key in secmem, so libsodium must be set up. */
static void tls_key_make(void)
{
	tls_ready = secmem_init() == 0 && pthread_key_create(&tls_key, tls_free) == 0;
}

static struct cipher_tls *tls_get(void)
{
	if (tls)
		return tls;
	if (pthread_once(&tls_once, tls_key_make) != 0 || !tls_ready)
		return NULL;
	tls = calloc(1, sizeof(*tls));
	if (tls && !(tls->gcm_key = secmem_alloc(CIPHER_KEY_LEN))) {
		free(tls);
		tls = NULL;
	}
	if (tls && pthread_setspecific(tls_key, tls) != 0) {
		secmem_free(tls->gcm_key);
		free(tls);
		tls = NULL;
	}
	return tls;
}

static EVP_CIPHER_CTX *ctx_get(enum cipher_kind k, const EVP_CIPHER **alg)
{
	struct cipher_tls *t = tls_get();

	if (!t)
		return NULL;
	if (!t->alg[k]) {
		t->alg[k] = EVP_CIPHER_fetch(NULL, cipher_names[k], NULL);
		if (!t->alg[k])
			return NULL;
	}
	if (!t->ctx[k]) {
		t->ctx[k] = EVP_CIPHER_CTX_new();
		if (!t->ctx[k])
			return NULL;
	}
	*alg = t->alg[k];
	return t->ctx[k];
}

/* Frees this thread's cache now (tests, and threads that never exit). */
void cipher_thread_cleanup(void)
{
	if (!tls)
		return;
	if (pthread_once(&tls_once, tls_key_make) == 0)
		(void)pthread_setspecific(tls_key, NULL);
	tls_free(tls);
	tls = NULL;
}

int cipher_random(void *buf, size_t len)
{
	if (len > INT_MAX || RAND_bytes(buf, (int)len) != 1)
		return -EIO;
	return 0;
}

/*
 * Public random bytes (GCM nonces) from a per-thread pool refilled by
 * RAND_bytes 4 KiB at a time: one DRBG call per ~340 blocks instead of one
 * per block, which showed as a tenth of the daemon's CPU on sequential
 * writes. Only for values that are published anyway — never keys. The
 * child of a fork discards the pool it inherited (pthread_atfork), so parent
 * and child never hand out the same nonce.
 */
#define CIPHER_NONCE_POOL 4096

static _Thread_local struct {
	uint8_t buf[CIPHER_NONCE_POOL];
	size_t used;
} nonce_pool = { .used = CIPHER_NONCE_POOL };
static pthread_once_t nonce_once = PTHREAD_ONCE_INIT;
static int nonce_atfork_ok;

/* In the child, the only thread is the one that forked: drop its copy. */
static void nonce_pool_drop(void)
{
	secmem_wipe(nonce_pool.buf, sizeof(nonce_pool.buf));
	nonce_pool.used = CIPHER_NONCE_POOL;
}

static void nonce_atfork(void)
{
	nonce_atfork_ok = pthread_atfork(NULL, NULL, nonce_pool_drop) == 0;
}

int cipher_nonce(void *buf, size_t len)
{
	if (pthread_once(&nonce_once, nonce_atfork) != 0 || !nonce_atfork_ok ||
	    len > CIPHER_NONCE_POOL / 4)
		return cipher_random(buf, len);
	if (CIPHER_NONCE_POOL - nonce_pool.used < len) {
		if (RAND_bytes(nonce_pool.buf, CIPHER_NONCE_POOL) != 1)
			return -EIO;
		nonce_pool.used = 0;
	}
	memcpy(buf, nonce_pool.buf + nonce_pool.used, len);
	memset(nonce_pool.buf + nonce_pool.used, 0, len);   /* never handed out twice */
	nonce_pool.used += len;
	return 0;
}

/*
 * Keys the GCM context (direction 1 encrypt, 2 decrypt) and sets the nonce.
 * The key schedule is redone only when the key or direction changed; the key
 * compare is constant-time. A failure forgets the state.
 */
static int gcm_begin(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *alg, const uint8_t *key,
		     const uint8_t *nonce, int dir)
{
	struct cipher_tls *t = tls;
	int same = t->gcm_state == dir && secmem_equal(t->gcm_key, key, CIPHER_KEY_LEN);
	int ok;

	if (same)
		ok = EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, dir == 1, NULL);
	else
		ok = EVP_CipherInit_ex2(ctx, alg, key, nonce, dir == 1, NULL);
	if (ok != 1) {
		t->gcm_state = 0;
		return -EIO;
	}
	if (!same) {
		memcpy(t->gcm_key, key, CIPHER_KEY_LEN);
		t->gcm_state = dir;
	}
	return 0;
}

int cipher_gcm_seal(const uint8_t key[CIPHER_KEY_LEN], const uint8_t nonce[CIPHER_GCM_NONCE_LEN],
		    const void *aad, size_t aad_len, const void *pt, size_t len, void *ct,
		    uint8_t tag[CIPHER_GCM_TAG_LEN])
{
	const EVP_CIPHER *alg;
	EVP_CIPHER_CTX *ctx = ctx_get(CK_GCM, &alg);
	int outl, ret = -EIO;

	if (!ctx || len > INT_MAX || aad_len > INT_MAX)
		goto out;
	if (gcm_begin(ctx, alg, key, nonce, 1) != 0)
		goto out;
	if (aad_len && EVP_EncryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1)
		goto out;
	if (len && EVP_EncryptUpdate(ctx, ct, &outl, pt, (int)len) != 1)
		goto out;
	if (EVP_EncryptFinal_ex(ctx, (unsigned char *)ct + len, &outl) != 1)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CIPHER_GCM_TAG_LEN, tag) != 1)
		goto out;
	ret = 0;
out:
	return ret;
}

int cipher_gcm_open(const uint8_t key[CIPHER_KEY_LEN], const uint8_t nonce[CIPHER_GCM_NONCE_LEN],
		    const void *aad, size_t aad_len, const void *ct, size_t len,
		    const uint8_t tag[CIPHER_GCM_TAG_LEN], void *pt)
{
	const EVP_CIPHER *alg;
	EVP_CIPHER_CTX *ctx = ctx_get(CK_GCM, &alg);
	uint8_t tagbuf[CIPHER_GCM_TAG_LEN];
	int outl, ret = -EIO;

	if (!ctx || len > INT_MAX || aad_len > INT_MAX)
		goto out;
	memcpy(tagbuf, tag, sizeof(tagbuf));
	if (gcm_begin(ctx, alg, key, nonce, 2) != 0)
		goto out;
	if (aad_len && EVP_DecryptUpdate(ctx, NULL, &outl, aad, (int)aad_len) != 1)
		goto out;
	if (len && EVP_DecryptUpdate(ctx, pt, &outl, ct, (int)len) != 1)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CIPHER_GCM_TAG_LEN, tagbuf) != 1)
		goto out;
	if (EVP_DecryptFinal_ex(ctx, (unsigned char *)pt + len, &outl) != 1) {
		/* Never hand back unauthenticated plaintext. */
		if (len)
			OPENSSL_cleanse(pt, len);
		ret = -EBADMSG;
		goto out;
	}
	ret = 0;
out:
	return ret;
}

static int xts_run(const uint8_t *key, const uint8_t tweak[16], const void *in, size_t len,
		   void *out, int enc)
{
	const EVP_CIPHER *alg;
	EVP_CIPHER_CTX *ctx = ctx_get(CK_XTS, &alg);
	int outl, ret = -EIO;

	/* XTS needs at least one AES block; block.c handles shorter tails. */
	if (!ctx || len < 16 || len > INT_MAX)
		return -EINVAL;
	if (EVP_CipherInit_ex2(ctx, alg, key, tweak, enc, NULL) != 1)
		goto out;
	if (EVP_CipherUpdate(ctx, out, &outl, in, (int)len) != 1)
		goto out;
	ret = 0;
out:
	return ret;
}

int cipher_xts_encrypt(const uint8_t key[CIPHER_XTS_KEY_LEN], const uint8_t tweak[16],
		       const void *in, size_t len, void *out)
{
	return xts_run(key, tweak, in, len, out, 1);
}

int cipher_xts_decrypt(const uint8_t key[CIPHER_XTS_KEY_LEN], const uint8_t tweak[16],
		       const void *in, size_t len, void *out)
{
	return xts_run(key, tweak, in, len, out, 0);
}

int cipher_ecb_block(const uint8_t key[CIPHER_KEY_LEN], const uint8_t in[16], uint8_t out[16])
{
	const EVP_CIPHER *alg;
	EVP_CIPHER_CTX *ctx = ctx_get(CK_ECB, &alg);
	int outl, ret = -EIO;

	if (!ctx)
		goto out;
	if (EVP_EncryptInit_ex2(ctx, alg, key, NULL, NULL) != 1)
		goto out;
	if (EVP_CIPHER_CTX_set_padding(ctx, 0) != 1)
		goto out;
	if (EVP_EncryptUpdate(ctx, out, &outl, in, 16) != 1)
		goto out;
	ret = 0;
out:
	return ret;
}

/* AES-SIV (RFC 5297) in OpenSSL: AAD via update with NULL out, tag via ctrl. */
int cipher_siv_seal(const uint8_t *key, size_t key_len, const void *ad, size_t ad_len,
		    const void *pt, size_t len, uint8_t *out)
{
	const EVP_CIPHER *alg;
	EVP_CIPHER_CTX *ctx = ctx_get(key_len == 32 ? CK_SIV128 : CK_SIV, &alg);
	int outl, ret = -EIO;

	if (!ctx || len > INT_MAX || ad_len > INT_MAX || (key_len != 32 && key_len != 64))
		goto out;
	if (EVP_EncryptInit_ex2(ctx, alg, key, NULL, NULL) != 1)
		goto out;
	if (EVP_EncryptUpdate(ctx, NULL, &outl, ad, (int)ad_len) != 1)
		goto out;
	if (EVP_EncryptUpdate(ctx, out + CIPHER_SIV_TAG_LEN, &outl, pt, (int)len) != 1)
		goto out;
	if (EVP_EncryptFinal_ex(ctx, out + CIPHER_SIV_TAG_LEN + len, &outl) != 1)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, CIPHER_SIV_TAG_LEN, out) != 1)
		goto out;
	ret = 0;
out:
	return ret;
}

int cipher_siv_open(const uint8_t *key, size_t key_len, const void *ad, size_t ad_len,
		    const uint8_t *in, size_t in_len, void *pt)
{
	const EVP_CIPHER *alg;
	EVP_CIPHER_CTX *ctx = ctx_get(key_len == 32 ? CK_SIV128 : CK_SIV, &alg);
	uint8_t tag[CIPHER_SIV_TAG_LEN];
	size_t len;
	int outl, ret = -EIO;

	if (in_len < CIPHER_SIV_TAG_LEN)
		return -EBADMSG;
	len = in_len - CIPHER_SIV_TAG_LEN;
	if (!ctx || len > INT_MAX || ad_len > INT_MAX || (key_len != 32 && key_len != 64))
		goto out;
	memcpy(tag, in, sizeof(tag));
	if (EVP_DecryptInit_ex2(ctx, alg, key, NULL, NULL) != 1)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, CIPHER_SIV_TAG_LEN, tag) != 1)
		goto out;
	if (EVP_DecryptUpdate(ctx, NULL, &outl, ad, (int)ad_len) != 1)
		goto out;
	/* SIV verifies during the (single) update; failure means a bad tag. */
	if (EVP_DecryptUpdate(ctx, pt, &outl, in + CIPHER_SIV_TAG_LEN, (int)len) != 1) {
		if (len)
			OPENSSL_cleanse(pt, len);
		ret = -EBADMSG;
		goto out;
	}
	if (EVP_DecryptFinal_ex(ctx, (unsigned char *)pt + len, &outl) != 1) {
		if (len)
			OPENSSL_cleanse(pt, len);
		ret = -EBADMSG;
		goto out;
	}
	ret = 0;
out:
	return ret;
}

static EVP_KDF *hkdf_get(void)
{
	struct cipher_tls *t = tls_get();

	if (t && !t->hkdf)
		t->hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	return t ? t->hkdf : NULL;
}

static EVP_MAC *hmac_get(void)
{
	struct cipher_tls *t = tls_get();

	if (t && !t->hmac)
		t->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	return t ? t->hmac : NULL;
}

int cipher_hkdf_sha256(const void *ikm, size_t ikm_len, const void *salt, size_t salt_len,
		       const void *info, size_t info_len, void *out, size_t out_len)
{
	EVP_KDF *kdf = hkdf_get();
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[5], *p = params;
	int ret = -EIO;

	if (!kdf)
		goto out;
	kctx = EVP_KDF_CTX_new(kdf);
	if (!kctx)
		goto out;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	if (salt_len)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
							 salt_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, out_len, params) != 1)
		goto out;
	ret = 0;
out:
	EVP_KDF_CTX_free(kctx);   /* cleanses the key material it held */
	return ret;
}

/* A new HMAC-SHA256 context set up with key; NULL on failure. */
static EVP_MAC_CTX *hmac_ctx(const void *key, size_t key_len)
{
	EVP_MAC *mac = hmac_get();
	EVP_MAC_CTX *mctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[2];

	if (!mctx)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(mctx, key, key_len, params) != 1) {
		EVP_MAC_CTX_free(mctx);
		return NULL;
	}
	return mctx;
}

/* The HMAC of iov under mctx's key (set up at hmac_ctx or by a previous run). */
static int hmac_iov(EVP_MAC_CTX *mctx, const struct iovec *iov, int n, uint8_t out[CIPHER_HMAC_LEN])
{
	size_t outl = 0;

	for (int i = 0; i < n; i++)
		if (EVP_MAC_update(mctx, iov[i].iov_base, iov[i].iov_len) != 1)
			return -EIO;
	if (EVP_MAC_final(mctx, out, &outl, CIPHER_HMAC_LEN) != 1 || outl != CIPHER_HMAC_LEN)
		return -EIO;
	return 0;
}

int cipher_hmac_sha256_iov(const void *key, size_t key_len, const struct iovec *iov, int n,
			   uint8_t out[CIPHER_HMAC_LEN])
{
	EVP_MAC_CTX *mctx = hmac_ctx(key, key_len);
	int ret = mctx ? hmac_iov(mctx, iov, n, out) : -EIO;

	EVP_MAC_CTX_free(mctx);
	return ret;
}

struct cipher_hmac {
	EVP_MAC_CTX *ctx;               /* keyed; re-initialised per message with its key */
};

int cipher_hmac_new(const void *key, size_t key_len, struct cipher_hmac **out)
{
	struct cipher_hmac *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (!h)
		return -ENOMEM;
	h->ctx = hmac_ctx(key, key_len);
	if (!h->ctx) {
		free(h);
		return -EIO;
	}
	*out = h;
	return 0;
}

int cipher_hmac_run(struct cipher_hmac *h, const void *data, size_t len,
		    uint8_t out[CIPHER_HMAC_LEN])
{
	struct iovec v = { .iov_base = (void *)data, .iov_len = len };

	/* A NULL key starts a new message under the key already set. */
	if (EVP_MAC_init(h->ctx, NULL, 0, NULL) != 1)
		return -EIO;
	return hmac_iov(h->ctx, &v, 1, out);
}

void cipher_hmac_free(struct cipher_hmac *h)
{
	if (!h)
		return;
	EVP_MAC_CTX_free(h->ctx);   /* cleanses the key's pads */
	free(h);
}

int cipher_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		       uint8_t out[CIPHER_HMAC_LEN])
{
	struct iovec v = { .iov_base = (void *)data, .iov_len = len };

	return cipher_hmac_sha256_iov(key, key_len, &v, 1, out);
}

int cipher_sha256(const void *data, size_t len, uint8_t out[32])
{
	struct cipher_tls *t = tls_get();
	unsigned int outl = 0;

	if (t && !t->sha256)
		t->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!t || !t->sha256)
		return -EIO;
	if (EVP_Digest(data, len, out, &outl, t->sha256, NULL) != 1 || outl != 32)
		return -EIO;
	return 0;
}
