/*
 * test-backup-obj.c: the byte encodings of a backup repository
 * (docs/BACKUP_FORMAT.md §5 sealed objects, §6.2 pack headers, §8 index),
 * tools/phifs-backup/repo_obj.c and repo_index.c: round trips with and
 * without compression, and refusal of every tampered, truncated, retyped or
 * re-addressed object; plus hex and durations (repo_util.c).
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include "testutil.h"
#include "repo_index.h"
#include "repo_obj.h"
#include "repo_util.h"

static const uint8_t key[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
static const uint8_t id[32] = { 0xaa, 0xbb, 0xcc };

static void roundtrip(uint8_t type, const uint8_t *bid, const void *pt, size_t len,
		      enum repo_obj_z z, size_t *stored)
{
	uint8_t *obj = NULL, *back = NULL;
	size_t olen = 0, blen = 0;

	assert_int_equal(repo_obj_seal(key, type, bid, pt, len, z, &obj, &olen), 0);
	assert_memory_equal(obj, REPO_OBJ_MAGIC, 4);
	assert_int_equal(obj[5], type);
	assert_int_equal(repo_obj_open(key, type, bid, obj, olen, &back, &blen), 0);
	assert_int_equal(blen, len);
	if (len)
		assert_memory_equal(back, pt, len);
	*stored = olen;
	free(obj);
	free(back);
}

static void test_roundtrip(void **state)
{
	uint8_t zeros[65536] = { 0 }, rnd[65536];
	size_t stored;

	(void)state;
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (uint8_t)(i * 2654435761u >> 13);
	roundtrip(REPO_T_DATA, id, rnd, sizeof(rnd), REPO_Z_IF_WORTH, &stored);
	roundtrip(REPO_T_DATA, id, zeros, sizeof(zeros), REPO_Z_IF_WORTH, &stored);
	assert_true(stored < 1024);                 /* sparse slots compress */
	roundtrip(REPO_T_DATA, id, zeros, sizeof(zeros), REPO_Z_NONE, &stored);
	assert_int_equal(stored, sizeof(zeros) + REPO_OBJ_OVERHEAD);
	roundtrip(REPO_T_TREE, id, "{\"p\":\".\"}\n", 10, REPO_Z_ALWAYS, &stored);
	roundtrip(REPO_T_INDEX, NULL, "", 0, REPO_Z_ALWAYS, &stored);
	roundtrip(REPO_T_SNAPSHOT, NULL, "{}", 2, REPO_Z_NONE, &stored);
}

static void test_refusals(void **state)
{
	uint8_t *obj = NULL, *back = NULL, other[32] = { 0xaa, 0xbb, 0xcd }, wrongkey[32] = { 9 };
	size_t olen = 0, blen;
	const char *msg = "a chunk of ciphertext, as phifs stores it on disk";

	(void)state;
	assert_int_equal(repo_obj_seal(key, REPO_T_DATA, id, msg, strlen(msg), REPO_Z_NONE, &obj,
				       &olen), 0);
	for (size_t i = 0; i < olen; i++) {            /* every byte is covered */
		obj[i] ^= 0x01;
		assert_true(repo_obj_open(key, REPO_T_DATA, id, obj, olen, &back, &blen) < 0);
		assert_null(back);
		obj[i] ^= 0x01;
	}
	assert_int_equal(repo_obj_open(key, REPO_T_TREE, id, obj, olen, &back, &blen), -EBADMSG);
	assert_int_equal(repo_obj_open(key, REPO_T_DATA, other, obj, olen, &back, &blen), -EBADMSG);
	assert_int_equal(repo_obj_open(key, REPO_T_DATA, NULL, obj, olen, &back, &blen), -EBADMSG);
	assert_int_equal(repo_obj_open(wrongkey, REPO_T_DATA, id, obj, olen, &back, &blen), -EBADMSG);
	for (size_t n = 0; n < olen; n++)
		assert_true(repo_obj_open(key, REPO_T_DATA, id, obj, n, &back, &blen) < 0);
	obj[4] = 2;
	assert_int_equal(repo_obj_open(key, REPO_T_DATA, id, obj, olen, &back, &blen), -EPROTO);
	free(obj);
}

static void test_index_roundtrip(void **state)
{
	struct repo_blob_ent blobs[3] = {
		{ .type = REPO_T_DATA, .id = { 1 }, .off = 0, .len = 100, .raw_len = 64 },
		{ .type = REPO_T_DATA, .id = { 2 }, .off = 100, .len = 236, .raw_len = 176 },
		{ .type = REPO_T_TREE, .id = { 3 }, .off = 336, .len = 50, .raw_len = 400 },
	};
	struct repo_pack_info packs[2] = {
		{ .id = { 0xee }, .size = 500, .n = 3, .blobs = blobs },
		{ .id = { 0xef }, .size = 44, .n = 0, .blobs = NULL },
	}, *back = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, n = 0;

	(void)state;
	assert_int_equal(repo_index_encode(packs, 2, &buf, &len), 0);
	assert_int_equal(len, 8 + 2 * 44 + 3 * 49);
	assert_int_equal(repo_index_decode(buf, len, &back, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(back[0].id, packs[0].id, 32);
	assert_int_equal(back[0].size, 500);
	assert_int_equal(back[0].n, 3);
	assert_memory_equal(back[0].blobs[2].id, blobs[2].id, 32);
	assert_int_equal(back[0].blobs[2].off, 336);
	assert_int_equal(back[0].blobs[2].raw_len, 400);
	assert_int_equal(back[1].n, 0);
	repo_packs_free(back, n);
	/* trailing byte, short, a blob past the end of its pack, a bad type */
	assert_int_equal(repo_index_decode(buf, len - 1, &back, &n), -EBADMSG);
	buf = realloc(buf, len + 1);
	assert_int_equal(repo_index_decode(buf, len + 1, &back, &n), -EBADMSG);
	buf[8 + 32] = 10;                           /* pack 0 size 10 < its blobs */
	assert_int_equal(repo_index_decode(buf, len, &back, &n), -EBADMSG);
	buf[8 + 32] = 500 & 0xff;
	buf[8 + 44] = 9;                            /* blob type */
	assert_int_equal(repo_index_decode(buf, len, &back, &n), -EBADMSG);
	buf[4] = 0xff;                              /* absurd pack count */
	assert_int_equal(repo_index_decode(buf, len, &back, &n), -EBADMSG);
	free(buf);
}

static void test_packhdr(void **state)
{
	struct repo_blob_ent blobs[2] = {
		{ .type = REPO_T_DATA, .id = { 7 }, .len = 60, .raw_len = 24 },
		{ .type = REPO_T_TREE, .id = { 8 }, .len = 70, .raw_len = 30 },
	}, *back = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, n = 0;

	(void)state;
	assert_int_equal(repo_packhdr_encode(blobs, 2, &buf, &len), 0);
	assert_int_equal(repo_packhdr_decode(buf, len, &back, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(back[0].off, 0);
	assert_int_equal(back[1].off, 60);          /* offsets are cumulative */
	assert_int_equal(back[1].raw_len, 30);
	free(back);
	assert_int_equal(repo_packhdr_decode(buf, len - 1, &back, &n), -EBADMSG);
	buf[33] = 3;                                /* stored length below the sealed overhead */
	buf[34] = buf[35] = buf[36] = 0;
	assert_int_equal(repo_packhdr_decode(buf, len, &back, &n), -EBADMSG);
	free(buf);
}

static void test_util(void **state)
{
	uint8_t b[4] = { 0x00, 0x7f, 0x80, 0xff }, back[4];
	char hex[9], name[100];
	int64_t d;

	(void)state;
	repo_hex(b, 4, hex);
	assert_string_equal(hex, "007f80ff");
	assert_int_equal(repo_unhex("007F80ff", back, 4), 0);
	assert_memory_equal(back, b, 4);
	assert_int_equal(repo_unhex("007f80f", back, 4), -EINVAL);
	assert_int_equal(repo_unhex("007f80fg", back, 4), -EINVAL);
	repo_obj_name("data", id, name, sizeof(name));
	assert_int_equal(strncmp(name, "data/aa/aabbcc", 14), 0);
	repo_obj_name("index", id, name, sizeof(name));
	assert_int_equal(strlen(name), 6 + 64);
	assert_int_equal(repo_parse_duration("6y", &d), 0);
	assert_int_equal(d, 6 * 365 * 86400);
	assert_int_equal(repo_parse_duration("2w", &d), 0);
	assert_int_equal(d, 14 * 86400);
	assert_int_equal(repo_parse_duration("30d", &d), 0);
	assert_int_equal(d, 30 * 86400);
	assert_int_equal(repo_parse_duration("0", &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(repo_parse_duration("y", &d), -EINVAL);
	assert_int_equal(repo_parse_duration("5dy", &d), -EINVAL);
	assert_int_equal(repo_parse_duration("-1y", &d), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_index_roundtrip),
		cmocka_unit_test(test_packhdr),
		cmocka_unit_test(test_util),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
