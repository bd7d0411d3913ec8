/* repo_cli.h: what every phifs-backup subcommand shares (repo_cli.c):
 * the repository URL, exit codes, output modes. docs/OPERATIONS.md "Backup". */
#ifndef PHIFS_BACKUP_REPO_CLI_H
#define PHIFS_BACKUP_REPO_CLI_H

#include "repo.h"

/* Exit codes beyond tools/phifs/common.h (0 ok, 1 failed, 2 usage, 3 key,
 * 4 not a repository / unsupported / modified). */
#define EXIT_LOCKED 5      /* the repository is locked by another job */
#define EXIT_PARTIAL 6     /* backup: snapshot written, but some files were not stored */

/* The repository named by -r/--repo (opt, may be NULL) or PHIFS_REPO; NULL
 * with a message when neither is set. */
const char *cli_repo_url(const char *opt);
/* Exit code for a -errno from repo_open, locks or the backend. */
int cli_exit_for(int err);
/* Progress lines on stderr only when it is a terminal (cron stays quiet). */
int cli_tty(void);
/* "phifs-backup: CMD: message" on stderr. */
void cli_warn(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Options of commands that have no others: [-r REPO] [--json] [--help] and
 * exactly npos positional arguments (from argv[optind]). -1 to go on (url
 * set), else the exit code to return. */
int cli_simple_args(int argc, char **argv, int npos, void (*usage)(void), const char **url,
		    int *json);

/* Opens the repository and takes its lock (repo_lock.h): exclusive for
 * commands that write. 0 or an exit code, with the message printed. */
struct repo_lock;
int cli_open(const char *cmd, const char *url, int exclusive, struct repo **r,
	     struct repo_lock **lock);
void cli_close(struct repo *r, struct repo_lock *lock);

#endif
