/*
 * passphrase.c: the `passphrase` provider (docs/FORMAT.md §8).
 *
 * Owns the passphrase blob, salt(16) ‖ u32 opslimit ‖ u32 memlimit KiB ‖
 * nonce(12) ‖ GCM ct ‖ tag(16), and its KEK = Argon2id13(passphrase, salt).
 * Each wrap takes a new salt and records the Argon2 parameters it used, so
 * that unwrap reproduces them and stronger defaults later do not strand old
 * volumes. The passphrase is read once per handle (passread.c) and kept in a
 * secret buffer; KEKs are derived per operation and wiped at once.
 *
 * The one direct libsodium call outside fs/ is crypto_pwhash: OpenSSL 3.0 has
 * no Argon2.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "cipher.h"
#include "envelope.h"
#include "passread.h"
#include "provider.h"
#include "secmem.h"

#define PP_SALT_LEN 16
#define PP_OFF_OPS PP_SALT_LEN                  /* u32 opslimit */
#define PP_OFF_MEM (PP_OFF_OPS + 4)             /* u32 memlimit, KiB */
#define PP_OFF_ENV (PP_OFF_MEM + 4)             /* envelope.h: nonce ‖ ct ‖ tag */
#define PP_OVERHEAD (PP_OFF_ENV + ENVELOPE_OVERHEAD)
#define PP_ID_PREFIX "passphrase:"
#define PP_ID_BYTES 8                           /* of the salt, shown as 16 hex */

/* Refused on unwrap: an absurd blob must not make us burn minutes or memory. */
#define PP_OPS_MAX 64
#define PP_MEM_KIB_MAX (4u * 1024 * 1024)       /* 4 GiB */

_Static_assert(PP_SALT_LEN == crypto_pwhash_argon2id_SALTBYTES, "FORMAT.md §8 salt");
_Static_assert(PP_OVERHEAD + 32 == 84, "FORMAT.md §8: 84-byte blob for a 32-byte key");

struct passphrase {
	char *pass;        /* secmem, pass_len bytes, no NUL */
	size_t pass_len;
	/* Of the last blob wrapped or unwrapped; "" before the first. */
	char key_id[sizeof(PP_ID_PREFIX) + 2 * PP_ID_BYTES];
};

static void put_u32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * The moderate preset (about 256 MiB, a second or so) unless the test suite
 * asks for the minimum. secure_getenv: a set-id program ignores the knob.
 */
static void kdf_params(uint32_t *ops, uint32_t *mem_kib)
{
	const char *fast = secure_getenv("PHIFS_TEST_FAST_KDF");

	if (fast && strcmp(fast, "1") == 0) {
		kms_warn("passphrase: PHIFS_TEST_FAST_KDF=1: minimal Argon2id cost, for tests only");
		*ops = crypto_pwhash_argon2id_OPSLIMIT_MIN;
		*mem_kib = crypto_pwhash_argon2id_MEMLIMIT_MIN / 1024;
		return;
	}
	*ops = crypto_pwhash_argon2id_OPSLIMIT_MODERATE;
	*mem_kib = crypto_pwhash_argon2id_MEMLIMIT_MODERATE / 1024;
}

static int kdf_derive(const struct passphrase *p, const uint8_t salt[PP_SALT_LEN], uint32_t ops,
		      uint32_t mem_kib, uint8_t *kek)
{
	uint64_t mem = (uint64_t)mem_kib * 1024;

	if (ops < crypto_pwhash_argon2id_OPSLIMIT_MIN || ops > PP_OPS_MAX ||
	    mem < crypto_pwhash_argon2id_MEMLIMIT_MIN || mem_kib > PP_MEM_KIB_MAX ||
	    mem > SIZE_MAX) {
		kms_warn("passphrase: blob has out-of-range Argon2id parameters (ops %u, %u KiB)",
			 (unsigned)ops, (unsigned)mem_kib);
		return -EINVAL;
	}
	if (crypto_pwhash(kek, CIPHER_KEY_LEN, p->pass, p->pass_len, salt, ops, (size_t)mem,
			  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		kms_warn("passphrase: Argon2id failed (out of memory? it needs %u KiB)",
			 (unsigned)mem_kib);
		return -ENOMEM;
	}
	return 0;
}

static int id_update(struct passphrase *p, const uint8_t *salt)
{
	return kms_id_format(PP_ID_PREFIX, salt, PP_ID_BYTES, p->key_id, sizeof(p->key_id));
}

static void pp_close(void *state)
{
	struct passphrase *p = state;

	if (!p)
		return;
	secmem_free(p->pass);
	free(p);
}

static int pp_open(const char *arg, const struct kms_opts *opts, void **state)
{
	struct passphrase *p = NULL;
	int ret = -EINVAL;

	if (arg) {
		kms_warn("passphrase: the URI is exactly \"passphrase\", with no argument");
		goto out;
	}
	ret = -ENOMEM;
	p = calloc(1, sizeof(*p));
	if (!p)
		goto out;
	ret = passread_get(opts->passfile, opts->extpass, opts->confirm, &p->pass, &p->pass_len);
	if (ret)
		goto out;
	*state = p;
	p = NULL;
out:
	pp_close(p);
	return ret;
}

static int pp_wrap(void *state, const void *aad, size_t aad_len, const uint8_t *secret,
		   size_t len, uint8_t *blob, size_t *blob_len)
{
	struct passphrase *p = state;
	uint8_t *kek = NULL;
	uint32_t ops, mem_kib;
	int ret = -EINVAL;

	if (*blob_len < len + PP_OVERHEAD)
		goto out;
	ret = -ENOMEM;
	kek = secmem_alloc(CIPHER_KEY_LEN);
	if (!kek)
		goto out;
	kdf_params(&ops, &mem_kib);
	ret = cipher_random(blob, PP_SALT_LEN);
	if (ret)
		goto out;
	put_u32le(blob + PP_OFF_OPS, ops);
	put_u32le(blob + PP_OFF_MEM, mem_kib);
	ret = kdf_derive(p, blob, ops, mem_kib, kek);
	if (ret)
		goto out;
	ret = envelope_seal(kek, aad, aad_len, secret, len, blob + PP_OFF_ENV);
	if (ret)
		goto out;
	ret = id_update(p, blob);
	if (ret)
		goto out;
	*blob_len = len + PP_OVERHEAD;
out:
	secmem_free(kek);
	return ret;
}

static int pp_unwrap(void *state, const void *aad, size_t aad_len, const uint8_t *blob,
		     size_t blob_len, uint8_t *secret, size_t len)
{
	struct passphrase *p = state;
	uint8_t *kek = NULL;
	int ret = -EKEYREJECTED;

	/* A blob of the wrong length for `len` is a tampered (or foreign) blob. */
	if (blob_len != len + PP_OVERHEAD)
		goto out;
	ret = -ENOMEM;
	kek = secmem_alloc(CIPHER_KEY_LEN);
	if (!kek)
		goto out;
	ret = kdf_derive(p, blob, get_u32le(blob + PP_OFF_OPS), get_u32le(blob + PP_OFF_MEM),
			 kek);
	if (ret)
		goto out;
	ret = envelope_open(kek, aad, aad_len, blob + PP_OFF_ENV, secret, len);
	if (ret)
		goto out;
	ret = id_update(p, blob);
out:
	if (ret)
		secmem_wipe(secret, len);
	secmem_free(kek);
	return ret;
}

static const char *pp_key_id(const void *state)
{
	const struct passphrase *p = state;

	return p->key_id[0] ? p->key_id : NULL;
}

/* Needs no passphrase: the salt is in the clear. */
static int pp_blob_key_id(const void *state, const uint8_t *blob, size_t blob_len, char *out,
			  size_t cap)
{
	(void)state;
	if (blob_len <= PP_OVERHEAD)
		return -EINVAL;
	return kms_id_format(PP_ID_PREFIX, blob, PP_ID_BYTES, out, cap);
}

const struct kms_provider_ops kms_passphrase_ops = {
	.name = "passphrase",
	.open = pp_open,
	.close = pp_close,
	.wrap = pp_wrap,
	.unwrap = pp_unwrap,
	.key_id = pp_key_id,
	.blob_key_id = pp_blob_key_id,
};
