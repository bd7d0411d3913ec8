/*
 * repo_cli.c: the parts of every phifs-backup subcommand that are not its
 * own: which repository (-r/--repo or PHIFS_REPO), opening it under its
 * lock, exit codes (docs/OPERATIONS.md "Backup"), and when to talk (progress
 * only on a terminal; cron gets errors and, with --json, JSON lines).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../phifs/common.h"
#include "repo_cli.h"
#include "repo_lock.h"

void cli_warn(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "phifs-backup: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *cli_repo_url(const char *opt)
{
	const char *url = opt && *opt ? opt : getenv("PHIFS_REPO");

	if (!url || !*url) {
		fprintf(stderr, "phifs-backup: no repository: use -r/--repo REPO or set PHIFS_REPO\n");
		return NULL;
	}
	return url;
}

int cli_exit_for(int err)
{
	switch (err) {
	case 0:
		return EXIT_OK;
	case -EAGAIN:
		return EXIT_LOCKED;
	case -ENOKEY:
	case -EKEYREJECTED:
	case -EACCES:
		return EXIT_KEY;
	case -ENOENT:
	case -EPROTO:
	case -EBADMSG:
		return EXIT_VOLUME;
	default:
		return EXIT_PROBLEMS;
	}
}

int cli_tty(void)
{
	return isatty(STDERR_FILENO);
}

int cli_simple_args(int argc, char **argv, int npos, void (*usage)(void), const char **url,
		    int *json)
{
	static const struct option longopts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	int opt;

	*url = NULL;
	while ((opt = getopt_long(argc, argv, "r:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r': *url = optarg; break;
		case 'j': *json = 1; break;
		case 'h': usage(); return EXIT_OK;
		default: usage(); return EXIT_USAGE;
		}
	}
	if (optind != argc - npos || !(*url = cli_repo_url(*url))) {
		usage();
		return EXIT_USAGE;
	}
	return -1;
}

int cli_open(const char *cmd, const char *url, int exclusive, struct repo **r,
	     struct repo_lock **lock)
{
	char err[512];
	int ret;

	*lock = NULL;
	ret = repo_open_msg(url, r, err, sizeof(err));
	if (ret) {
		cli_warn(cmd, "%s", err);
		return cli_exit_for(ret);
	}
	ret = repo_lock_take((*r)->be, url, exclusive, lock);
	if (ret) {
		cli_warn(cmd, ret == -EAGAIN ? "repository %s is locked by another job%s" :
			 "cannot lock repository %s: %s", url, ret == -EAGAIN ? "" : strerror(-ret));
		repo_close(*r);
		*r = NULL;
		return ret == -EAGAIN ? EXIT_LOCKED : EXIT_PROBLEMS;
	}
	return EXIT_OK;
}

void cli_close(struct repo *r, struct repo_lock *lock)
{
	repo_lock_release(lock);
	repo_close(r);
}
