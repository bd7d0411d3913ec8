/*
 * kmip_msg.c: the KMIP 1.4 messages of the kmip provider — building the few
 * requests it sends and reading the fields it needs from the responses.
 *
 * Owns tag numbers, enumerations and message shapes (KMIP 1.4 §6-§9; checked
 * byte for byte against PyKMIP captures in tests/unit/test-kmip-msg.c). It
 * does no I/O (kmip_tls.c) and holds no state (kmip.c). Every request says
 * protocol 1.4: PyKMIP silently drops the GCM AAD and tag at 1.2. Responses
 * come from the network: everything read is type-checked, and text copied out
 * (identifiers, result messages) must be printable so that it can be logged.
 * Get is deliberately absent: the KEK never leaves the KMS.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kmip_msg.h"

/* Tags (KMIP 1.4 §9.1.3.1) */
enum {
	TAG_ATTRIBUTE = 0x420008,
	TAG_ATTRIBUTE_NAME = 0x42000A,
	TAG_ATTRIBUTE_VALUE = 0x42000B,
	TAG_BATCH_COUNT = 0x42000D,
	TAG_BATCH_ITEM = 0x42000F,
	TAG_BLOCK_CIPHER_MODE = 0x420011,
	TAG_CRYPTO_ALGORITHM = 0x420028,
	TAG_CRYPTO_PARAMETERS = 0x42002B,
	TAG_IV_COUNTER_NONCE = 0x42003D,
	TAG_NAME_TYPE = 0x420054,
	TAG_NAME_VALUE = 0x420055,
	TAG_OBJECT_TYPE = 0x420057,
	TAG_OPERATION = 0x42005C,
	TAG_PROTOCOL_VERSION = 0x420069,
	TAG_PROTOCOL_VERSION_MAJOR = 0x42006A,
	TAG_PROTOCOL_VERSION_MINOR = 0x42006B,
	TAG_REQUEST_HEADER = 0x420077,
	TAG_REQUEST_MESSAGE = 0x420078,
	TAG_REQUEST_PAYLOAD = 0x420079,
	TAG_RESPONSE_HEADER = 0x42007A,
	TAG_RESPONSE_MESSAGE = 0x42007B,
	TAG_RESPONSE_PAYLOAD = 0x42007C,
	TAG_RESULT_MESSAGE = 0x42007D,
	TAG_RESULT_REASON = 0x42007E,
	TAG_RESULT_STATUS = 0x42007F,
	TAG_REVOCATION_REASON = 0x420081,
	TAG_REVOCATION_REASON_CODE = 0x420082,
	TAG_TEMPLATE_ATTRIBUTE = 0x420091,
	TAG_UNIQUE_IDENTIFIER = 0x420094,
	TAG_DATA = 0x4200C2,
	TAG_TAG_LENGTH = 0x4200CE,
	TAG_AE_ADDITIONAL_DATA = 0x4200FE,
	TAG_AE_TAG = 0x4200FF,
};

/* Enumerations (§9.1.3.2) */
enum {
	OBJECT_SYMMETRIC_KEY = 2,
	ALGORITHM_AES = 3,
	MODE_GCM = 9,
	NAME_UNINTERPRETED_TEXT = 1,
	USAGE_ENCRYPT = 0x4,
	USAGE_DECRYPT = 0x8,
	REVOKE_SUPERSEDED = 5,
	AES_KEY_BITS = 256,
};

/* Message ‖ header ‖ batch item ‖ operation, and the payload opened. */
static void req_open(struct ttlv_writer *w, uint8_t *buf, size_t cap, enum kmip_op op)
{
	ttlv_writer_init(w, buf, cap);
	ttlv_begin(w, TAG_REQUEST_MESSAGE);
	ttlv_begin(w, TAG_REQUEST_HEADER);
	ttlv_begin(w, TAG_PROTOCOL_VERSION);
	ttlv_put_int(w, TAG_PROTOCOL_VERSION_MAJOR, KMIP_VERSION_MAJOR);
	ttlv_put_int(w, TAG_PROTOCOL_VERSION_MINOR, KMIP_VERSION_MINOR);
	ttlv_end(w);
	ttlv_put_int(w, TAG_BATCH_COUNT, 1);
	ttlv_end(w);
	ttlv_begin(w, TAG_BATCH_ITEM);
	ttlv_put_enum(w, TAG_OPERATION, op);
	ttlv_begin(w, TAG_REQUEST_PAYLOAD);
}

/* Closes payload, batch item and message. */
static int req_close(struct ttlv_writer *w, size_t *len)
{
	ttlv_end(w);
	ttlv_end(w);
	ttlv_end(w);
	return ttlv_finish(w, len);
}

static void put_uid(struct ttlv_writer *w, const char *uid)
{
	ttlv_put_text(w, TAG_UNIQUE_IDENTIFIER, uid, strlen(uid));
}

/* KMIP 1.x template attributes: Attribute { Attribute Name, Attribute Value }. */
static void attr_int(struct ttlv_writer *w, const char *name, int enumerated, uint32_t v)
{
	ttlv_begin(w, TAG_ATTRIBUTE);
	ttlv_put_text(w, TAG_ATTRIBUTE_NAME, name, strlen(name));
	if (enumerated)
		ttlv_put_enum(w, TAG_ATTRIBUTE_VALUE, v);
	else
		ttlv_put_int(w, TAG_ATTRIBUTE_VALUE, (int32_t)v);
	ttlv_end(w);
}

static void attr_name(struct ttlv_writer *w, const char *name)
{
	ttlv_begin(w, TAG_ATTRIBUTE);
	ttlv_put_text(w, TAG_ATTRIBUTE_NAME, "Name", 4);
	ttlv_begin(w, TAG_ATTRIBUTE_VALUE);
	ttlv_put_text(w, TAG_NAME_VALUE, name, strlen(name));
	ttlv_put_enum(w, TAG_NAME_TYPE, NAME_UNINTERPRETED_TEXT);
	ttlv_end(w);
	ttlv_end(w);
}

int kmip_req_discover_versions(uint8_t *buf, size_t cap, size_t *len)
{
	struct ttlv_writer w;

	req_open(&w, buf, cap, KMIP_OP_DISCOVER_VERSIONS);
	return req_close(&w, len);
}

int kmip_req_create(uint8_t *buf, size_t cap, size_t *len, const char *name)
{
	struct ttlv_writer w;

	req_open(&w, buf, cap, KMIP_OP_CREATE);
	ttlv_put_enum(&w, TAG_OBJECT_TYPE, OBJECT_SYMMETRIC_KEY);
	ttlv_begin(&w, TAG_TEMPLATE_ATTRIBUTE);
	attr_int(&w, "Cryptographic Algorithm", 1, ALGORITHM_AES);
	attr_int(&w, "Cryptographic Length", 0, AES_KEY_BITS);
	attr_int(&w, "Cryptographic Usage Mask", 0, USAGE_ENCRYPT | USAGE_DECRYPT);
	attr_name(&w, name);
	ttlv_end(&w);
	return req_close(&w, len);
}

int kmip_req_locate_name(uint8_t *buf, size_t cap, size_t *len, const char *name)
{
	struct ttlv_writer w;

	req_open(&w, buf, cap, KMIP_OP_LOCATE);
	attr_name(&w, name);
	return req_close(&w, len);
}

int kmip_req_activate(uint8_t *buf, size_t cap, size_t *len, const char *uid)
{
	struct ttlv_writer w;

	req_open(&w, buf, cap, KMIP_OP_ACTIVATE);
	put_uid(&w, uid);
	return req_close(&w, len);
}

/* Superseded, not Key Compromise: retiring follows a rotation (FORMAT.md §8). */
int kmip_req_revoke(uint8_t *buf, size_t cap, size_t *len, const char *uid)
{
	struct ttlv_writer w;

	req_open(&w, buf, cap, KMIP_OP_REVOKE);
	put_uid(&w, uid);
	ttlv_begin(&w, TAG_REVOCATION_REASON);
	ttlv_put_enum(&w, TAG_REVOCATION_REASON_CODE, REVOKE_SUPERSEDED);
	ttlv_end(&w);
	return req_close(&w, len);
}

int kmip_req_destroy(uint8_t *buf, size_t cap, size_t *len, const char *uid)
{
	struct ttlv_writer w;

	req_open(&w, buf, cap, KMIP_OP_DESTROY);
	put_uid(&w, uid);
	return req_close(&w, len);
}

int kmip_req_get_attributes(uint8_t *buf, size_t cap, size_t *len, const char *uid)
{
	struct ttlv_writer w;

	req_open(&w, buf, cap, KMIP_OP_GET_ATTRIBUTES);
	put_uid(&w, uid);
	ttlv_put_text(&w, TAG_ATTRIBUTE_NAME, "State", 5);
	ttlv_put_text(&w, TAG_ATTRIBUTE_NAME, "Initial Date", 12);
	return req_close(&w, len);
}

int kmip_req_crypt(uint8_t *buf, size_t cap, size_t *len, enum kmip_op op,
		   const struct kmip_crypt *c)
{
	struct ttlv_writer w;

	if (op != KMIP_OP_ENCRYPT && op != KMIP_OP_DECRYPT)
		return -EINVAL;
	req_open(&w, buf, cap, op);
	put_uid(&w, c->uid);
	ttlv_begin(&w, TAG_CRYPTO_PARAMETERS);
	ttlv_put_enum(&w, TAG_BLOCK_CIPHER_MODE, MODE_GCM);
	ttlv_put_enum(&w, TAG_CRYPTO_ALGORITHM, ALGORITHM_AES);
	ttlv_put_int(&w, TAG_TAG_LENGTH, KMIP_GCM_TAG_LEN);
	ttlv_end(&w);
	ttlv_put_bytes(&w, TAG_DATA, c->data, c->data_len);
	ttlv_put_bytes(&w, TAG_IV_COUNTER_NONCE, c->iv, KMIP_GCM_IV_LEN);
	if (c->aad_len)
		ttlv_put_bytes(&w, TAG_AE_ADDITIONAL_DATA, c->aad, c->aad_len);
	if (op == KMIP_OP_DECRYPT)
		ttlv_put_bytes(&w, TAG_AE_TAG, c->tag, KMIP_GCM_TAG_LEN);
	return req_close(&w, len);
}

/* ---- responses ---- */

static int find_enum(const struct ttlv *parent, uint32_t tag, uint32_t *v)
{
	struct ttlv it;
	int ret = ttlv_find(parent, tag, &it);

	return ret ? ret : ttlv_get_enum(&it, v);
}

/* Keeps printable ASCII only: the message goes to the operator's log. */
static void copy_printable(const struct ttlv *it, char *out, size_t cap)
{
	const char *s = NULL;
	size_t n = 0, o = 0;

	if (ttlv_get_text(it, &s, &n))
		n = 0;
	for (size_t i = 0; i < n && o + 1 < cap; i++)
		out[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[o] = '\0';
}

static int batch_item(const struct ttlv *msg, struct ttlv *item)
{
	struct ttlv hdr, count;
	int32_t n = 0;
	int ret;

	if (msg->tag != TAG_RESPONSE_MESSAGE || msg->type != TTLV_STRUCT)
		return -EBADMSG;
	ret = ttlv_find(msg, TAG_RESPONSE_HEADER, &hdr);
	if (!ret)
		ret = ttlv_find(&hdr, TAG_BATCH_COUNT, &count);
	if (!ret)
		ret = ttlv_get_int(&count, &n);
	if (!ret && n != 1)
		ret = -EBADMSG;
	if (!ret)
		ret = ttlv_find(msg, TAG_BATCH_ITEM, item);
	return ret ? -EBADMSG : 0;
}

int kmip_resp_parse(const uint8_t *buf, size_t len, enum kmip_op op, struct kmip_resp *r)
{
	struct ttlv msg, item, it;
	uint32_t got = 0;
	int ret;

	memset(r, 0, sizeof(*r));
	ret = ttlv_decode(buf, len, &msg);
	if (!ret)
		ret = batch_item(&msg, &item);
	/* A failed batch item may omit the operation; a present one must match. */
	if (!ret && find_enum(&item, TAG_OPERATION, &got) == 0 && got != (uint32_t)op)
		ret = -EBADMSG;
	if (!ret)
		ret = find_enum(&item, TAG_RESULT_STATUS, &r->status);
	if (ret)
		return -EBADMSG;
	if (r->status != 0) {
		if (find_enum(&item, TAG_RESULT_REASON, &r->reason))
			r->reason = KMIP_REASON_GENERAL_FAILURE;
		if (ttlv_find(&item, TAG_RESULT_MESSAGE, &it) == 0)
			copy_printable(&it, r->message, sizeof(r->message));
		return 0;
	}
	if (ttlv_find(&item, TAG_RESPONSE_PAYLOAD, &it) == 0) {
		if (it.type != TTLV_STRUCT)
			return -EBADMSG;
		r->payload = it;
	}
	return 0;
}

int kmip_resp_errno(const struct kmip_resp *r, enum kmip_op op)
{
	if (r->status == 0)
		return 0;
	switch (r->reason) {
	case KMIP_REASON_ITEM_NOT_FOUND:
		return -ENOKEY;
	case KMIP_REASON_AUTHENTICATION_NOT_SUCCESSFUL:
	case KMIP_REASON_PERMISSION_DENIED:
		return -EACCES;
	case KMIP_REASON_OPERATION_NOT_SUPPORTED:
		return -EOPNOTSUPP;
	case KMIP_REASON_CRYPTOGRAPHIC_FAILURE:
	case KMIP_REASON_GENERAL_FAILURE:
		/* PyKMIP reports a GCM tag/AAD mismatch as GENERAL_FAILURE */
		return op == KMIP_OP_DECRYPT ? -EKEYREJECTED : -EIO;
	default:
		return -EIO;
	}
}

int kmip_uid_valid(const char *s, size_t len)
{
	if (len == 0 || len > KMIP_UID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static int uid_copy(const struct ttlv *it, char *out, size_t cap)
{
	const char *s = NULL;
	size_t n = 0;

	if (ttlv_get_text(it, &s, &n) || !kmip_uid_valid(s, n))
		return -EBADMSG;
	if (n + 1 > cap)
		return -ERANGE;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

int kmip_resp_uid_at(const struct kmip_resp *r, size_t index, char *out, size_t cap)
{
	struct ttlv it;
	size_t pos = 0;
	int ret;

	if (r->payload.type != TTLV_STRUCT)
		return -ENOENT;
	while ((ret = ttlv_next(&r->payload, &pos, &it)) == 1) {
		if (it.tag != TAG_UNIQUE_IDENTIFIER)
			continue;
		if (index-- == 0)
			return uid_copy(&it, out, cap);
	}
	return ret ? ret : -ENOENT;
}

int kmip_resp_uid(const struct kmip_resp *r, char *out, size_t cap)
{
	int ret = kmip_resp_uid_at(r, 0, out, cap);

	return ret == -ENOENT ? -EBADMSG : ret;
}

static int payload_bytes(const struct kmip_resp *r, uint32_t tag, const uint8_t **p, size_t *len)
{
	struct ttlv it;
	int ret;

	if (r->payload.type != TTLV_STRUCT)
		return -EBADMSG;
	ret = ttlv_find(&r->payload, tag, &it);
	if (!ret)
		ret = ttlv_get_bytes(&it, p, len);
	return ret ? -EBADMSG : 0;
}

int kmip_resp_data(const struct kmip_resp *r, const uint8_t **data, size_t *len)
{
	return payload_bytes(r, TAG_DATA, data, len);
}

int kmip_resp_tag(const struct kmip_resp *r, const uint8_t **tag, size_t *len)
{
	return payload_bytes(r, TAG_AE_TAG, tag, len);
}

/* One KMIP 1.x Attribute structure: the two we asked for, others ignored. */
static int attr_read(const struct ttlv *attr, uint32_t *state, int64_t *initial_date)
{
	struct ttlv name, value;
	const char *s = NULL;
	size_t n = 0;

	if (ttlv_find(attr, TAG_ATTRIBUTE_NAME, &name) || ttlv_get_text(&name, &s, &n) ||
	    ttlv_find(attr, TAG_ATTRIBUTE_VALUE, &value))
		return -EBADMSG;
	if (n == 5 && memcmp(s, "State", 5) == 0)
		return ttlv_get_enum(&value, state);
	if (n == 12 && memcmp(s, "Initial Date", 12) == 0)
		return ttlv_get_datetime(&value, initial_date);
	return 0;
}

int kmip_resp_attrs(const struct kmip_resp *r, uint32_t *state, int64_t *initial_date)
{
	struct ttlv it;
	size_t pos = 0;
	int ret;

	*state = 0;
	*initial_date = 0;
	if (r->payload.type != TTLV_STRUCT)
		return -EBADMSG;
	while ((ret = ttlv_next(&r->payload, &pos, &it)) == 1) {
		if (it.tag != TAG_ATTRIBUTE)
			continue;
		ret = attr_read(&it, state, initial_date);
		if (ret)
			return ret;
	}
	return ret;
}

int kmip_resp_has_version(const struct kmip_resp *r, int major, int minor)
{
	struct ttlv it, part;
	int32_t ma = -1, mi = -1;
	size_t pos = 0;

	if (r->payload.type != TTLV_STRUCT)
		return 0;
	while (ttlv_next(&r->payload, &pos, &it) == 1) {
		if (it.tag != TAG_PROTOCOL_VERSION)
			continue;
		if (ttlv_find(&it, TAG_PROTOCOL_VERSION_MAJOR, &part) || ttlv_get_int(&part, &ma) ||
		    ttlv_find(&it, TAG_PROTOCOL_VERSION_MINOR, &part) || ttlv_get_int(&part, &mi))
			return 0;
		if (ma == major && mi == minor)
			return 1;
	}
	return 0;
}

const char *kmip_state_name(uint32_t state)
{
	switch (state) {
	case KMIP_STATE_PRE_ACTIVE:
		return "pre-active";
	case KMIP_STATE_ACTIVE:
		return "active";
	case KMIP_STATE_DEACTIVATED:
		return "deactivated";
	case KMIP_STATE_COMPROMISED:
		return "compromised";
	case KMIP_STATE_DESTROYED:
	case KMIP_STATE_DESTROYED_COMPROMISED:
		return "destroyed";
	default:
		return "unknown";
	}
}
