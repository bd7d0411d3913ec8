/*
 * test-b64.c: fs/b64.c against RFC 4648 §10 (rewritten for base64url without
 * padding), the two url-safe characters, and the strict decoder's refusals
 * (padding, other alphabets, impossible lengths, non-canonical trailing bits).
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include "testutil.h"
#include "b64.h"

struct vector {
	const char *raw;
	const char *text;
};

/* RFC 4648 §10 with the '=' padding dropped (§3.2 allows that by agreement). */
static const struct vector rfc4648[] = {
	{ "", "" },
	{ "f", "Zg" },
	{ "fo", "Zm8" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg" },
	{ "fooba", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy" },
};

static void test_rfc4648_vectors(void **state)
{
	char text[16];
	uint8_t raw[16];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		const struct vector *v = &rfc4648[i];
		size_t rl = strlen(v->raw), tl = strlen(v->text);

		assert_int_equal(b64_encoded_len(rl), tl);
		assert_int_equal(b64_encode((const uint8_t *)v->raw, rl, text, sizeof(text)), 0);
		assert_string_equal(text, v->text);
		n = 99;
		assert_int_equal(b64_decode(v->text, tl, raw, sizeof(raw), &n), 0);
		assert_int_equal(n, rl);
		assert_memory_equal(raw, v->raw, rl);
	}
}

/* 0xfb 0xff is "+/8=" and 0xfbefbe ffffff "++++////" in standard base64. */
static void test_url_alphabet(void **state)
{
	const uint8_t in1[] = { 0xfb, 0xff }, in2[] = { 0xfb, 0xef, 0xbe, 0xff, 0xff, 0xff };
	uint8_t raw[8];
	char text[16];
	size_t n;

	(void)state;
	assert_int_equal(b64_encode(in1, sizeof(in1), text, sizeof(text)), 0);
	assert_string_equal(text, "-_8");
	assert_int_equal(b64_encode(in2, sizeof(in2), text, sizeof(text)), 0);
	assert_string_equal(text, "----____");
	assert_int_equal(b64_decode("-_8", 3, raw, sizeof(raw), &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(raw, in1, 2);
	assert_int_equal(b64_decode("----____", 8, raw, sizeof(raw), &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(raw, in2, 6);
}

/* Every byte value at every position and every length 0..70 survives a round trip. */
static void test_roundtrip_all_lengths(void **state)
{
	uint8_t in[70], back[70];
	char text[100];
	size_t n;

	(void)state;
	for (size_t len = 0; len <= sizeof(in); len++) {
		for (size_t i = 0; i < len; i++)
			in[i] = (uint8_t)(len * 37 + i * 101 + 255 * (i & 1));
		assert_int_equal(b64_encode(in, len, text, sizeof(text)), 0);
		assert_int_equal(strlen(text), b64_encoded_len(len));
		assert_int_equal(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					      "0123456789-_"), strlen(text));
		assert_int_equal(b64_decode(text, strlen(text), back, sizeof(back), &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(back, in, len);
	}
	for (int b = 0; b < 256; b++) {
		uint8_t one = (uint8_t)b, got;

		assert_int_equal(b64_encode(&one, 1, text, sizeof(text)), 0);
		assert_int_equal(b64_decode(text, 2, &got, 1, &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(got, one);
	}
}

static void test_decode_rejects(void **state)
{
	static const char *const bad[] = {
		"Zg==",    /* padding */
		"Zm8=",    /* padding */
		"Zg=",     /* padding */
		"+/8",     /* standard alphabet */
		"Zm9+",    /* standard alphabet */
		"Zm/v",    /* standard alphabet */
		"Z",       /* length 1 mod 4 */
		"Zm9vY",   /* length 1 mod 4 */
		"Zh",      /* trailing bits 0001: non-canonical "f" */
		"Zm9",     /* trailing bits 01: non-canonical "fo" */
		"Zm_",     /* trailing bits 11 */
		"Zm9 ",    /* space */
		"Zm9.",    /* '.' (reserved names) */
		"Zm9\n",   /* newline */
		"\xc3\xa9Zm", /* non-ASCII */
		"phifs.ln.x",
	};
	uint8_t raw[16];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(b64_decode(bad[i], strlen(bad[i]), raw, sizeof(raw), &n), -EINVAL);
	/* An embedded NUL inside the given length is not part of the alphabet. */
	assert_int_equal(b64_decode("Zm\0v", 4, raw, sizeof(raw), &n), -EINVAL);
	/* Only n characters are read: the same text cut short decodes its prefix. */
	assert_int_equal(b64_decode("Zm9vYmFy", 4, raw, sizeof(raw), &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(raw, "foo", 3);
}

static void test_capacity(void **state)
{
	uint8_t raw[6];
	char text[9];
	size_t n;

	(void)state;
	/* encode needs room for the NUL. */
	assert_int_equal(b64_encode((const uint8_t *)"foobar", 6, text, 8), -ENAMETOOLONG);
	assert_int_equal(b64_encode((const uint8_t *)"foobar", 6, text, 9), 0);
	assert_string_equal(text, "Zm9vYmFy");
	assert_int_equal(b64_encode((const uint8_t *)"", 0, text, 0), -ENAMETOOLONG);
	assert_int_equal(b64_encode((const uint8_t *)"", 0, text, 1), 0);
	assert_string_equal(text, "");
	/* decode needs exactly the decoded length. */
	assert_int_equal(b64_decode("Zm9vYmFy", 8, raw, 5, &n), -ENOSPC);
	assert_int_equal(b64_decode("Zm9vYmE", 7, raw, 4, &n), -ENOSPC);
	assert_int_equal(b64_decode("Zm9vYmE", 7, raw, 5, &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(raw, "fooba", 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_url_alphabet),
		cmocka_unit_test(test_roundtrip_all_lengths),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_capacity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
