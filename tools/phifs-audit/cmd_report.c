/*
 * cmd_report.c: `phifs-audit report [--since T] [--until T] [--json]
 * [--config FILE] LOG|DIR...` — runs the detectors of report_rules.c over the
 * records and prints one finding per rule and user, as text grouped by rule or
 * as JSON lines. Exit status for cron (docs/OPERATIONS.md "Reviewing the
 * audit log"): 0 nothing at warning or worse, 1 flagged, 2 usage, 4 logs
 * unreadable (or lines that are not records).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "../phifs/common.h"
#include "auditcmd.h"
#include "report_load.h"
#include "report_rules.h"

#define EXIT_FLAGGED 1
#define EXIT_UNREADABLE 4

static void print_json(const struct report_finding *f)
{
	struct json_object *o = json_object_new_object(), *ev = json_object_new_array();
	char t[32];

	json_object_object_add(o, "rule", json_object_new_string(f->rule));
	json_object_object_add(o, "severity", json_object_new_string(report_severity_name(f->severity)));
	json_object_object_add(o, "user", json_object_new_string(f->user));
	json_object_object_add(o, "count", json_object_new_int64((int64_t)f->count));
	report_format_time(f->first_us, t);
	json_object_object_add(o, "first", json_object_new_string(t));
	report_format_time(f->last_us, t);
	json_object_object_add(o, "last", json_object_new_string(t));
	json_object_object_add(o, "detail", json_object_new_string(f->detail));
	for (size_t i = 0; i < f->nseq; i++)
		json_object_array_add(ev, json_object_new_int64(f->seqs[i]));
	json_object_object_add(o, "evidence", ev);
	if (f->seqs_truncated)
		json_object_object_add(o, "evidence_truncated", json_object_new_boolean(1));
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static void print_text(const struct report_finding *f)
{
	char a[32], b[32];

	report_format_time(f->first_us, a);
	report_format_time(f->last_us, b);
	printf("  %-8s %-16s %6llu  %s .. %s\n", report_severity_name(f->severity), f->user,
	       (unsigned long long)f->count, a, b);
	printf("           %s\n           seq:", f->detail);
	for (size_t i = 0; i < f->nseq && i < 20; i++)
		printf(" %lld", (long long)f->seqs[i]);
	printf("%s\n", f->nseq > 20 || f->seqs_truncated ? " ..." : "");
}

/* Text: findings grouped under their rule, in detector order. */
static void print_all(const struct report_findings *fs, int json)
{
	size_t flagged = 0;

	for (size_t i = 0; i < fs->n; i++) {
		const struct report_finding *f = &fs->f[i];

		flagged += f->severity >= SEV_WARNING;
		if (json) {
			print_json(f);
			continue;
		}
		if (i == 0 || strcmp(fs->f[i - 1].rule, f->rule))
			printf("%s:\n", f->rule);
		print_text(f);
	}
	if (!json)
		printf("%zu findings, %zu at warning or worse\n", fs->n, flagged);
}

static int usage(FILE *f, int code)
{
	fprintf(f, "usage: phifs-audit report [--since T] [--until T] [--json] [--config FILE] "
		   "LOG|DIR...\n"
		   "  T: RFC 3339 (2026-11-23T08:00:00Z) or relative (24h, 7d)\n"
		   "  exit 0 nothing flagged, 1 flagged (warning or worse), 2 usage, 4 unreadable logs\n");
	return code;
}

int audit_cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	int64_t now = report_now_us(), since = INT64_MIN, until = INT64_MAX;
	struct report_log log = { 0 };
	struct report_findings fs = { 0 };
	struct report_cfg cfg;
	char err[512];
	int opt, json = 0, ret;

	report_cfg_defaults(&cfg);
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
		case 'u':
			if (report_parse_time(optarg, now, opt == 's' ? &since : &until)) {
				warnx_phifs("report: bad time '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j':
			json = 1;
			break;
		case 'c':
			if (report_cfg_load(optarg, &cfg, err, sizeof(err))) {
				warnx_phifs("report: %s", err);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			return usage(stdout, EXIT_OK);
		default:
			return usage(stderr, EXIT_USAGE);
		}
	}
	if (optind >= argc)
		return usage(stderr, EXIT_USAGE);
	if (report_cfg_apply_tz(&cfg)) {
		warnx_phifs("report: cannot set time zone");
		return EXIT_USAGE;
	}
	ret = report_load((const char *const *)argv + optind, (size_t)(argc - optind), &log);
	if (ret) {
		report_log_free(&log);
		return EXIT_UNREADABLE;
	}
	ret = report_run(&log, since, until, &cfg, &fs);
	if (ret) {
		warnx_phifs("report: %s", strerror(-ret));
		ret = EXIT_PROBLEMS;
		goto out;
	}
	print_all(&fs, json);
	ret = EXIT_OK;
	for (size_t i = 0; i < fs.n; i++)
		if (fs.f[i].severity >= SEV_WARNING)
			ret = EXIT_FLAGGED;
	if (log.bad_lines)
		ret = EXIT_UNREADABLE;
out:
	report_findings_free(&fs);
	report_log_free(&log);
	return ret;
}
