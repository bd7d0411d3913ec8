/*
 * test-s3xml.c: the S3 XML reader (tools/phifs-backup/s3_xml.c): a listing
 * page's keys, sizes and continuation, entity decoding, and refusal of
 * malformed answers. tests/fuzz/fuzz-s3list.c checks it never overruns.
 */
#include "config.h"

#include <errno.h>

#include "testutil.h"
#include "s3_xml.h"

struct seen {
	char keys[4][64];
	uint64_t sizes[4];
	int n;
};

static int collect(void *arg, const char *key, uint64_t size)
{
	struct seen *s = arg;

	assert_true(s->n < 4);
	snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
	s->sizes[s->n++] = size;
	return 0;
}

static int page(const char *xml, struct seen *s, struct s3_list_page *pg)
{
	memset(s, 0, sizeof(*s));
	return s3_xml_list_page(xml, strlen(xml), collect, s, pg);
}

static void test_list_page(void **state)
{
	struct s3_list_page pg;
	struct seen s;

	(void)state;
	assert_int_equal(page("<ListBucketResult><IsTruncated>true</IsTruncated>"
			      "<NextContinuationToken>a+b/c==</NextContinuationToken>"
			      "<Contents><Key>p/data/0a</Key><Size>16777216</Size></Contents>"
			      "<Contents><ETag>&quot;x&quot;</ETag><Size>0</Size><Key>p/c&amp;d&#x20AC;&#65;</Key></Contents>"
			      "</ListBucketResult>", &s, &pg), 0);
	assert_true(pg.truncated);
	assert_string_equal(pg.next_token, "a+b/c==");
	assert_int_equal(s.n, 2);
	assert_string_equal(s.keys[0], "p/data/0a");
	assert_true(s.sizes[0] == 16777216);
	assert_string_equal(s.keys[1], "p/c&d\xe2\x82\xac" "A");
	assert_true(s.sizes[1] == 0);

	assert_int_equal(page("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>",
			      &s, &pg), 0);
	assert_false(pg.truncated);
	assert_int_equal(s.n, 0);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"<Error><Code>x</Code></Error>",                                   /* not a listing */
		"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>", /* no token */
		"<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>", /* no size */
		"<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key><Size>18446744073709551616</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a&bogus;</Key><Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a&#0;</Key><Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a&#xD800;</Key><Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key></Key><Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a\nb</Key><Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>abc",
	};
	struct s3_list_page pg;
	struct seen s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (page(bad[i], &s, &pg) != -EPROTO)
			fail_msg("accepted %s", bad[i]);
	/* A token over S3_XML_TOKEN_MAX: refused, and the token left "", never a
	 * partial unterminated string (found by fuzz-s3list). */
	{
		static char xml[4096];
		int n = snprintf(xml, sizeof(xml), "<ListBucketResult><IsTruncated>true</IsTruncated>"
				 "<NextContinuationToken>");

		memset(xml + n, 't', S3_XML_TOKEN_MAX + 10);
		snprintf(xml + n + S3_XML_TOKEN_MAX + 10, sizeof(xml) - (size_t)n - S3_XML_TOKEN_MAX - 10,
			 "</NextContinuationToken></ListBucketResult>");
		memset(pg.next_token, 'x', sizeof(pg.next_token));
		assert_int_equal(page(xml, &s, &pg), -EPROTO);
		assert_string_equal(pg.next_token, "");
	}
}

static void test_text(void **state)
{
	const char *x = "<Error><Code>SignatureDoesNotMatch</Code><Message>m</Message></Error>";
	char out[8];

	(void)state;
	assert_int_equal(s3_xml_text(x, strlen(x), "Message", out, sizeof(out)), 0);
	assert_string_equal(out, "m");
	assert_int_equal(s3_xml_text(x, strlen(x), "Code", out, sizeof(out)), -EPROTO); /* too long */
	assert_int_equal(s3_xml_text(x, strlen(x), "Mode", out, sizeof(out)), -ENOENT);
	/* bounded by len, not by a NUL */
	assert_int_equal(s3_xml_text(x, 20, "Code", out, sizeof(out)), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_page),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
