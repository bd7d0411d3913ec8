/*
 * test-policy.c: fs/policy.c — the rule syntax (accepted and refused lines,
 * errors naming only a line number), first-match evaluation with who/what/
 * when/action, default, learn mode, break-glass — and fs/policy_store.c: the
 * MAC'd file round trip, a modified byte, a missing MAC line, another key.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include "testvol.h"
#include "policy.h"
#include "policy_store.h"

static struct policy *parse_ok(const char *text)
{
	struct policy *p = NULL;
	char err[128];

	assert_int_equal(policy_parse(text, strlen(text), &p, err, sizeof(err)), 0);
	assert_int_equal(policy_resolve(p), 0);
	return p;
}

static void test_parse_refusals(void **state)
{
	static const char *const bad[] = {
		"permit\n",                          /* no action */
		"permit readx\n",
		"permit read,\n",
		"permit read path=relative\n",
		"permit read path=/a/../b\n",
		"permit read path=/a//b\n",
		"permit read path=/a/%2\n",
		"permit read path=/a%00b\n",
		"permit read uid=1 uid=2\n",         /* a key twice */
		"permit read uid=1 user=root\n",     /* uid and user */
		"permit read uid=4294967295\n",
		"permit read uid=-1\n",
		"permit read user=-rf\n",
		"permit read days=mon-xyz\n",
		"permit read hours=7:00-19:00\n",
		"permit read hours=07:00-07:00\n",
		"permit read hours=25:00-07:00\n",
		"permit read colour=red\n",
		"default maybe\n",
		"default deny\ndefault permit\n",      /* a directive twice */
		"mode learn extra\n",
		"break-glass user=root\n",
		"hello\n",
		"permit read path=/x\r\n",
	};
	struct policy *p = NULL;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(policy_parse(bad[i], strlen(bad[i]), &p, err, sizeof(err)), -EINVAL);
		assert_null(p);
		assert_non_null(strstr(err, "line "));
	}
	/* The error names the line, never its content (paths are PHI). */
	assert_int_equal(policy_parse("# ok\npermit read path=/secret/name x=1\n", 37, &p, err,
				      sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 2"));
	assert_null(strstr(err, "secret"));
	/* An embedded NUL is refused, not read as the end. */
	assert_int_equal(policy_parse("permit read\0deny any\n", 21, &p, err, sizeof(err)), -EINVAL);
}

static void test_parse_accepts(void **state)
{
	struct policy *p = parse_ok("\n  # comment\n\tdefault deny\nmode learn\nbreak-glass gid=77\n"
				    "permit read,write uid=5 path=/a%20b/ exe=/usr/bin/cat "
				    "days=fri-mon hours=22:00-06:00\naudit any\n");

	(void)state;
	assert_int_equal(policy_rules(p), 2);
	policy_free(p);
	p = parse_ok("");
	assert_int_equal(policy_rules(p), 0);
	policy_free(p);
	policy_free(NULL);
}

static time_t local_time(int mday, int hour)
{
	/* November 2026: the 23rd is a Monday, the 22nd a Sunday. */
	struct tm tm = { .tm_year = 126, .tm_mon = 10, .tm_mday = mday, .tm_hour = hour,
			 .tm_isdst = -1 };

	return mktime(&tm);
}

static void test_eval_first_match(void **state)
{
	struct policy *p = parse_ok(
		"default deny\n"
		"deny any uid=34\n"                                   /* 1 backup: nothing */
		"permit read gid=500 path=/billing\n"                  /* 2 billing reads billing/ */
		"deny any gid=500 path=/clinical\n"                    /* 3 ... not clinical/ */
		"permit write uid=1000 path=/clinical exe=/usr/bin/vi\n"  /* 4 */
		"audit read uid=1000 path=/clinical days=mon-fri hours=07:00-19:00\n"  /* 5 */
		"permit metadata uid=1000\n");                         /* 6 */
	uint32_t groups[] = { 10, 500 };
	struct policy_who billing = { .uid = 2000, .gid = 2000, .groups = groups, .ngroups = 2 };
	struct policy_who backup = { .uid = 34, .gid = 34 };
	struct policy_who doc = { .uid = 1000, .gid = 1000, .exe = "/usr/bin/vi" };
	time_t mon = local_time(23, 10), night = local_time(23, 21), sun = local_time(22, 10);
	struct policy_match m;

	(void)state;
	assert_int_equal(policy_eval(p, &backup, "/billing/x", POLICY_READ, mon, &m), POLICY_DENY);
	assert_int_equal(m.rule, 1);
	assert_int_equal(policy_eval(p, &billing, "/billing/x", POLICY_READ, mon, &m), POLICY_PERMIT);
	assert_int_equal(m.rule, 2);
	assert_int_equal(policy_eval(p, &billing, "/billing", POLICY_READ, mon, &m), POLICY_PERMIT);
	/* A prefix matches whole components only. */
	assert_int_equal(policy_eval(p, &billing, "/billing2/x", POLICY_READ, mon, &m), POLICY_DENY);
	assert_int_equal(m.rule, 0);
	assert_int_equal(policy_eval(p, &billing, "/billing/x", POLICY_WRITE, mon, &m), POLICY_DENY);
	assert_int_equal(m.rule, 0);
	assert_int_equal(policy_eval(p, &billing, "/clinical/a", POLICY_READ, mon, &m), POLICY_DENY);
	assert_int_equal(m.rule, 3);
	assert_int_equal(policy_eval(p, &doc, "/clinical/a", POLICY_WRITE, mon, &m), POLICY_PERMIT);
	assert_int_equal(m.rule, 4);
	doc.exe = "/usr/bin/vim";
	assert_int_equal(policy_eval(p, &doc, "/clinical/a", POLICY_WRITE, mon, &m), POLICY_DENY);
	assert_int_equal(policy_eval(p, &doc, "/clinical/a", POLICY_READ, mon, &m), POLICY_AUDIT);
	assert_int_equal(m.rule, 5);
	assert_int_equal(policy_eval(p, &doc, "/clinical/a", POLICY_READ, night, &m), POLICY_DENY);
	assert_int_equal(policy_eval(p, &doc, "/clinical/a", POLICY_READ, sun, &m), POLICY_DENY);
	assert_int_equal(policy_eval(p, &doc, "/anything", POLICY_METADATA, sun, &m), POLICY_PERMIT);
	assert_int_equal(m.rule, 6);
	assert_false(m.learn || m.break_glass);
	policy_free(p);
}

static void test_eval_window_across_midnight(void **state)
{
	struct policy *p = parse_ok("deny any hours=19:00-07:00\n");
	struct policy_who who = { .uid = 1 };
	struct policy_match m;

	(void)state;
	assert_int_equal(policy_eval(p, &who, "/", POLICY_READ, local_time(23, 21), &m), POLICY_DENY);
	assert_int_equal(policy_eval(p, &who, "/", POLICY_READ, local_time(23, 3), &m), POLICY_DENY);
	assert_int_equal(policy_eval(p, &who, "/", POLICY_READ, local_time(23, 12), &m), POLICY_AUDIT);
	assert_int_equal(m.rule, 0);        /* the default: audit */
	policy_free(p);
}

static void test_learn_and_break_glass(void **state)
{
	struct policy *p = parse_ok("mode learn\nbreak-glass gid=900\ndeny read path=/clinical\n"
				    "permit any\n");
	uint32_t bg[] = { 900 };
	struct policy_who who = { .uid = 7, .gid = 7 };
	struct policy_who doc = { .uid = 8, .gid = 8, .groups = bg, .ngroups = 1 };
	struct policy_match m;

	(void)state;
	/* Learn: the would-be denial comes back as audit, marked. */
	assert_int_equal(policy_eval(p, &who, "/clinical/x", POLICY_READ, 0, &m), POLICY_AUDIT);
	assert_true(m.learn && m.rule == 1 && !m.break_glass);
	assert_int_equal(policy_eval(p, &who, "/other", POLICY_READ, 0, &m), POLICY_PERMIT);
	assert_false(m.learn);
	/* Break-glass: every access permitted and flagged, even a permitted one. */
	assert_int_equal(policy_eval(p, &doc, "/clinical/x", POLICY_READ, 0, &m), POLICY_AUDIT);
	assert_true(m.break_glass && m.rule == 1);
	assert_int_equal(policy_eval(p, &doc, "/other", POLICY_READ, 0, &m), POLICY_AUDIT);
	assert_true(m.break_glass);
	/* Outside a break-glass session the group gets the ordinary rules. */
	doc.no_break_glass = 1;
	assert_int_equal(policy_eval(p, &doc, "/other", POLICY_READ, 0, &m), POLICY_PERMIT);
	assert_false(m.break_glass);
	assert_int_equal(policy_eval(p, &doc, "/clinical/x", POLICY_READ, 0, &m), POLICY_AUDIT);
	assert_true(m.learn && !m.break_glass);
	policy_free(p);
	p = parse_ok("deny any\n");
	assert_int_equal(policy_eval(p, &who, "/x", POLICY_READ, 0, &m), POLICY_DENY);
	assert_false(m.learn);
	policy_free(p);
}

static void test_names_resolved(void **state)
{
	struct policy *p = NULL;
	struct policy_who root = { .uid = 0, .gid = 0 };
	struct policy_match m;
	const char *text = "deny write user=root\ndeny read user=no-such-user-phifs\n"
			   "deny metadata group=root\n";

	(void)state;
	assert_int_equal(policy_parse(text, strlen(text), &p, NULL, 0), 0);
	/* Before resolution no named rule matches (a name is never guessed). */
	assert_int_equal(policy_eval(p, &root, "/x", POLICY_WRITE, 0, &m), POLICY_AUDIT);
	assert_int_equal(policy_resolve(p), 1);
	assert_int_equal(policy_eval(p, &root, "/x", POLICY_WRITE, 0, &m), POLICY_DENY);
	assert_int_equal(m.rule, 1);
	assert_int_equal(policy_eval(p, &root, "/x", POLICY_READ, 0, &m), POLICY_AUDIT);
	assert_int_equal(policy_eval(p, &root, "/x", POLICY_METADATA, 0, &m), POLICY_DENY);
	assert_int_equal(m.rule, 3);
	policy_free(p);
}

static void test_store_roundtrip_and_tamper(void **state)
{
	const char *text = "default deny\npermit read uid=5 path=/a\n";
	struct keys_volume *kv, *other;
	char dir[64], path[128], *got = NULL;
	uint8_t *raw;
	size_t len, rawlen;
	int dfd, fd;

	(void)state;
	kv = tv_setup("policy", dir, sizeof(dir));
	other = tv_keys();
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	assert_int_equal(policy_store_read(dfd, kv, &got, &len), -ENOENT);
	assert_int_equal(policy_store_write(dfd, text, strlen(text), kv), 0);
	assert_int_equal(policy_store_read(dfd, kv, &got, &len), 0);
	assert_int_equal(len, strlen(text));
	assert_memory_equal(got, text, len);
	free(got);
	assert_int_equal(policy_store_read(dfd, other, &got, &len), -EBADMSG);
	assert_int_equal(policy_store_read(dfd, NULL, &got, &len), 0);   /* show: no key */
	free(got);
	/* One byte of the text changed: refused; the MAC line removed: refused. */
	snprintf(path, sizeof(path), "%s/%s", dir, POLICY_STORE_FILE);
	tv_slurp(path, &raw, &rawlen);
	raw[20] ^= 1;
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, raw, rawlen), (ssize_t)rawlen);
	close(fd);
	assert_int_equal(policy_store_read(dfd, kv, &got, &len), -EBADMSG);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(policy_store_read(dfd, kv, &got, &len), -EBADMSG);
	assert_int_equal(policy_store_read(dfd, NULL, &got, &len), -EBADMSG);
	free(raw);
	/* The operator's text cannot smuggle in a MAC line of its own. */
	assert_int_equal(policy_store_write(dfd, "#phifs-policy-mac v1 00\n", 24, kv), -EINVAL);
	close(dfd);
	keys_volume_free(other);
	tv_teardown(kv, dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_parse_accepts),
		cmocka_unit_test(test_eval_first_match),
		cmocka_unit_test(test_eval_window_across_midnight),
		cmocka_unit_test(test_learn_and_break_glass),
		cmocka_unit_test(test_names_resolved),
		cmocka_unit_test(test_store_roundtrip_and_tamper),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
