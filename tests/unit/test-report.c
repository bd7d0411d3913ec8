/*
 * test-report.c: the statistics and the two baseline detectors of
 * `phifs-audit report` that the shell test's log does not trip: spike
 * against a user's own median, and the peer outlier by robust z-score
 * (tools/phifs-audit/report_stats.c, report_rules.c). Also the time parser.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include "testutil.h"
#include "../../tools/phifs-audit/report_load.h"
#include "../../tools/phifs-audit/report_rules.h"
#include "../../tools/phifs-audit/report_stats.h"

static void test_median_mad(void **state)
{
	double odd[] = { 5, 1, 3 }, even[] = { 4, 1, 3, 2 }, v[] = { 1, 2, 3, 4, 100 };
	double m;

	(void)state;
	assert_true(stats_median(odd, 3) == 3);
	assert_true(stats_median(even, 4) == 2.5);
	assert_true(stats_median(NULL, 0) == 0);
	m = stats_median(v, 5);
	assert_true(m == 3);
	assert_true(stats_mad(v, 5, m) == 1);   /* |1-3|,|2-3|,0,1,97 → 1 */
	assert_true(stats_robust_z(100, 3, 1, 0) > 65);
	/* MAD 0: the mean absolute deviation stands in; all alike gives 0. */
	assert_true(stats_robust_z(10, 1, 0, 2) > 3.5);
	assert_true(stats_robust_z(10, 10, 0, 0) == 0);
}

static void test_parse_time(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(report_parse_time("2026-11-23T16:42:15.123456Z", 0, &t), 0);
	assert_true(t == 1795452135123456LL);
	assert_int_equal(report_parse_time("2026-11-23T17:42:15+01:00", 0, &t), 0);
	assert_true(t == 1795452135000000LL);
	assert_int_equal(report_parse_time("24h", 100LL * 86400 * 1000000, &t), 0);
	assert_true(t == 99LL * 86400 * 1000000);
	assert_int_equal(report_parse_time("7d", 8LL * 86400 * 1000000, &t), 0);
	assert_true(t == 86400LL * 1000000);
	assert_int_equal(report_parse_time("yesterday", 0, &t), -EINVAL);
	assert_int_equal(report_parse_time("2026-11-23T16:42:15", 0, &t), -EINVAL);
	assert_int_equal(report_parse_time("-5h", 0, &t), -EINVAL);
}

/* Writes `files` opens by `user` on 2026-11-(day) from 09:00, one a minute
 * (users' minutes interleave in time while seq follows the writing order). */
static void opens(FILE *f, int *seq, const char *user, int day, int files, int first_file)
{
	for (int i = 0; i < files; i++)
		fprintf(f, "{\"v\":1,\"seq\":%d,\"time\":\"2026-11-%02dT%02d:%02d:00.000000Z\","
			   "\"host\":\"h\",\"vol\":\"v\",\"event\":\"open\",\"actor\":{\"uid\":1,"
			   "\"user\":\"%s\"},\"object\":{\"file\":\"%032x\"},\"result\":\"ok\"}\n",
			++*seq, day, 9 + i / 60, i % 60, user, first_file + i);
}

/* Runs the report (UTC) on the log in f, which it closes and removes. */
static void run_report(FILE *f, char *path, struct report_log *log, struct report_findings *fs)
{
	const char *paths[] = { path };
	struct report_cfg cfg;

	fclose(f);
	report_cfg_defaults(&cfg);
	snprintf(cfg.timezone, sizeof(cfg.timezone), "UTC");
	assert_int_equal(report_cfg_apply_tz(&cfg), 0);
	assert_int_equal(report_load(paths, 1, log), 0);
	assert_int_equal(report_run(log, INT64_MIN, INT64_MAX, &cfg, fs), 0);
	unlink(path);
}

static FILE *tmp_log(char *path)
{
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	assert_non_null(f);
	return f;
}

static size_t count_rule(const struct report_findings *fs, const char *rule, const char *user)
{
	size_t n = 0;

	for (size_t i = 0; i < fs->n; i++)
		n += !strcmp(fs->f[i].rule, rule) && (!user || !strcmp(fs->f[i].user, user));
	return n;
}

/* dana reads 8 files a day Mon-Thu, then 40 on Friday (slower than bulk). */
static void test_spike(void **state)
{
	char path[] = "/tmp/phifs-report-XXXXXX";
	struct report_log log;
	struct report_findings fs;
	FILE *f = tmp_log(path);
	int seq = 0;

	(void)state;
	for (int d = 16; d <= 19; d++)
		opens(f, &seq, "dana", d, 8, d * 100);
	opens(f, &seq, "dana", 20, 40, 5000);
	run_report(f, path, &log, &fs);
	assert_int_equal(count_rule(&fs, "spike", "dana"), 1);
	assert_int_equal(count_rule(&fs, "bulk", NULL), 0);
	for (size_t i = 0; i < fs.n; i++)
		if (!strcmp(fs.f[i].rule, "spike"))
			assert_int_equal(fs.f[i].count, 40);   /* Friday's opens only */
	assert_int_equal(fs.n, 1);
	report_findings_free(&fs);
	report_log_free(&log);
}

/* Six users read 20-26 files on one day, zed reads 80: only zed stands out. */
static void test_peer_outlier(void **state)
{
	char path[] = "/tmp/phifs-report-XXXXXX";
	static const char *const users[] = { "u1", "u2", "u3", "u4", "u5", "u6" };
	struct report_log log;
	struct report_findings fs;
	FILE *f = tmp_log(path);
	int seq = 0;

	(void)state;
	for (int u = 0; u < 6; u++)
		opens(f, &seq, users[u], 18, 20 + u, u * 1000);
	opens(f, &seq, "zed", 18, 80, 9000);
	run_report(f, path, &log, &fs);
	assert_int_equal(count_rule(&fs, "peer-outlier", "zed"), 1);
	assert_int_equal(count_rule(&fs, "peer-outlier", NULL), 1);
	assert_int_equal(fs.n, 1);
	report_findings_free(&fs);
	report_log_free(&log);
}

static void test_config_file(void **state)
{
	char path[] = "/tmp/phifs-report-XXXXXX", err[256];
	struct report_cfg c;
	FILE *f = tmp_log(path);

	(void)state;
	fputs("# comment\n work_hours = 06:30-18:00\nwork_days=sat-mon\nbulk_bytes=5\n"
	      "outlier_z = 2.5\n", f);
	fclose(f);
	report_cfg_defaults(&c);
	assert_int_equal(report_cfg_load(path, &c, err, sizeof(err)), 0);
	assert_int_equal(c.work_start_min, 390);
	assert_int_equal(c.work_end_min, 1080);
	assert_int_equal(c.work_days, 0x43);             /* Sat, Sun, Mon */
	assert_true(c.bulk_bytes == 5 && c.outlier_z == 2.5);
	f = fopen(path, "w");
	fputs("work_hours = 19:00-07:00\n", f);
	fclose(f);
	assert_int_equal(report_cfg_load(path, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":1: bad value for 'work_hours'"));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_median_mad),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_spike),
		cmocka_unit_test(test_peer_outlier),
		cmocka_unit_test(test_config_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
