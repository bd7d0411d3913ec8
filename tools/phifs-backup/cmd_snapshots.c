/*
 * cmd_snapshots.c: `phifs-backup snapshots` — the snapshots of a repository,
 * oldest first (docs/BACKUP_FORMAT.md §9.2): a table, or with --json one
 * JSON line each (the snapshot object plus its "id"). Shared lock.
 */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include "../phifs/common.h"
#include "backupcmd.h"
#include "repo_cli.h"
#include "repo_snap.h"

static void usage(void)
{
	printf("usage: phifs-backup [-r REPO] snapshots [--json]\n");
}

static void print_one(const struct repo_snap *s, int json)
{
	struct json_object *o = json_object_get(s->json);
	char when[32];
	struct tm tm;
	time_t t = (time_t)s->time;
	size_t len;

	if (json) {
		json_object_object_add(o, "id", json_object_new_string(s->id_hex));
		printf("%s\n", repo_json_text(o, &len));
	} else {
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
		printf("%.16s  %s  %-12s %s%s\n", s->id_hex, when, repo_json_str(o, "host"),
		       repo_json_str(o, "source"), s->partial ? "  (partial)" : "");
	}
	json_object_put(o);
}

int backup_cmd_snapshots(int argc, char **argv)
{
	const char *url = NULL;
	struct repo *r = NULL;
	struct repo_lock *lock = NULL;
	struct repo_snap *s = NULL;
	size_t n = 0;
	int json = 0, code, bad = 0;

	code = cli_simple_args(argc, argv, 0, usage, &url, &json);
	if (code >= 0)
		return code;
	code = cli_open("snapshots", url, 0, &r, &lock);
	if (code)
		return code;
	code = repo_snap_list(r, &s, &n, &bad);
	if (code) {
		cli_warn("snapshots", "cannot list snapshots");
		code = EXIT_PROBLEMS;
	}
	for (size_t i = 0; i < n; i++)
		print_one(&s[i], json);
	repo_snap_free(s, n);
	cli_close(r, lock);
	return code ? code : bad ? EXIT_PROBLEMS : EXIT_OK;
}
