/*
 * test-sigv4.c: the SigV4 signer (tools/phifs-backup/sigv4.c) against AWS's
 * published Signature Version 4 test suite and Amazon S3's own examples,
 * copied into tests/vectors/sigv4/ (each NAME.req is an HTTP request, NAME.authz
 * the Authorization header AWS computed for it).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <strings.h>

#include "testutil.h"
#include "sigv4.h"

static const char *const suite[] = {
	"get-vanilla", "get-vanilla-query-order-key-case", "get-vanilla-query-order-value",
	"get-vanilla-empty-query-key", "get-vanilla-query-unreserved", "get-vanilla-utf8-query",
	"get-unreserved", "get-utf8", "get-header-value-trim", "post-vanilla",
	"post-header-key-sort", "post-x-www-form-urlencoded",
	"post-x-www-form-urlencoded-parameters", "post-sts-header-before",
};
static const char *const s3_examples[] = {
	"s3-get-object-range", "s3-put-object", "s3-get-lifecycle", "s3-list-objects",
};

/* A parsed .req: pointers into one mutable copy of the file. */
struct vreq {
	char text[4096];
	char *method, *path, *body, *date;
	struct sigv4_pair q[8], h[8];
	size_t nq, nh;
	char hash[SIGV4_HEX_LEN + 1];
};

static void load(const char *name, const char *ext, char *buf, size_t cap)
{
	const char *top = getenv("top_srcdir");
	char path[PATH_MAX];
	size_t n;

	snprintf(path, sizeof(path), "%s/tests/vectors/sigv4/%s.%s", top ? top : ".", name, ext);
	n = tu_read_file(AT_FDCWD, path, buf, cap - 1);
	buf[n] = '\0';
}

static void parse_query(struct vreq *v, char *q)
{
	for (char *tok = strtok(q, "&"); tok; tok = strtok(NULL, "&")) {
		char *eq = strchr(tok, '=');

		assert_true(v->nq < 8);
		if (eq)
			*eq = '\0';
		v->q[v->nq].name = tok;
		v->q[v->nq++].value = eq ? eq + 1 : "";
	}
}

static void parse_req(const char *name, struct vreq *v)
{
	char *line, *next, *sp, *q;

	memset(v, 0, sizeof(*v));
	load(name, "req", v->text, sizeof(v->text));
	v->body = strstr(v->text, "\n\n");
	if (v->body) {
		*v->body = '\0';
		v->body += 2;
	} else {
		v->body = "";
	}
	line = v->text;
	next = strchr(line, '\n');
	assert_non_null(next);
	*next++ = '\0';
	v->method = line;
	sp = strchr(line, ' ');
	assert_non_null(sp);
	*sp++ = '\0';
	v->path = sp;
	*strrchr(sp, ' ') = '\0';   /* " HTTP/1.1" */
	q = strchr(v->path, '?');
	if (q) {
		*q++ = '\0';
		parse_query(v, q);
	}
	for (line = next; line && *line; line = next) {
		char *colon = strchr(line, ':');

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		assert_non_null(colon);
		*colon = '\0';
		assert_true(v->nh < 8);
		v->h[v->nh].name = line;
		v->h[v->nh++].value = colon + 1;
		if (!strcasecmp(line, "x-amz-date"))
			v->date = colon + 1;
	}
	assert_non_null(v->date);
	assert_int_equal(sigv4_sha256_hex(v->body, strlen(v->body), v->hash), 0);
}

static void sign(const char *name, int s3)
{
	struct sigv4_scope scope = {
		.access_key = s3 ? "AKIAIOSFODNN7EXAMPLE" : "AKIDEXAMPLE",
		.secret = s3 ? "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
			     : "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
		.secret_len = 40,
		.region = "us-east-1",
		.service = s3 ? "s3" : "service",
	};
	struct vreq v;
	struct sigv4_request r;
	char want[512], *got = NULL;

	parse_req(name, &v);
	r = (struct sigv4_request){ .method = v.method, .path = v.path, .query = v.q,
				    .nquery = v.nq, .headers = v.h, .nheaders = v.nh,
				    .payload_hash = v.hash };
	load(name, "authz", want, sizeof(want));
	assert_int_equal(sigv4_authorization(&r, &scope, v.date, &got), 0);
	if (strcmp(got, want))
		print_message("%s:\n got  %s\n want %s\n", name, got, want);
	assert_string_equal(got, want);
	free(got);
}

static void test_aws_suite(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(suite) / sizeof(suite[0]); i++)
		sign(suite[i], 0);
}

static void test_s3_examples(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(s3_examples) / sizeof(s3_examples[0]); i++)
		sign(s3_examples[i], 1);
}

static void test_canonical_request(void **state)
{
	struct vreq v;
	struct sigv4_request r;
	char want[1024], *got = NULL;

	(void)state;
	parse_req("post-x-www-form-urlencoded", &v);
	r = (struct sigv4_request){ .method = v.method, .path = v.path, .headers = v.h,
				    .nheaders = v.nh, .payload_hash = v.hash };
	load("post-x-www-form-urlencoded", "creq", want, sizeof(want));
	assert_int_equal(sigv4_canonical_request(&r, &got), 0);
	assert_string_equal(got, want);
	free(got);
}

/* A changed secret, date, header or body hash changes the signature. */
static void test_every_input_signed(void **state)
{
	struct sigv4_pair h[] = { { "host", "h" }, { "x-amz-date", "20240101T000000Z" } };
	struct sigv4_request r = { "GET", "/b/k", NULL, 0, h, 2, "00" };
	struct sigv4_scope s = { "AK", "secret", 6, "eu-west-1", "s3" };
	char *a = NULL, *b = NULL;

	(void)state;
	assert_int_equal(sigv4_authorization(&r, &s, "20240101T000000Z", &a), 0);
	s.secret = "secreT";
	assert_int_equal(sigv4_authorization(&r, &s, "20240101T000000Z", &b), 0);
	assert_string_not_equal(a, b);
	free(b);
	s.secret = "secret";
	r.payload_hash = "01";
	assert_int_equal(sigv4_authorization(&r, &s, "20240101T000000Z", &b), 0);
	assert_string_not_equal(a, b);
	free(b);
	r.payload_hash = "00";
	h[0].value = "h2";
	assert_int_equal(sigv4_authorization(&r, &s, "20240101T000000Z", &b), 0);
	assert_string_not_equal(a, b);
	free(b);
	free(a);
}

static void test_encoding_and_bad_input(void **state)
{
	struct sigv4_pair q[] = { { "continuation-token", "a+b/c=" }, { "list-type", "2" },
				  { "prefix", "data/0a" } };
	struct sigv4_pair bad[] = { { "host", "h\r\nx-evil: 1" } };
	struct sigv4_request r = { "GET", "/b", NULL, 0, bad, 1, "00" };
	struct sigv4_scope s = { "AK", "secret", 6, "r", "s3" };
	char *o = NULL;

	(void)state;
	assert_int_equal(sigv4_uri_encode("/a b/ሴ$~", 1, &o), 0);
	assert_string_equal(o, "/a%20b/%E1%88%B4%24~");
	free(o);
	assert_int_equal(sigv4_uri_encode("a/b", 0, &o), 0);
	assert_string_equal(o, "a%2Fb");
	free(o);
	assert_int_equal(sigv4_canonical_query(q, 3, &o), 0);
	assert_string_equal(o, "continuation-token=a%2Bb%2Fc%3D&list-type=2&prefix=data%2F0a");
	free(o);
	assert_int_equal(sigv4_authorization(&r, &s, "20240101T000000Z", &o), -EINVAL);
	bad[0].value = "h";
	assert_int_equal(sigv4_authorization(&r, &s, "2024-01-01", &o), -EINVAL);
	s.secret_len = SIGV4_SECRET_MAX + 1;
	assert_int_equal(sigv4_authorization(&r, &s, "20240101T000000Z", &o), -EINVAL);
	assert_null(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aws_suite),
		cmocka_unit_test(test_s3_examples),
		cmocka_unit_test(test_canonical_request),
		cmocka_unit_test(test_every_input_signed),
		cmocka_unit_test(test_encoding_and_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
