/* test-kmsuri.c: the provider-URI attribute parser (kms-client/kmsuri.c). */
#include "config.h"

#include <errno.h>
#include "testutil.h"
#include "kmsuri.h"

static int attr(const char *s, char sep, const char *name, char *out, size_t cap)
{
	return kms_uri_attr(s, strlen(s), sep, name, out, cap);
}

static void test_found_and_decoded(void **state)
{
	const char *q = "ca=/etc/phifs/ca.pem&cert=/c%20d.pem&key=%2Fk.pem";
	char v[64];

	(void)state;
	assert_int_equal(attr(q, '&', "ca", v, sizeof(v)), 0);
	assert_string_equal(v, "/etc/phifs/ca.pem");
	assert_int_equal(attr(q, '&', "cert", v, sizeof(v)), 0);
	assert_string_equal(v, "/c d.pem");
	assert_int_equal(attr(q, '&', "key", v, sizeof(v)), 0);
	assert_string_equal(v, "/k.pem");
	assert_int_equal(attr("token=My%3bToken;object=kek-v1", ';', "token", v, sizeof(v)), 0);
	assert_string_equal(v, "My;Token");
	assert_int_equal(attr("a=&b=1", '&', "a", v, sizeof(v)), 0);
	assert_string_equal(v, "");
}

static void test_absent_and_prefix(void **state)
{
	char v[64];

	(void)state;
	assert_int_equal(attr("cacert=/x", '&', "ca", v, sizeof(v)), -ENOENT);
	assert_int_equal(attr("", '&', "ca", v, sizeof(v)), -ENOENT);
	assert_int_equal(attr("&&", '&', "ca", v, sizeof(v)), -ENOENT);
}

static void test_malformed(void **state)
{
	char v[8];

	(void)state;
	assert_int_equal(attr("ca", '&', "ca", v, sizeof(v)), -EINVAL);          /* no '=' */
	assert_int_equal(attr("=x", '&', "ca", v, sizeof(v)), -EINVAL);          /* no name */
	assert_int_equal(attr("ca=%4", '&', "ca", v, sizeof(v)), -EINVAL);       /* short %XX */
	assert_int_equal(attr("ca=%zz", '&', "ca", v, sizeof(v)), -EINVAL);
	assert_int_equal(attr("ca=a%0ab", '&', "ca", v, sizeof(v)), -EINVAL);    /* control byte */
	assert_int_equal(attr("ca=1&ca=2", '&', "ca", v, sizeof(v)), -EINVAL);   /* repeated */
	assert_int_equal(attr("ca=12345678", '&', "ca", v, sizeof(v)), -ERANGE); /* 8 + NUL > 8 */
	assert_int_equal(attr("ca=1234567", '&', "ca", v, sizeof(v)), 0);
}

static void test_known(void **state)
{
	static const char *const known[] = { "ca", "cert", "key", NULL };
	const char *good = "ca=1&cert=2&key=3", *typo = "ca=1&ca_file=2";

	(void)state;
	assert_int_equal(kms_uri_known(good, strlen(good), '&', known, "test"), 0);
	assert_int_equal(kms_uri_known(typo, strlen(typo), '&', known, "test"), -EINVAL);
	assert_int_equal(kms_uri_known("ca", 2, '&', known, "test"), -EINVAL);
	assert_int_equal(kms_uri_known("", 0, '&', known, "test"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_found_and_decoded),
		cmocka_unit_test(test_absent_and_prefix),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_known),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
