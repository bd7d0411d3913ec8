/*
 * test-s3url.c: the S3 repository URL parser (tools/phifs-backup/s3_url.c):
 * path-style bucket and prefix, region and CA options, plain http refused
 * except for loopback hosts, credentials in the URL refused.
 */
#include "config.h"

#include <errno.h>

#include "testutil.h"
#include "s3_url.h"

static void test_parse(void **state)
{
	struct s3_url u;
	char err[128];

	(void)state;
	assert_int_equal(s3_url_parse("s3:https://s3.eu-west-1.amazonaws.com/phi-backup/site1/db?region=eu-west-1",
				      &u, err, sizeof(err)), 0);
	assert_string_equal(u.endpoint, "https://s3.eu-west-1.amazonaws.com");
	assert_string_equal(u.host, "s3.eu-west-1.amazonaws.com");
	assert_string_equal(u.bucket, "phi-backup");
	assert_string_equal(u.prefix, "site1/db/");
	assert_string_equal(u.region, "eu-west-1");
	assert_null(u.ca_file);
	assert_false(u.loopback);
	s3_url_free(&u);

	assert_int_equal(s3_url_parse("s3:http://127.0.0.1:9000/bkt", &u, err, sizeof(err)), 0);
	assert_string_equal(u.endpoint, "http://127.0.0.1:9000");
	assert_string_equal(u.host, "127.0.0.1:9000");
	assert_string_equal(u.prefix, "");
	assert_null(u.region);
	assert_true(u.loopback);
	s3_url_free(&u);

	assert_int_equal(s3_url_parse("s3:http://[::1]:9000/bkt/p/?ca=/etc/ca.pem&retain=2190d",
				      &u, err, sizeof(err)), 0);
	assert_string_equal(u.host, "[::1]:9000");
	assert_string_equal(u.prefix, "p/");
	assert_string_equal(u.ca_file, "/etc/ca.pem");
	assert_string_equal(u.retain, "2190d");
	s3_url_free(&u);

	assert_int_equal(s3_url_parse("s3:http://localhost/bkt", &u, err, sizeof(err)), 0);
	s3_url_free(&u);
	assert_int_equal(s3_url_parse("s3:http://127.200.0.9/bkt", &u, err, sizeof(err)), 0);
	s3_url_free(&u);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"s3:http://10.0.0.1/bkt",              /* plain http off loopback */
		"s3:http://backup.example/bkt",
		"s3:http://128.0.0.1/bkt",
		"s3:http://[::2]/bkt",
		"s3:http://localhost.example/bkt",
		"s3:https://AK:SECRET@host/bkt",       /* credentials in argv */
		"s3:https://host",                     /* no bucket */
		"s3:https://host/",
		"s3:https://host/Upper",               /* bucket naming rules */
		"s3:https://host/ab",
		"s3:https://host/bkt/../x",            /* prefix escaping */
		"s3:https://host/bkt/a//b",
		"s3:https://host/bkt/a b",
		"s3:https://host:0/bkt",
		"s3:https://host:99999/bkt",
		"s3:https://host:12a/bkt",
		"s3:https://ho_st/bkt",
		"s3:https://host/bkt?region=EU/1",
		"s3:https://host/bkt?foo=bar",
		"s3:https://host/bkt?region",
		"s3:https://host/bkt?region=",
		"s3:https://[::1/bkt",
		"s3:ftp://host/bkt",
		"https://host/bkt",
	};
	struct s3_url u;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (s3_url_parse(bad[i], &u, err, sizeof(err)) != -EINVAL)
			fail_msg("accepted %s", bad[i]);
		assert_true(err[0] != '\0');
		assert_null(u.endpoint);
	}
	assert_int_equal(s3_url_parse("s3:http://10.0.0.1/bkt", &u, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "plain http"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
