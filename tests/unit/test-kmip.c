/*
 * test-kmip.c: what the kmip provider (kms-client/kmip.c) decides before any
 * network I/O: URI syntax, required and unknown attributes, unreadable
 * certificate files. The live protocol is tests/sh/kmip.sh's (real PyKMIP).
 */
#include "config.h"

#include <errno.h>
#include "testutil.h"
#include "kms.h"

static int open_uri(const char *uri)
{
	struct kms *k = NULL;
	int ret = kms_open(uri, NULL, &k);

	assert_null(k);
	return ret;
}

static void test_malformed_uris(void **state)
{
	(void)state;
	assert_int_equal(open_uri("kmip:"), -EINVAL);
	assert_int_equal(open_uri("kmip:127.0.0.1/k?ca=/a&cert=/b&key=/c"), -EINVAL);
	assert_int_equal(open_uri("kmip://127.0.0.1:5696?ca=/a&cert=/b&key=/c"), -EINVAL);
	assert_int_equal(open_uri("kmip://127.0.0.1:5696/?ca=/a&cert=/b&key=/c"), -EINVAL);
	assert_int_equal(open_uri("kmip://127.0.0.1:0/k?ca=/a&cert=/b&key=/c"), -EINVAL);
	assert_int_equal(open_uri("kmip://127.0.0.1:65536/k?ca=/a&cert=/b&key=/c"), -EINVAL);
	assert_int_equal(open_uri("kmip://127.0.0.1:56x/k?ca=/a&cert=/b&key=/c"), -EINVAL);
	assert_int_equal(open_uri("kmip://[::1/k?ca=/a&cert=/b&key=/c"), -EINVAL);
	assert_int_equal(open_uri("kmip://host name/k?ca=/a&cert=/b&key=/c"), -EINVAL);
	assert_int_equal(open_uri("kmip://h/k%20x?ca=/a&cert=/b&key=/c"), -EINVAL);
}

static void test_attributes(void **state)
{
	(void)state;
	/* missing key=, a typo that must not drop verification, a repeated one */
	assert_int_equal(open_uri("kmip://127.0.0.1/k?ca=/a&cert=/b"), -EINVAL);
	assert_int_equal(open_uri("kmip://127.0.0.1/k?ca_file=/a&cert=/b&key=/c"), -EINVAL);
	assert_int_equal(open_uri("kmip://127.0.0.1/k?ca=/a&ca=/x&cert=/b&key=/c"), -EINVAL);
	assert_int_equal(open_uri("kmip://127.0.0.1/k"), -EINVAL);
}

static void test_unreadable_files(void **state)
{
	(void)state;
	assert_int_equal(open_uri("kmip://127.0.0.1:5696/k?ca=/nonexistent/ca.pem"
				  "&cert=/nonexistent/c.pem&key=/nonexistent/c.key"), -EACCES);
	assert_int_equal(open_uri("kmip://[::1]:5696/k?ca=/nonexistent/ca.pem"
				  "&cert=/nonexistent/c.pem&key=/nonexistent/c.key"), -EACCES);
	/* a file that is not a certificate */
	assert_int_equal(open_uri("kmip://127.0.0.1/k?ca=/dev/null&cert=/dev/null&key=/dev/null"),
			 -EACCES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malformed_uris),
		cmocka_unit_test(test_attributes),
		cmocka_unit_test(test_unreadable_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
