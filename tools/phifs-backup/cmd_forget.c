/*
 * cmd_forget.c: `phifs-backup forget --keep-… ` — removes the snapshot
 * objects a retention policy does not keep (docs/BACKUP_FORMAT.md §10.3),
 * never one younger than the repository's retention floor (§10.2). Data
 * stays until `prune`. Exclusive lock.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../phifs/common.h"
#include "backupcmd.h"
#include "repo_cli.h"
#include "repo_policy.h"
#include "repo_snap.h"
#include "repo_util.h"

static void usage(void)
{
	printf("usage: phifs-backup [-r REPO] forget [--keep-daily N] [--keep-weekly N]\n"
	       "         [--keep-monthly N] [--keep-yearly N] [--keep-within DURATION] [--dry-run] [--json]\n"
	       "  at least one --keep option; snapshots younger than the repository's retention\n"
	       "  floor (init --min-retention) are always kept. DURATION: 6y, 52w, 30d, 12h.\n");
}

static int count_opt(const char *arg, int *out)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*end || v < 0 || v > 1000000)
		die(EXIT_USAGE, "bad count '%s'", arg);
	*out = (int)v;
	return 0;
}

static void print_one(const struct repo_snap *s, unsigned keep, int json)
{
	char why[128];

	repo_policy_reasons(keep, why, sizeof(why));
	if (json)
		printf("{\"id\":\"%s\",\"time\":%lld,\"keep\":%s,\"reasons\":\"%s\"}\n", s->id_hex,
		       (long long)s->time, keep ? "true" : "false", why);
	else if (cli_tty())
		printf("%s %.16s  %s\n", keep ? "keep  " : "remove", s->id_hex, why);
}

static int forget(struct repo *r, const struct repo_policy *p, int dry, int json)
{
	struct repo_snap *s = NULL;
	int64_t *times = NULL;
	unsigned *keep = NULL;
	size_t n = 0;
	char name[100];
	int ret = repo_snap_list(r, &s, &n, NULL);

	if (ret)
		return ret;
	times = calloc(n ? n : 1, sizeof(*times));
	keep = calloc(n ? n : 1, sizeof(*keep));
	if (!times || !keep) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		times[i] = s[i].time;
	repo_policy_apply(p, times, n, repo_now(), keep);
	for (size_t i = 0; i < n && !ret; i++) {
		print_one(&s[i], keep[i], json);
		repo_snap_name(&s[i], name, sizeof(name));
		if (!keep[i] && !dry)
			ret = backend_del(r->be, name);
	}
out:
	free(keep);
	free(times);
	repo_snap_free(s, n);
	return ret;
}

int backup_cmd_forget(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "keep-daily", required_argument, NULL, 'd' },
		{ "keep-weekly", required_argument, NULL, 'w' },
		{ "keep-monthly", required_argument, NULL, 'm' },
		{ "keep-yearly", required_argument, NULL, 'y' },
		{ "keep-within", required_argument, NULL, 'W' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	struct repo_policy p = { 0 };
	struct repo *r = NULL;
	struct repo_lock *lock = NULL;
	const char *url = NULL;
	int opt, json = 0, dry = 0, any = 0, code, ret;

	while ((opt = getopt_long(argc, argv, "r:h", longopts, NULL)) != -1) {
		any += opt != 'r' && opt != 'n' && opt != 'j' && opt != 'h';
		switch (opt) {
		case 'r': url = optarg; break;
		case 'd': count_opt(optarg, &p.daily); break;
		case 'w': count_opt(optarg, &p.weekly); break;
		case 'm': count_opt(optarg, &p.monthly); break;
		case 'y': count_opt(optarg, &p.yearly); break;
		case 'W':
			if (repo_parse_duration(optarg, &p.within))
				die(EXIT_USAGE, "bad --keep-within '%s'", optarg);
			break;
		case 'n': dry = 1; break;
		case 'j': json = 1; break;
		case 'h': usage(); return EXIT_OK;
		default: usage(); return EXIT_USAGE;
		}
	}
	if (optind != argc || !any || !(url = cli_repo_url(url))) {
		if (!any)
			fprintf(stderr, "phifs-backup: forget: refusing without a --keep option\n");
		usage();
		return EXIT_USAGE;
	}
	code = cli_open("forget", url, 1, &r, &lock);
	if (code)
		return code;
	p.floor = r->cfg.min_retention;
	ret = forget(r, &p, dry, json);
	if (ret)
		cli_warn("forget", "%s", strerror(-ret));
	cli_close(r, lock);
	return ret ? EXIT_PROBLEMS : EXIT_OK;
}
