/* common.h: what every phifs subcommand shares (see common.c). */
#ifndef PHIFS_TOOL_COMMON_H
#define PHIFS_TOOL_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include "kms.h"

/* Exit codes, documented in README.md and docs/OPERATIONS.md. */
#define EXIT_OK 0          /* success; fsck: volume is clean */
#define EXIT_PROBLEMS 1    /* fsck found problems; other commands: operation failed */
#define EXIT_USAGE 2       /* bad command line */
#define EXIT_KEY 3         /* could not unlock: wrong key, KMS or passphrase failure */
#define EXIT_VOLUME 4      /* not a volume, unsupported format, modified config */

/* "phifs: message" on stderr; die() then exits (only before anything needs freeing). */
void warnx_phifs(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
/* Exit code for a volume_open() failure. */
int exit_code_for(int err);
/* Parses the KMS options shared by init, mount and fsck (--passfile, --extpass). */
int kms_opt(int opt, const char *arg, struct kms_opts *o);
/* A local:/path key file's directory is made 0700 if missing (e.g. /etc/phifs),
 * before kms_open creates the key file in it (init). */
void tool_make_key_dir(const char *kms_uri);
int hex_id(const unsigned char *id, size_t len, char *out, size_t cap);
/* Seconds on the monotonic clock: elapsed times and rates of long runs. */
double tool_now(void);
/* The config of a cipher dir, no key needed: EXIT_OK, or EXIT_VOLUME with a
 * message on stderr (not a volume, unreadable, unsupported). */
struct format_config;
int tool_config_read(const char *dir, struct format_config *c);
/* Rate limit of progress output: 1 when a report is due at `now` (5 a second
 * on a terminal, 1 a second as JSON, always when final); updates *last. */
int tool_report_due(double *last, double now, int json, int final);
/* "365d", "12h", "30m", "90s" or plain seconds → seconds (> 0); -EINVAL. */
int parse_duration(const char *s, int64_t *out);

/* The tool's audit stream ("<volid>.tools") for the volume in dir; audit_arg
 * is --audit's value (NULL: the default dir; "off": NULL returned, warned).
 * With fail_closed, exits 1 when the spool cannot be written (otherwise warns:
 * `phifs lock` must never be stopped by an audit outage); exits 4 when dir is not a
 * volume. Installs the key-operation hook: hook_key_op() becomes a record. */
struct audit_tool;
struct audit_tool *tool_audit_open(const char *audit_arg, const char *dir, int fail_closed);

/* A command-line program made of subcommands (phifs, phifs-keys). */
struct tool_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

/* Usage, --help, --version, then secmem set-up (no core dumps: every
 * subcommand may hold keys) and dispatch on argv[1]. Returns the exit code. */
int tool_main(const char *prog, const struct tool_cmd *cmds, size_t n, int argc, char **argv);

int cmd_init(int argc, char **argv);
int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_fsck(int argc, char **argv);
int cmd_unlock(int argc, char **argv);
int cmd_lock(int argc, char **argv);
int cmd_policy(int argc, char **argv);

#endif
