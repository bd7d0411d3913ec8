/*
 * kmip_msg.h: the KMIP 1.4 requests the kmip provider sends and the parts of
 * the responses it reads (see kmip_msg.c). Tags and enumerations are the
 * KMIP 1.4 specification's (§9.1.3).
 */
#ifndef PHIFS_KMS_KMIP_MSG_H
#define PHIFS_KMS_KMIP_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "ttlv.h"

#define KMIP_VERSION_MAJOR 1
#define KMIP_VERSION_MINOR 4   /* GCM with AAD and tag needs >= 1.4 (PyKMIP drops them at 1.2) */

#define KMIP_UID_MAX 100       /* unique identifiers we accept, bytes (the KEK id is "kmip:" ‖ uid) */
#define KMIP_NAME_MAX 64       /* key names, bytes */
#define KMIP_GCM_IV_LEN 12
#define KMIP_GCM_TAG_LEN 16

/* Operations (KMIP 1.4 §9.1.3.2.27) */
enum kmip_op {
	KMIP_OP_CREATE = 1,
	KMIP_OP_LOCATE = 8,
	KMIP_OP_GET_ATTRIBUTES = 11,
	KMIP_OP_ACTIVATE = 18,
	KMIP_OP_REVOKE = 19,
	KMIP_OP_DESTROY = 20,
	KMIP_OP_DISCOVER_VERSIONS = 30,
	KMIP_OP_ENCRYPT = 31,
	KMIP_OP_DECRYPT = 32,
};

/* Result reasons we map to errno (§9.1.3.2.29) */
enum kmip_reason {
	KMIP_REASON_ITEM_NOT_FOUND = 1,
	KMIP_REASON_AUTHENTICATION_NOT_SUCCESSFUL = 3,
	KMIP_REASON_OPERATION_NOT_SUPPORTED = 5,
	KMIP_REASON_CRYPTOGRAPHIC_FAILURE = 10,
	KMIP_REASON_PERMISSION_DENIED = 12,
	KMIP_REASON_GENERAL_FAILURE = 256,
};

/* Object states (§9.1.3.2.17) */
enum kmip_state {
	KMIP_STATE_PRE_ACTIVE = 1,
	KMIP_STATE_ACTIVE = 2,
	KMIP_STATE_DEACTIVATED = 3,
	KMIP_STATE_COMPROMISED = 4,
	KMIP_STATE_DESTROYED = 5,
	KMIP_STATE_DESTROYED_COMPROMISED = 6,
};

/* Requests: each writes one complete message (protocol 1.4, one batch item)
 * into buf[0..cap) and its length to *len; 0 or -EMSGSIZE. */
int kmip_req_discover_versions(uint8_t *buf, size_t cap, size_t *len);
/* AES-256, usage mask Encrypt|Decrypt, Name = name (uninterpreted text). */
int kmip_req_create(uint8_t *buf, size_t cap, size_t *len, const char *name);
int kmip_req_locate_name(uint8_t *buf, size_t cap, size_t *len, const char *name);
/* Activate or Revoke (reason Superseded) of one object. */
int kmip_req_activate(uint8_t *buf, size_t cap, size_t *len, const char *uid);
int kmip_req_revoke(uint8_t *buf, size_t cap, size_t *len, const char *uid);
int kmip_req_destroy(uint8_t *buf, size_t cap, size_t *len, const char *uid);
/* State and Initial Date. */
int kmip_req_get_attributes(uint8_t *buf, size_t cap, size_t *len, const char *uid);
/* AES-GCM with a 16-byte tag; tag NULL for Encrypt. */
struct kmip_crypt {
	const char *uid;
	const uint8_t *data;
	size_t data_len;
	const uint8_t *iv;          /* KMIP_GCM_IV_LEN bytes */
	const uint8_t *aad;
	size_t aad_len;
	const uint8_t *tag;         /* KMIP_GCM_TAG_LEN bytes (Decrypt) or NULL */
};
int kmip_req_crypt(uint8_t *buf, size_t cap, size_t *len, enum kmip_op op,
		   const struct kmip_crypt *c);

/* A parsed response: the one batch item's result and payload. */
struct kmip_resp {
	uint32_t status;            /* 0 success, 1 failed, 2 pending, 3 undone */
	uint32_t reason;            /* enum kmip_reason when status != 0, else 0 */
	char message[96];           /* Result Message, printable ASCII only, may be "" */
	struct ttlv payload;        /* type 0 when absent */
};

/* Decodes buf as a response to `op`: 0, or -EBADMSG (malformed, not one batch
 * item, another operation). */
int kmip_resp_parse(const uint8_t *buf, size_t len, enum kmip_op op, struct kmip_resp *r);
/* The payload's (first) Unique Identifier, checked as kmip_uid_valid. */
int kmip_resp_uid(const struct kmip_resp *r, char *out, size_t cap);
/* Unique Identifier number `index` (Locate answers several): 0, -ENOENT past the end. */
int kmip_resp_uid_at(const struct kmip_resp *r, size_t index, char *out, size_t cap);
/* Encrypt/Decrypt Data and (Encrypt) the authenticated-encryption tag. */
int kmip_resp_data(const struct kmip_resp *r, const uint8_t **data, size_t *len);
int kmip_resp_tag(const struct kmip_resp *r, const uint8_t **tag, size_t *len);
/* Get Attributes: State (0 when absent) and Initial Date (0 when absent). */
int kmip_resp_attrs(const struct kmip_resp *r, uint32_t *state, int64_t *initial_date);
/* Discover Versions: 1 if the server offers protocol major.minor. */
int kmip_resp_has_version(const struct kmip_resp *r, int major, int minor);

/* 0 on success; else the errno for the result (ITEM_NOT_FOUND -ENOKEY,
 * PERMISSION_DENIED and AUTHENTICATION_NOT_SUCCESSFUL -EACCES, a GCM tag or
 * AAD mismatch (CRYPTOGRAPHIC/GENERAL_FAILURE on Decrypt) -EKEYREJECTED,
 * OPERATION_NOT_SUPPORTED -EOPNOTSUPP, anything else -EIO). */
int kmip_resp_errno(const struct kmip_resp *r, enum kmip_op op);

/* Printable ASCII without spaces, 1..KMIP_UID_MAX bytes. */
int kmip_uid_valid(const char *s, size_t len);
const char *kmip_state_name(uint32_t state);

#endif
