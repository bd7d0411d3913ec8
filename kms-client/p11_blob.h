/*
 * p11_blob.h: the pkcs11 provider's wrapped-key blob and KEK ids
 * (docs/FORMAT.md §8, "PKCS#11"). Pure byte and string work: no token calls
 * (fuzzed by tests/fuzz/fuzz-p11blob.c).
 */
#ifndef PHIFS_P11_BLOB_H
#define PHIFS_P11_BLOB_H

#include <stddef.h>
#include <stdint.h>

#define P11_BLOB_FORMAT 1
#define P11_ID_MAX 8          /* CKA_ID bytes: the key's big-endian version number */
#define P11_GCM_IV_LEN 12
#define P11_GCM_TAG_LEN 16
#define P11_KWP_OVERHEAD 8    /* RFC 5649: the AIV block */
#define P11_KEY_ID_PREFIX "pkcs11:"

/* A parsed blob; pointers into the caller's bytes. */
struct p11_blob {
	int mech;                  /* enum p11_mech */
	uint8_t id[P11_ID_MAX];    /* CKA_ID of the KEK that wrapped it */
	size_t id_len;
	size_t header_len;         /* bytes 0..header_len: authenticated as GCM AAD */
	const uint8_t *body;       /* GCM: iv ‖ ct ‖ tag; KWP: RFC 5649 output */
	size_t body_len;
};

/* Body bytes that wrap a len-byte secret with mech. */
size_t p11_blob_body_len(int mech, size_t len);
/* Writes format ‖ mech ‖ id_len ‖ id into out (3 + id_len bytes, the header). */
size_t p11_blob_header(int mech, const uint8_t *id, size_t id_len, uint8_t *out);
/* 0, or -EKEYREJECTED when the bytes are not a blob of this layout. */
int p11_blob_parse(const uint8_t *blob, size_t n, struct p11_blob *b);

/* "pkcs11:" ‖ label ‖ "/" ‖ hex(id), or "/-" for an empty CKA_ID. */
int p11_key_id_format(const char *label, const uint8_t *id, size_t id_len, char *out,
		      size_t cap);
/* The inverse, for a key id naming `label`: 0, or -ENOKEY for any other string. */
int p11_key_id_parse(const char *key_id, const char *label, uint8_t *id, size_t *id_len);
/* The version a CKA_ID stands for: its big-endian value (0 when empty). */
uint64_t p11_id_version(const uint8_t *id, size_t id_len);
/* The 8-byte CKA_ID of version v. */
void p11_id_of_version(uint64_t v, uint8_t id[P11_ID_MAX]);

#endif
