/*
 * envelope.c: the sealed part of the local and passphrase blobs,
 * nonce(12) ‖ AES-256-GCM(KEK, nonce, secret, AAD) ‖ tag(16) (docs/FORMAT.md §8).
 *
 * Owns the nonce choice: random per seal. A KEK wraps only a handful of volume
 * keys over its life, far below the 2^32 random-nonce bound for GCM. It does
 * not know where the KEK comes from (local.c, passphrase.c do).
 */
#include "config.h"

#include <errno.h>

#include "envelope.h"
#include "secmem.h"

int envelope_seal(const uint8_t kek[CIPHER_KEY_LEN], const void *aad, size_t aad_len,
		  const uint8_t *secret, size_t len, uint8_t *out)
{
	uint8_t *nonce = out;
	uint8_t *ct = out + CIPHER_GCM_NONCE_LEN;
	int ret;

	ret = cipher_random(nonce, CIPHER_GCM_NONCE_LEN);
	if (ret)
		goto out;
	ret = cipher_gcm_seal(kek, nonce, aad, aad_len, secret, len, ct, ct + len);
out:
	return ret ? -EIO : 0;
}

int envelope_open(const uint8_t kek[CIPHER_KEY_LEN], const void *aad, size_t aad_len,
		  const uint8_t *in, uint8_t *secret, size_t len)
{
	const uint8_t *ct = in + CIPHER_GCM_NONCE_LEN;
	int ret;

	ret = cipher_gcm_open(kek, in, aad, aad_len, ct, len, ct + len, secret);
	if (ret) {
		/* Also after an OpenSSL failure past the decrypt step: never hand
		 * back plaintext that was not authenticated. */
		secmem_wipe(secret, len);
		ret = ret == -EBADMSG ? -EKEYREJECTED : -EIO;
	}
	return ret;
}
