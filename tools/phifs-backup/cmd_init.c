/*
 * cmd_init.c: `phifs-backup init` — create a repository
 * (docs/BACKUP_FORMAT.md §3, §4): a random repository key wrapped by the KMS
 * provider given with --kms (a local key file is created if absent, as
 * `phifs init` does), and the config with the retention floor (§10.2).
 * The only command that takes --kms: the repository remembers it.
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
#include "repo_util.h"

#define DEFAULT_KMS "local:/etc/phifs/backup.key"

static void usage(void)
{
	printf("usage: phifs-backup [-r REPO] init [--kms URI] [--min-retention DURATION]\n"
	       "                          [--chunk-size SIZE] [--json]\n"
	       "  --kms URI               key provider for the repository key (default %s,\n"
	       "                          created mode 0600 if absent); the repository remembers it\n"
	       "  --min-retention D       retention floor: forget never removes a snapshot younger\n"
	       "                          than D (default 6y; 365d, 52w, 0 = none)\n"
	       "  --chunk-size SIZE       largest data chunk (default 1M; 8K..64M, K/M suffix):\n"
	       "                          smaller chunks store less after scattered small writes,\n"
	       "                          at the cost of a larger index and tree\n",
	       DEFAULT_KMS);
}

/* N, NK or NM bytes, 8 KiB to 64 MiB (the config's bounds, §3). */
static int parse_chunk(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (end == s || *s == '-')
		return -EINVAL;
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	if (*end || v < 8192 || v > 64u << 20)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int backup_cmd_init(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "kms", required_argument, NULL, 'k' },
		{ "min-retention", required_argument, NULL, 'm' },
		{ "chunk-size", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	const char *kms = DEFAULT_KMS, *url = NULL;
	int64_t floor = REPO_DEFAULT_MIN_RETENTION;
	uint32_t chunk = 0;
	struct repo *r = NULL;
	char err[512];
	int opt, ret, json = 0;

	while ((opt = getopt_long(argc, argv, "r:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			url = optarg;
			break;
		case 'k':
			kms = optarg;
			break;
		case 'm':
			if (repo_parse_duration(optarg, &floor))
				die(EXIT_USAGE, "bad --min-retention '%s' (e.g. 6y, 365d, 0)", optarg);
			break;
		case 'c':
			if (parse_chunk(optarg, &chunk))
				die(EXIT_USAGE, "bad --chunk-size '%s' (8K..64M)", optarg);
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			usage();
			return EXIT_USAGE;
		}
	}
	if (optind != argc || !(url = cli_repo_url(url))) {
		usage();
		return EXIT_USAGE;
	}
	tool_make_key_dir(kms);
	ret = repo_create(url, kms, floor, chunk, &r, err, sizeof(err));
	if (ret) {
		cli_warn("init", "%s", err);
		return ret == -EEXIST ? EXIT_PROBLEMS : cli_exit_for(ret);
	}
	if (json)
		printf("{\"repository\":\"%s\",\"min_retention\":%lld}\n",
		       r->cfg.id_hex, (long long)floor);
	else
		printf("created repository %s in %s (key provider %s, retention floor %lld days)\n",
		       r->cfg.id_hex, url, kms, (long long)(floor / 86400));
	repo_close(r);
	return EXIT_OK;
}
