/*
 * test-kmip-msg.c: KMIP requests and responses (kms-client/kmip_msg.c)
 * against real PyKMIP captures (tests/vectors/kmip/). Built requests equal
 * the captured bytes (given the capture's values; captures taken at KMIP 1.2
 * are compared with their minor version set to our 1.4); responses yield the
 * identifiers, data, tags and errors the provider relies on.
 */
#include "config.h"

#include <errno.h>
#include "kmipvec.h"
#include "kmip_msg.h"

#define MAJOR_VERSION_BYTE 35   /* offset of the low byte of Protocol Version Major */
#define MINOR_VERSION_BYTE 51   /* ... and of Minor */

static const uint8_t iv[12] = { 0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce, 0xdb, 0xad,
				0xde, 0xca, 0xf8, 0x88 };
static const char aad[] = "fusefs:v1:inode=42:kek=fusefs-kek";

static void expect_request(const char *name, const uint8_t *got, size_t got_len)
{
	size_t len = 0;
	uint8_t *want = kmipvec_load(name, "request", &len);

	assert_int_equal(want[MAJOR_VERSION_BYTE], 1);
	want[MINOR_VERSION_BYTE] = KMIP_VERSION_MINOR;
	assert_int_equal(got_len, len);
	assert_memory_equal(got, want, len);
	free(want);
}

static void parse(const char *name, enum kmip_op op, struct kmip_resp *r, uint8_t **msg)
{
	size_t len = 0;

	*msg = kmipvec_load(name, "response", &len);
	assert_int_equal(kmip_resp_parse(*msg, len, op, r), 0);
}

static void test_requests_equal_captures(void **state)
{
	uint8_t buf[1024], pt[32], ct[32], tag[16];
	struct kmip_crypt c = { .uid = "3", .data = pt, .data_len = 32, .iv = iv,
				.aad = (const uint8_t *)aad, .aad_len = sizeof(aad) - 1 };
	size_t len = 0, n = 0;
	uint8_t *resp;

	(void)state;
	assert_int_equal(kmip_req_create(buf, sizeof(buf), &len, "fusefs-kek"), 0);
	expect_request("01_create", buf, len);
	assert_int_equal(kmip_req_activate(buf, sizeof(buf), &len, "3"), 0);
	expect_request("02_activate", buf, len);
	assert_int_equal(kmip_req_locate_name(buf, sizeof(buf), &len, "fusefs-kek"), 0);
	expect_request("08_locate_by_name_kmip14", buf, len);
	for (int i = 0; i < 32; i++)
		pt[i] = (uint8_t)i;
	assert_int_equal(kmip_req_crypt(buf, sizeof(buf), &len, KMIP_OP_ENCRYPT, &c), 0);
	expect_request("05_encrypt_gcm_kmip14", buf, len);

	/* The Decrypt request carries the Encrypt response's ciphertext and tag. */
	resp = kmipvec_load("05_encrypt_gcm_kmip14", "response", &n);
	memcpy(ct, resp + n - 16 - 8 - 32, 32);   /* Data, then the 16-byte tag item */
	memcpy(tag, resp + n - 16, 16);
	free(resp);
	c.data = ct;
	c.tag = tag;
	assert_int_equal(kmip_req_crypt(buf, sizeof(buf), &len, KMIP_OP_DECRYPT, &c), 0);
	expect_request("06_decrypt_gcm_kmip14", buf, len);

	assert_int_equal(kmip_req_create(buf, 64, &len, "fusefs-kek"), -EMSGSIZE);
}

static void test_create_locate_responses(void **state)
{
	struct kmip_resp r;
	char uid[KMIP_UID_MAX + 1];
	uint8_t *msg;

	(void)state;
	parse("01_create", KMIP_OP_CREATE, &r, &msg);
	assert_int_equal(kmip_resp_errno(&r, KMIP_OP_CREATE), 0);
	assert_int_equal(kmip_resp_uid(&r, uid, sizeof(uid)), 0);
	assert_string_equal(uid, "3");
	free(msg);
	parse("08_locate_by_name_kmip14", KMIP_OP_LOCATE, &r, &msg);
	assert_int_equal(kmip_resp_uid_at(&r, 0, uid, sizeof(uid)), 0);
	assert_string_equal(uid, "3");
	assert_int_equal(kmip_resp_uid_at(&r, 1, uid, sizeof(uid)), 0);
	assert_string_equal(uid, "1");
	assert_int_equal(kmip_resp_uid_at(&r, 2, uid, sizeof(uid)), -ENOENT);
	assert_int_equal(kmip_resp_uid(&r, uid, 1), -ERANGE);
	free(msg);
}

static void test_crypt_responses(void **state)
{
	const uint8_t *p = NULL;
	struct kmip_resp r;
	size_t len = 0;
	uint8_t *msg;

	(void)state;
	parse("05_encrypt_gcm_kmip14", KMIP_OP_ENCRYPT, &r, &msg);
	assert_int_equal(kmip_resp_data(&r, &p, &len), 0);
	assert_int_equal(len, 32);
	assert_int_equal(p[0], 0x62);
	assert_int_equal(kmip_resp_tag(&r, &p, &len), 0);
	assert_int_equal(len, 16);
	assert_int_equal(p[15], 0x98);
	free(msg);
	parse("06_decrypt_gcm_kmip14", KMIP_OP_DECRYPT, &r, &msg);
	assert_int_equal(kmip_resp_data(&r, &p, &len), 0);
	assert_int_equal(len, 32);
	for (int i = 0; i < 32; i++)
		assert_int_equal(p[i], i);
	assert_int_equal(kmip_resp_tag(&r, &p, &len), -EBADMSG);   /* Decrypt returns none */
	free(msg);
}

static void test_errors(void **state)
{
	struct kmip_resp r;
	size_t len = 0;
	uint8_t *msg;

	(void)state;
	parse("12_decrypt_gcm_badtag_error", KMIP_OP_DECRYPT, &r, &msg);
	assert_int_equal(r.status, 1);
	assert_int_equal(r.reason, KMIP_REASON_GENERAL_FAILURE);
	assert_string_equal(r.message, "Operation failed. See the server logs for more information.");
	assert_int_equal(kmip_resp_errno(&r, KMIP_OP_DECRYPT), -EKEYREJECTED);
	assert_int_equal(kmip_resp_errno(&r, KMIP_OP_ENCRYPT), -EIO);
	r.reason = KMIP_REASON_ITEM_NOT_FOUND;
	assert_int_equal(kmip_resp_errno(&r, KMIP_OP_DECRYPT), -ENOKEY);
	r.reason = KMIP_REASON_PERMISSION_DENIED;
	assert_int_equal(kmip_resp_errno(&r, KMIP_OP_DECRYPT), -EACCES);
	r.reason = KMIP_REASON_AUTHENTICATION_NOT_SUCCESSFUL;
	assert_int_equal(kmip_resp_errno(&r, KMIP_OP_LOCATE), -EACCES);
	free(msg);
	/* A response to another operation, or a request, is not our answer. */
	msg = kmipvec_load("01_create", "response", &len);
	assert_int_equal(kmip_resp_parse(msg, len, KMIP_OP_ACTIVATE, &r), -EBADMSG);
	free(msg);
	msg = kmipvec_load("01_create", "request", &len);
	assert_int_equal(kmip_resp_parse(msg, len, KMIP_OP_CREATE, &r), -EBADMSG);
	free(msg);
}

static void test_uid_rules(void **state)
{
	char long_uid[KMIP_UID_MAX + 2];

	(void)state;
	memset(long_uid, 'a', sizeof(long_uid) - 1);
	long_uid[sizeof(long_uid) - 1] = '\0';
	assert_true(kmip_uid_valid("3", 1));
	assert_true(kmip_uid_valid("f47ac10b-58cc-4372-a567-0e02b2c3d479", 36));
	assert_false(kmip_uid_valid("", 0));
	assert_false(kmip_uid_valid("a b", 3));
	assert_false(kmip_uid_valid("a\nb", 3));
	assert_false(kmip_uid_valid(long_uid, strlen(long_uid)));
	assert_string_equal(kmip_state_name(KMIP_STATE_ACTIVE), "active");
	assert_string_equal(kmip_state_name(KMIP_STATE_DEACTIVATED), "deactivated");
	assert_string_equal(kmip_state_name(99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests_equal_captures),
		cmocka_unit_test(test_create_locate_responses),
		cmocka_unit_test(test_crypt_responses),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_uid_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
