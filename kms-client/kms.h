/*
 * kms.h: the one public header of the KMS client library. A provider wraps and
 * unwraps secrets (volume keys) under a key-encryption key that never leaves
 * it. Providers are chosen by URI (docs/FORMAT.md §8):
 *   local:/path/keyfile     a 32-byte key file (created by kms_open with create=1)
 *   passphrase              Argon2id(passphrase) from a terminal, file or command
 * Errors: -ENOENT no key file, -EACCES unsafe permissions, -EKEYREJECTED the
 * blob does not unwrap with this key (wrong key or tampered), -EPROTONOSUPPORT
 * unknown scheme, -EINVAL malformed URI, -EIO provider failure.
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
/* The KEK id of the key this provider wraps with (e.g. "local:1a2b3c4d5e6f7a8b").
 * For the passphrase provider it is known only after the first wrap/unwrap. */
const char *kms_key_id(const struct kms *k);
/* The KEK id that wrapped `blob`, when the blob itself says (passphrase), else NULL. */
int kms_blob_key_id(const struct kms *k, const uint8_t *blob, size_t blob_len, char *out,
		    size_t cap);
const char *kms_provider_name(const struct kms *k);

#endif
