/*
 * cmd_ls.c: `phifs-backup ls SNAP|latest` — the entries of a snapshot's tree
 * (docs/BACKUP_FORMAT.md §9.1): backing (encrypted) paths, so the listing
 * holds no PHI. --json prints the tree lines as stored. Shared lock.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../phifs/common.h"
#include "backupcmd.h"
#include "repo_cli.h"
#include "repo_snap.h"

static void usage(void)
{
	printf("usage: phifs-backup [-r REPO] ls SNAP|latest [--json]\n");
}

static int print_entry(void *arg, struct json_object *e)
{
	int64_t sz = 0;
	size_t len;

	if (*(int *)arg) {
		printf("%s\n", repo_json_text(e, &len));
		return 0;
	}
	repo_json_i64(e, "sz", &sz);
	printf("%s %12lld  %s\n", repo_json_str(e, "t") ? repo_json_str(e, "t") : "?",
	       (long long)sz, repo_json_str(e, "p") ? repo_json_str(e, "p") : "?");
	return 0;
}

int backup_cmd_ls(int argc, char **argv)
{
	const char *url = NULL;
	struct repo *r = NULL;
	struct repo_lock *lock = NULL;
	struct repo_index *ix = NULL;
	struct repo_snap *s = NULL, *pick = NULL;
	size_t n = 0;
	int json = 0, code, ret;

	code = cli_simple_args(argc, argv, 1, usage, &url, &json);
	if (code >= 0)
		return code;
	code = cli_open("ls", url, 0, &r, &lock);
	if (code)
		return code;
	ret = repo_index_new(&ix);
	if (!ret)
		ret = repo_index_load(r, ix);
	if (!ret)
		ret = repo_snap_list(r, &s, &n, NULL);
	if (!ret && repo_snap_find(s, n, argv[argc - 1], &pick)) {
		cli_warn("ls", "snapshot %s not found or ambiguous", argv[argc - 1]);
		ret = -ESRCH;
	}
	if (!ret)
		ret = repo_tree_each(r, ix, pick->tree, print_entry, &json);
	if (ret && ret != -ESRCH)
		cli_warn("ls", "%s", strerror(-ret));
	repo_snap_free(s, n);
	repo_index_free(ix);
	cli_close(r, lock);
	return ret ? EXIT_PROBLEMS : EXIT_OK;
}
