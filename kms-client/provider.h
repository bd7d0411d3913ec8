/*
 * provider.h: the private contract between provider.c and each provider file
 * (local.c, passphrase.c; later kmip.c, pkcs11.c). Not part of kms.h and not
 * included outside kms-client/.
 *
 * provider.c has already checked the caller's pointers and lengths when an op
 * runs (non-NULL, 1 <= len <= KMS_BLOB_MAX, aad NULL only with aad_len 0), so
 * a provider checks only what is its own: blob capacity and blob layout.
 * A handle is not thread-safe: key_id changes on wrap/unwrap (passphrase).
 */
#ifndef PHIFS_KMS_PROVIDER_H
#define PHIFS_KMS_PROVIDER_H

#include <stddef.h>
#include <stdint.h>
#include "kms.h"

struct kms_provider_ops {
	const char *name;   /* URI scheme, e.g. "local"; also kms_provider_name() */
	/* arg: the URI after "scheme:", or NULL for a bare scheme. On failure the
	 * provider has freed everything it allocated and *state is untouched. */
	int (*open)(const char *arg, const struct kms_opts *opts, void **state);
	void (*close)(void *state);              /* takes NULL */
	int (*wrap)(void *state, const void *aad, size_t aad_len, const uint8_t *secret,
		    size_t len, uint8_t *blob, size_t *blob_len);
	/* On any failure `secret` holds no unauthenticated bytes. */
	int (*unwrap)(void *state, const void *aad, size_t aad_len, const uint8_t *blob,
		      size_t blob_len, uint8_t *secret, size_t len);
	const char *(*key_id)(const void *state); /* NULL while unknown */
	/* NULL when blobs do not name their KEK; provider.c then answers -ENODATA. */
	int (*blob_key_id)(const void *state, const uint8_t *blob, size_t blob_len, char *out,
			   size_t cap);
	/* Key lifecycle (kms.h); NULL where the provider has none: provider.c then
	 * answers -EOPNOTSUPP. describe gets id NULL for the current key and a
	 * zeroed info. */
	int (*create_key)(void *state, char *id, size_t cap);
	int (*describe)(void *state, const char *id, struct kms_key_info *info);
	int (*health)(void *state);
	int (*retire_key)(void *state, const char *id);
	/* Per-file KMS mode (kms_wrap_compact): `compact` drops the bytes of a
	 * blob that name its KEK; `expand` rebuilds the blob from them and the
	 * KEK id the caller kept. Pure byte work, no KMS call. NULL: the provider
	 * has no compact form (provider.c answers -EOPNOTSUPP). Capacities in/out
	 * as kms_wrap's blob_len; a malformed input is -EKEYREJECTED. */
	int (*compact)(const void *state, const uint8_t *blob, size_t blob_len, uint8_t *out,
		       size_t *out_len);
	int (*expand)(const void *state, const char *kek_id, const uint8_t *in, size_t in_len,
		      uint8_t *blob, size_t *blob_len);
	int (*destroy_key)(void *state, const char *id);
};

/* Read-only tables, one per provider file; provider.c lists them. */
extern const struct kms_provider_ops kms_local_ops;
extern const struct kms_provider_ops kms_passphrase_ops;
extern const struct kms_provider_ops kms_pkcs11_ops;
extern const struct kms_provider_ops kms_kmip_ops;

/* One operator-facing line on stderr, "phifs: kms: " ‖ message. Never pass key
 * bytes, passphrases or PHI; key file paths and exit codes are fine. */
void kms_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* out = prefix ‖ lowercase hex(bytes[0..n)), NUL-terminated; -ERANGE if cap is short. */
int kms_id_format(const char *prefix, const uint8_t *bytes, size_t n, char *out, size_t cap);

#endif
