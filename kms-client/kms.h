/*
 * kms.h: the one public header of the KMS client library. A provider wraps and
 * unwraps secrets (volume keys) under a key-encryption key that never leaves
 * it. Providers are chosen by URI (docs/FORMAT.md §8):
 *   local:/path/keyfile     a 32-byte key file (created by kms_open with create=1)
 *   passphrase              Argon2id(passphrase) from a terminal, file or command
 *   pkcs11:token=T;object=L?module-path=M&pin-source=file:P
 *                           wrapped inside a PKCS#11 token (RFC 7512 URI)
 *   kmip://HOST:PORT/NAME?ca=..&cert=..&key=..
 *                           a KEK named NAME inside a KMIP server (created by
 *                           kms_open with create=1), used through Encrypt/Decrypt
 * Errors: -ENOENT no key file, -EACCES unsafe permissions, -EKEYREJECTED the
 * blob does not unwrap with this key (wrong key or tampered), -EPROTONOSUPPORT
 * unknown scheme, -EINVAL malformed URI, -EIO provider failure; kmip also
 * -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH, -ECONNRESET (KMS unreachable),
 * -EACCES (certificate not trusted or refused, permission denied), -ENOKEY (no
 * such key in the KMS).
 */
#ifndef PHIFS_KMS_H
#define PHIFS_KMS_H

#include <stddef.h>
#include <stdint.h>

#define KMS_BLOB_MAX 1024
#define KMS_KEY_ID_MAX 128

struct kms;

struct kms_opts {
	int create;              /* local: create the key file if absent (mode 0600) */
	const char *passfile;    /* passphrase: read the first line of this file */
	const char *extpass;     /* passphrase: run this command (sh -c), read its stdout */
	int confirm;             /* passphrase from a terminal: ask twice (init) */
};

int kms_open(const char *uri, const struct kms_opts *opts, struct kms **out);
void kms_close(struct kms *k);
/* blob_len: in = capacity, out = bytes written. */
int kms_wrap(struct kms *k, const void *aad, size_t aad_len, const uint8_t *secret, size_t len,
	     uint8_t *blob, size_t *blob_len);
int kms_unwrap(struct kms *k, const void *aad, size_t aad_len, const uint8_t *blob,
	       size_t blob_len, uint8_t *secret, size_t len);
/*
 * Per-file KMS mode (docs/FORMAT.md §4.4): a wrap whose blob leaves out the
 * bytes that name the KEK (a KMIP uid, a PKCS#11 CKA_ID), so that it fits a
 * file header; the KEK id that wrapped it is written to kek_id (cap bytes)
 * and must be given back to unwrap. local: the blob is the §8 blob (60 bytes
 * for 32); kmip: iv ‖ ct ‖ tag; pkcs11: mechanism ‖ the §8 body. The
 * passphrase provider has none (-EOPNOTSUPP). One KMS operation each.
 */
int kms_wrap_compact(struct kms *k, const void *aad, size_t aad_len, const uint8_t *secret,
		     size_t len, uint8_t *blob, size_t *blob_len, char *kek_id, size_t cap);
int kms_unwrap_compact(struct kms *k, const char *kek_id, const void *aad, size_t aad_len,
		       const uint8_t *blob, size_t blob_len, uint8_t *secret, size_t len);
/* Whether this provider has a compact form (1) or not (0). */
int kms_has_compact(const struct kms *k);
/* The pure byte halves of the two calls above, for tests and fuzzing. */
int kms_blob_compact(const struct kms *k, const uint8_t *blob, size_t blob_len, uint8_t *out,
		     size_t *out_len);
int kms_blob_expand(const struct kms *k, const char *kek_id, const uint8_t *in, size_t in_len,
		    uint8_t *blob, size_t *blob_len);

/* The KEK id of the key this provider wraps with (e.g. "local:1a2b3c4d5e6f7a8b").
 * For the passphrase provider it is known only after the first wrap/unwrap. */
const char *kms_key_id(const struct kms *k);
/* The KEK id that wrapped `blob`, when the blob itself says (passphrase), else NULL. */
int kms_blob_key_id(const struct kms *k, const uint8_t *blob, size_t blob_len, char *out,
		    size_t cap);
const char *kms_provider_name(const struct kms *k);

/* What a provider knows of one KEK (phifs-keys status). */
struct kms_key_info {
	char id[KMS_KEY_ID_MAX];   /* as kms_key_id() */
	char state[24];            /* "active", "pre-active", "deactivated", "compromised",
				      "destroyed", or "unknown" */
	int64_t created;           /* Unix seconds; 0 when the provider cannot say */
	uint32_t version;          /* the provider's version of this key; 0 when it has none */
};

/*
 * Key lifecycle, each optional per provider (-EOPNOTSUPP when it has none):
 * kms_create_key makes a new KEK (or a new version of the named one) in the KMS
 * and makes it the one later wraps use, writing its id to `id`;
 * kms_describe reports on the KEK with `id` (NULL: the current one);
 * kms_health answers 0 when the KMS is reachable and the current KEK can wrap;
 * kms_retire_key revokes a KEK no blob uses any more (KMIP Revoke: Decrypt
 * fails afterwards, so only after everything is re-wrapped).
 */
int kms_create_key(struct kms *k, char *id, size_t cap);
/* Provider calls made by this process so far (wrap, unwrap, lifecycle). */
unsigned long kms_op_count(void);
int kms_describe(struct kms *k, const char *id, struct kms_key_info *info);
int kms_health(struct kms *k);
int kms_retire_key(struct kms *k, const char *id);
/* Crypto-shredding (FORMAT.md §12.4): makes the KEK `id` unusable for good, so
 * that every blob it wrapped, including copies in backups, never unwraps
 * again. local: the key file is overwritten, fsynced and unlinked (only for
 * the key this handle opened). */
int kms_destroy_key(struct kms *k, const char *id);

#endif
