/*
 * cmd_verify.c: `phifs-audit verify [--keys DIR] [--json] LOG...` — checks
 * the hash chain, MACs and signed checkpoints of audit spool files (or whole
 * spool directories) against the verification material in keys_dir, and
 * names the first bad position. The checks themselves live in
 * fs/audit_verify.c; this file is options, output and exit codes
 * (docs/AUDIT_FORMAT.md "Verification", docs/OPERATIONS.md "Audit log
 * verification").
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "../phifs/common.h"
#include "audit_log.h"
#include "auditcmd.h"

/* Exit codes of verify (also in --help and docs/OPERATIONS.md). */
#define VERIFY_INTACT 0
#define VERIFY_TAMPERED 1
#define VERIFY_MATERIAL 4   /* a log or the verification material unreadable or missing */

static const char usage[] =
	"usage: phifs-audit verify [--keys DIR] [--json] LOG...\n"
	"  LOG: spool files (STREAM.SEQ.log) or spool directories (every stream in them)\n"
	"  --keys DIR  verification material (default " AUDIT_KEYS_DIR_DEFAULT ")\n"
	"  --json      one JSON object on stdout\n"
	"exit: 0 intact, 1 tampered or inconsistent (first bad FILE:LINE and reason),\n"
	"      2 usage, 4 a log or the verification material unreadable or missing\n";

static void print_json(const struct audit_verify_result *r, int code)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(r->ok));
	json_object_object_add(o, "exit", json_object_new_int(code));
	json_object_object_add(o, "streams", json_object_new_int64((int64_t)r->streams));
	json_object_object_add(o, "records", json_object_new_int64((int64_t)r->records));
	json_object_object_add(o, "checkpoints", json_object_new_int64((int64_t)r->checkpoints));
	json_object_object_add(o, "torn", json_object_new_int64((int64_t)r->torn));
	if (!r->ok) {
		json_object_object_add(o, "file", json_object_new_string(r->bad_file));
		json_object_object_add(o, "line", json_object_new_int64((int64_t)r->bad_line));
		json_object_object_add(o, "reason", json_object_new_string(r->bad_reason));
	}
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int audit_cmd_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "keys", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	struct audit_verify_result r;
	const char *keys = NULL;
	int opt, json = 0, rc, code;

	while ((opt = getopt_long(argc, argv, "hk:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'k': keys = optarg; break;
		case 'j': json = 1; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	rc = audit_verify((const char *const *)argv + optind, (size_t)(argc - optind), keys, &r);
	code = rc == -EINVAL ? EXIT_USAGE : rc < 0 ? VERIFY_MATERIAL : r.ok ? VERIFY_INTACT : VERIFY_TAMPERED;
	if (json)
		print_json(&r, code);
	else if (code == VERIFY_INTACT)
		printf("intact: %llu records, %llu checkpoints in %llu streams%s\n",
		       (unsigned long long)r.records, (unsigned long long)r.checkpoints,
		       (unsigned long long)r.streams, r.torn ? " (torn final lines after a crash skipped)" : "");
	if (code != VERIFY_INTACT && !json)
		fprintf(stderr, "phifs-audit: verify: %s: %s\n",
			code == VERIFY_TAMPERED ? "TAMPERED" : "cannot verify", r.first_bad);
	return code;
}
