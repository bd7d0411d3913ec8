/*
 * test-audit-line.c: fs/audit_line.c writes json-c's plain form byte for
 * byte — every byte value in a string (escapes, DEL, non-ASCII, an embedded
 * NUL), integers at their limits, nested values, growth past the first
 * buffer — and its text parses back (docs/AUDIT_FORMAT.md §1).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "audit_line.h"

#define PLAIN (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* l's text equals json-c's serialisation of v. */
static void expect_same(struct audit_line *l, struct json_object *v)
{
	size_t n = 0;
	const char *want = json_object_to_json_string_length(v, PLAIN, &n);

	assert_int_equal(audit_line_done(l), 0);
	assert_int_equal(l->len, n);
	assert_memory_equal(l->buf, want, n);
}

static void test_every_byte(void **state)
{
	struct audit_line l = { 0 };

	(void)state;
	for (int c = 0; c < 256; c++) {
		char s[3] = { 'a', (char)c, 'z' };
		struct json_object *v = json_object_new_string_len(s, 3);

		audit_line_reset(&l);
		audit_line_json(&l, v);
		expect_same(&l, v);
		if (c) {   /* the C-string entry point agrees */
			char cs[4] = { 'a', (char)c, 'z', 0 };

			audit_line_reset(&l);
			audit_line_str(&l, cs);
			expect_same(&l, v);
		}
		json_object_put(v);
	}
	audit_line_free(&l);
}

static void test_numbers_and_literals(void **state)
{
	static const int64_t ints[] = { 0, 1, -1, INT64_MAX, INT64_MIN, 4294967295LL };
	struct audit_line l = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		struct json_object *v = json_object_new_int64(ints[i]);

		audit_line_reset(&l);
		audit_line_int(&l, ints[i]);
		expect_same(&l, v);
		audit_line_reset(&l);
		audit_line_json(&l, v);
		expect_same(&l, v);
		json_object_put(v);
	}
	for (int b = 0; b < 2; b++) {
		struct json_object *v = json_object_new_boolean(b);

		audit_line_reset(&l);
		audit_line_bool(&l, b);
		expect_same(&l, v);
		json_object_put(v);
	}
	audit_line_reset(&l);
	audit_line_str(&l, NULL);
	audit_line_raw(&l, "", 1);
	assert_string_equal(l.buf, "null");
	audit_line_free(&l);
}

static void test_nested_and_keys(void **state)
{
	const char *doc = "{\"a\":[1,-2,{\"b\":null,\"c\":[]},{},[[]]],\"d\":false,\"e\":1.5,"
			  "\"f\\\"g\":\"\\u0002/\\\\\",\"h\":{\"i\":{\"j\":18446744073709551615}},"
			  "\"\":\"\"}";
	struct json_object *v = json_tokener_parse(doc);
	struct audit_line l = { 0 };

	(void)state;
	assert_non_null(v);
	audit_line_json(&l, v);
	expect_same(&l, v);
	/* Members written one key at a time read as the same object. */
	audit_line_reset(&l);
	audit_line_raw(&l, "{", 1);
	audit_line_members(&l, v, NULL, NULL);
	audit_line_raw(&l, "}", 1);
	expect_same(&l, v);
	json_object_put(v);
	audit_line_free(&l);
}

static void test_hex_and_growth(void **state)
{
	uint8_t b[3] = { 0x00, 0xab, 0xff };
	struct audit_line l = { 0 };
	char *big = malloc(100001);
	struct json_object *v;

	(void)state;
	assert_non_null(big);
	audit_line_hex(&l, b, sizeof(b));
	audit_line_raw(&l, "", 1);
	assert_string_equal(l.buf, "\"00abff\"");
	for (size_t i = 0; i < 100000; i++)
		big[i] = (char)(i % 7 == 0 ? '\n' : 'a' + i % 26);
	big[100000] = '\0';
	v = json_object_new_string(big);
	audit_line_reset(&l);
	audit_line_str(&l, big);
	expect_same(&l, v);
	assert_true(l.cap >= l.len);
	json_object_put(v);
	free(big);
	audit_line_free(&l);
	assert_null(l.buf);
	audit_line_free(&l);   /* twice is fine */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_numbers_and_literals),
		cmocka_unit_test(test_nested_and_keys),
		cmocka_unit_test(test_hex_and_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
