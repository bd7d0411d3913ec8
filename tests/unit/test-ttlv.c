/*
 * test-ttlv.c: the TTLV codec (kms-client/ttlv.c). Every captured PyKMIP
 * message (tests/vectors/kmip/) decodes and re-encodes to the same bytes;
 * malformed input — truncation, length overruns, bad padding, wrong fixed
 * lengths, bad booleans, trailing bytes, too deep nesting — is refused;
 * the writer reports overflow and misuse.
 */
#include "config.h"

#include <errno.h>
#include "kmipvec.h"
#include "ttlv.h"

static const char *const names[] = { KMIPVEC_NAMES };

/* Writes `it` (and its children) with the writer: the codec's inverse. */
static void reencode(struct ttlv_writer *w, const struct ttlv *it)
{
	struct ttlv child;
	size_t pos = 0;
	int32_t i32;
	int64_t i64;
	uint32_t u32;
	int b;

	switch (it->type) {
	case TTLV_STRUCT:
		ttlv_begin(w, it->tag);
		while (ttlv_next(it, &pos, &child) == 1)
			reencode(w, &child);
		ttlv_end(w);
		break;
	case TTLV_INT:
		assert_int_equal(ttlv_get_int(it, &i32), 0);
		ttlv_put_int(w, it->tag, i32);
		break;
	case TTLV_LONG:
		assert_int_equal(ttlv_get_long(it, &i64), 0);
		ttlv_put_long(w, it->tag, i64);
		break;
	case TTLV_ENUM:
		assert_int_equal(ttlv_get_enum(it, &u32), 0);
		ttlv_put_enum(w, it->tag, u32);
		break;
	case TTLV_BOOL:
		assert_int_equal(ttlv_get_bool(it, &b), 0);
		ttlv_put_bool(w, it->tag, b);
		break;
	case TTLV_TEXT:
		ttlv_put_text(w, it->tag, (const char *)it->val, it->len);
		break;
	case TTLV_BYTES:
		ttlv_put_bytes(w, it->tag, it->val, it->len);
		break;
	case TTLV_DATETIME:
		assert_int_equal(ttlv_get_datetime(it, &i64), 0);
		ttlv_put_datetime(w, it->tag, i64);
		break;
	case TTLV_INTERVAL:
		assert_int_equal(ttlv_get_interval(it, &u32), 0);
		ttlv_put_interval(w, it->tag, u32);
		break;
	default:
		fail_msg("unexpected type %u", it->type);
	}
}

static void roundtrip(const char *name, const char *kind)
{
	size_t len = 0, out_len = 0;
	uint8_t *msg = kmipvec_load(name, kind, &len);
	uint8_t out[8192];
	struct ttlv_writer w;
	struct ttlv root;

	assert_int_equal(ttlv_decode(msg, len, &root), 0);
	assert_int_equal(root.type, TTLV_STRUCT);
	assert_int_equal(root.tag, strcmp(kind, "request") ? 0x42007B : 0x420078);
	ttlv_writer_init(&w, out, sizeof(out));
	reencode(&w, &root);
	assert_int_equal(ttlv_finish(&w, &out_len), 0);
	assert_int_equal(out_len, len);
	assert_memory_equal(out, msg, len);
	free(msg);
}

static void test_captures_roundtrip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		roundtrip(names[i], "request");
		roundtrip(names[i], "response");
	}
}

static void test_every_truncation_refused(void **state)
{
	size_t len = 0;
	uint8_t *msg = kmipvec_load("05_encrypt_gcm_kmip14", "response", &len);
	struct ttlv root;

	(void)state;
	for (size_t n = 0; n < len; n++)
		assert_int_equal(ttlv_decode(msg, n, &root), -EBADMSG);
	free(msg);
}

/* One message to damage: Structure { Integer 7, Text "abc" }. */
static size_t small_msg(uint8_t *buf, size_t cap)
{
	struct ttlv_writer w;
	size_t len = 0;

	ttlv_writer_init(&w, buf, cap);
	ttlv_begin(&w, 0x420078);
	ttlv_put_int(&w, 0x42006A, 7);
	ttlv_put_text(&w, 0x420055, "abc", 3);
	ttlv_end(&w);
	assert_int_equal(ttlv_finish(&w, &len), 0);
	assert_int_equal(len, 8 + 16 + 16);
	return len;
}

static void test_malformed_refused(void **state)
{
	uint8_t buf[64], bad[72];
	size_t len = small_msg(buf, sizeof(buf));
	struct ttlv root;

	(void)state;
	assert_int_equal(ttlv_decode(buf, len, &root), 0);
	memcpy(bad, buf, len);
	bad[7] += 8;                                          /* outer length overruns */
	assert_int_equal(ttlv_decode(bad, len, &root), -EBADMSG);
	memcpy(bad, buf, len);
	bad[8 + 7] = 5;                                       /* integer of length 5 */
	assert_int_equal(ttlv_decode(bad, len, &root), -EBADMSG);
	memcpy(bad, buf, len);
	bad[8 + 12] = 1;                                      /* non-zero integer padding */
	assert_int_equal(ttlv_decode(bad, len, &root), -EBADMSG);
	memcpy(bad, buf, len);
	bad[24 + 8 + 5] = 'x';                                /* non-zero text padding */
	assert_int_equal(ttlv_decode(bad, len, &root), -EBADMSG);
	memcpy(bad, buf, len);
	bad[24 + 7] = 9;                                      /* text runs past its parent */
	assert_int_equal(ttlv_decode(bad, len, &root), -EBADMSG);
	memcpy(bad, buf, len);
	bad[8 + 3] = 0x0b;                                    /* unknown type */
	assert_int_equal(ttlv_decode(bad, len, &root), -EBADMSG);
	memcpy(bad, buf, len);
	memset(bad + len, 0, 8);                              /* trailing bytes */
	assert_int_equal(ttlv_decode(bad, len + 8, &root), -EBADMSG);
	assert_int_equal(ttlv_decode(NULL, 0, &root), -EBADMSG);
}

static void test_bool_and_depth(void **state)
{
	uint8_t buf[512];
	struct ttlv_writer w;
	struct ttlv root, it;
	size_t len = 0;
	int b = 0;

	(void)state;
	ttlv_writer_init(&w, buf, sizeof(buf));
	ttlv_begin(&w, 0x420001);
	ttlv_put_bool(&w, 0x420002, 1);
	ttlv_end(&w);
	assert_int_equal(ttlv_finish(&w, &len), 0);
	assert_int_equal(ttlv_decode(buf, len, &root), 0);
	assert_int_equal(ttlv_find(&root, 0x420002, &it), 0);
	assert_int_equal(ttlv_get_bool(&it, &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(ttlv_find(&root, 0x420003, &it), -ENOENT);
	buf[len - 1] = 2;                                     /* a boolean is 0 or 1 */
	assert_int_equal(ttlv_decode(buf, len, &root), -EBADMSG);

	/* The writer stops at TTLV_DEPTH_MAX open structures... */
	ttlv_writer_init(&w, buf, sizeof(buf));
	for (int i = 0; i <= TTLV_DEPTH_MAX; i++)
		ttlv_begin(&w, 0x420001);
	assert_int_equal(ttlv_finish(&w, &len), -EINVAL);
	/* ...and the reader refuses deeper nesting than that, built by hand. */
	len = 8 * (TTLV_DEPTH_MAX + 1);
	memset(buf, 0, len);
	for (int i = 0; i <= TTLV_DEPTH_MAX; i++) {
		uint8_t *h = buf + 8 * i;
		uint32_t inner = (uint32_t)(len - 8 * (size_t)(i + 1));

		h[0] = 0x42, h[2] = 1, h[3] = TTLV_STRUCT;
		h[4] = (uint8_t)(inner >> 24), h[5] = (uint8_t)(inner >> 16);
		h[6] = (uint8_t)(inner >> 8), h[7] = (uint8_t)inner;
	}
	assert_int_equal(ttlv_decode(buf, len, &root), -EBADMSG);
	assert_int_equal(ttlv_decode(buf + 8, len - 8, &root), 0);   /* one level less */
}

static void test_writer_overflow_and_types(void **state)
{
	uint8_t buf[32];
	struct ttlv_writer w;
	struct ttlv root, it;
	size_t len = 0;
	int32_t v = 0;

	(void)state;
	ttlv_writer_init(&w, buf, sizeof(buf));
	ttlv_begin(&w, 0x420078);
	ttlv_put_bytes(&w, 0x4200C2, buf, 17);                /* 8 + 8 + 24 > 32 */
	ttlv_end(&w);
	assert_int_equal(ttlv_finish(&w, &len), -EMSGSIZE);
	ttlv_writer_init(&w, buf, sizeof(buf));
	ttlv_end(&w);                                         /* nothing open */
	assert_int_equal(ttlv_finish(&w, &len), -EINVAL);
	ttlv_writer_init(&w, buf, sizeof(buf));
	ttlv_begin(&w, 0x420078);
	ttlv_put_interval(&w, 0x42000E, 3600);
	ttlv_end(&w);
	assert_int_equal(ttlv_finish(&w, &len), 0);
	assert_int_equal(ttlv_decode(buf, len, &root), 0);
	assert_int_equal(ttlv_find(&root, 0x42000E, &it), 0);
	assert_int_equal(ttlv_get_int(&it, &v), -EBADMSG);    /* an interval is not an integer */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captures_roundtrip),
		cmocka_unit_test(test_every_truncation_refused),
		cmocka_unit_test(test_malformed_refused),
		cmocka_unit_test(test_bool_and_depth),
		cmocka_unit_test(test_writer_overflow_and_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
