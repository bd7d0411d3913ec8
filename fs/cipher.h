/* cipher.h: primitives phifs uses, all through OpenSSL EVP (see cipher.c). */
#ifndef PHIFS_CIPHER_H
#define PHIFS_CIPHER_H

#include <stddef.h>
#include <stdint.h>

#define CIPHER_KEY_LEN 32      /* AES-256 and HMAC keys, bytes */
#define CIPHER_XTS_KEY_LEN 64  /* AES-256-XTS: two AES-256 keys, bytes */
#define CIPHER_SIV_KEY_LEN 64  /* AES-256-SIV: MAC key + CTR key, bytes */
#define CIPHER_GCM_NONCE_LEN 12
#define CIPHER_GCM_TAG_LEN 16
#define CIPHER_SIV_TAG_LEN 16
#define CIPHER_HMAC_LEN 32

int cipher_random(void *buf, size_t len);
/* Random bytes that will be public (nonces): cheaper, from a per-thread pool. */
int cipher_nonce(void *buf, size_t len);

int cipher_gcm_seal(const uint8_t key[CIPHER_KEY_LEN], const uint8_t nonce[CIPHER_GCM_NONCE_LEN],
		    const void *aad, size_t aad_len, const void *pt, size_t len, void *ct,
		    uint8_t tag[CIPHER_GCM_TAG_LEN]);
int cipher_gcm_open(const uint8_t key[CIPHER_KEY_LEN], const uint8_t nonce[CIPHER_GCM_NONCE_LEN],
		    const void *aad, size_t aad_len, const void *ct, size_t len,
		    const uint8_t tag[CIPHER_GCM_TAG_LEN], void *pt);

int cipher_xts_encrypt(const uint8_t key[CIPHER_XTS_KEY_LEN], const uint8_t tweak[16],
		       const void *in, size_t len, void *out);
int cipher_xts_decrypt(const uint8_t key[CIPHER_XTS_KEY_LEN], const uint8_t tweak[16],
		       const void *in, size_t len, void *out);
int cipher_ecb_block(const uint8_t key[CIPHER_KEY_LEN], const uint8_t in[16], uint8_t out[16]);

int cipher_siv_seal(const uint8_t *key, size_t key_len, const void *ad, size_t ad_len,
		    const void *pt, size_t len, uint8_t *out /* CIPHER_SIV_TAG_LEN + len */);
int cipher_siv_open(const uint8_t *key, size_t key_len, const void *ad, size_t ad_len,
		    const uint8_t *in, size_t in_len, void *pt /* in_len - CIPHER_SIV_TAG_LEN */);

int cipher_hkdf_sha256(const void *ikm, size_t ikm_len, const void *salt, size_t salt_len,
		       const void *info, size_t info_len, void *out, size_t out_len);
int cipher_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		       uint8_t out[CIPHER_HMAC_LEN]);
/* The HMAC of the concatenation of n buffers (no copy into one). */
struct iovec;
int cipher_hmac_sha256_iov(const void *key, size_t key_len, const struct iovec *iov, int n,
			   uint8_t out[CIPHER_HMAC_LEN]);
/* A key kept set up for many HMAC-SHA256s (the audit chain's record MACs,
 * its path references): its pads are computed once, not per message, which
 * was most of a short message's cost. Held in OpenSSL's context (cleansed
 * when freed), like the per-thread cipher contexts' key schedules. One
 * caller at a time. */
struct cipher_hmac;
int cipher_hmac_new(const void *key, size_t key_len, struct cipher_hmac **out);
int cipher_hmac_run(struct cipher_hmac *h, const void *data, size_t len,
		    uint8_t out[CIPHER_HMAC_LEN]);
void cipher_hmac_free(struct cipher_hmac *h);
int cipher_sha256(const void *data, size_t len, uint8_t out[32]);

void cipher_thread_cleanup(void);

#endif
