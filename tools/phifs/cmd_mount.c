/*
 * cmd_mount.c: `phifs mount` — parse options (command line and -o lists, the
 * latter also used by mount.phifs for /etc/fstab), then hand over to the
 * daemon. phifs's own -o options are consumed here; mount(8)'s generic ones
 * are dropped; the rest go to libfuse, which rejects what it does not know.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "daemon.h"

struct mount_args {
	struct daemon_opts d;
	char extra[2048];
	/* -o values point into these copies */
	char *optcopies[16];
	int ncopies;
};

static void usage(void)
{
	printf("usage: phifs mount [options] CIPHERDIR MOUNTPOINT\n"
	       "  -f, --foreground     stay in front (logs to stderr)\n"
	       "  -d, --debug          libfuse request trace (implies -f)\n"
	       "  -o OPTS              comma-separated mount options:\n"
	       "      kms=URI          override the config's key provider URI\n"
	       "      passfile=FILE    passphrase provider: read it from FILE\n"
	       "      pidfile=FILE     write the daemon's pid once mounted (removed at unmount)\n"
	       "      readahead=KIB    kernel readahead for the mount (default 1024; 0 = kernel's)\n"
	       "      idle_timeout=DUR evict the volume keys after DUR without any operation (15m)\n"
	       "      chg_interval=DUR store change records of files held open this often (60s)\n"
	       "      audit=DIR        audit spool directory (default " AUDIT_DEFAULT_DIR "; off)\n"
	       "      audit_keys=DIR   audit verification material (default DIR.keys)\n"
	       "      audit_syslog=S   also to syslog: local, tls://HOST:PORT?... (';' between)\n"
	       "      audit_mode=summary|per-op    reads/writes per handle or per call\n"
	       "      audit_paths=none|hmac|encrypted|plain   path references (default hmac)\n"
	       "      audit_on_failure=deny|continue  when records cannot be written\n"
	       "      audit_interval=S interim read/write summaries of open files (default 60)\n"
	       "      ro, allow_other, direct_io, nowriteback, timeout=SECONDS, threads=N\n"
	       "      other options are passed to libfuse (e.g. nodev, nosuid, noatime)\n"
	       "  --kms URI, --passfile FILE, --extpass CMD, --ro, --allow-other,\n"
	       "  --pidfile FILE\n");
}

static int is_generic_mount_opt(const char *o)
{
	static const char *const generic[] = { "defaults", "auto", "noauto", "nofail", "_netdev",
					       "user", "users", "nouser", "rw", "x-systemd",
					       "owner", "group", "comment", NULL };

	for (int i = 0; generic[i]; i++)
		if (!strncmp(o, generic[i], strlen(generic[i])))
			return 1;
	return 0;
}

static void add_extra(struct mount_args *m, const char *o)
{
	size_t len = strlen(m->extra);

	if (len + strlen(o) + 2 >= sizeof(m->extra))
		die(EXIT_USAGE, "too many mount options");
	snprintf(m->extra + len, sizeof(m->extra) - len, "%s%s", len ? "," : "", o);
}

/* "15m", "1800", "1h": how long the keys may stay unused in the daemon. */
static unsigned idle_timeout(const char *v)
{
	int64_t s;

	if (parse_duration(v, &s) || s > 7 * 86400)
		die(EXIT_USAGE, "idle_timeout= wants a duration up to 7d, e.g. 15m");
	return (unsigned)s;
}

/* "60s", "5m": how long a file held open and written may go without its
 * change record stored (docs/FORMAT.md §7.1 rule 3). */
static unsigned chg_interval(const char *v)
{
	int64_t s;

	if (parse_duration(v, &s) || s < 1 || s > 86400)
		die(EXIT_USAGE, "chg_interval= wants a duration from 1s to 1d, e.g. 60s");
	return (unsigned)s;
}

/* audit_syslog's sinks are ','-separated, which -o lists cannot carry: ';' here. */
static const char *syslog_list(char *v)
{
	for (char *p = v; *p; p++)
		if (*p == ';')
			*p = ',';
	return v;
}

static int parse_audit(struct mount_args *m, char *o)
{
	struct audit_opts *a = &m->d.audit;
	char *v = strchr(o, '=');

	if (strncmp(o, "audit", 5) || !v)
		return 0;
	*v++ = '\0';
	if (!strcmp(o, "audit"))
		a->spool_dir = v;
	else if (!strcmp(o, "audit_keys"))
		a->keys_dir = v;
	else if (!strcmp(o, "audit_syslog"))
		a->syslog = syslog_list(v);
	else if (!strcmp(o, "audit_mode") && (!strcmp(v, "summary") || !strcmp(v, "per-op")))
		a->per_op = !strcmp(v, "per-op");
	else if (!strcmp(o, "audit_paths") && !audit_paths_parse(v, &a->paths))
		;
	else if (!strcmp(o, "audit_on_failure") && (!strcmp(v, "deny") || !strcmp(v, "continue")))
		a->on_failure_continue = !strcmp(v, "continue");
	else if (!strcmp(o, "audit_interval") && atoi(v) > 0)
		a->interval_s = (unsigned)atoi(v);
	else
		die(EXIT_USAGE, "bad audit option %s=%s", o, v);
	return 1;
}

static void parse_one(struct mount_args *m, char *o)
{
	if (parse_audit(m, o))
		return;
	if (!strncmp(o, "kms=", 4))
		m->d.kms_override = o + 4;
	else if (!strncmp(o, "pidfile=", 8))
		m->d.pidfile = o + 8;
	else if (!strncmp(o, "passfile=", 9))
		m->d.kms.passfile = o + 9;
	else if (!strcmp(o, "ro"))
		m->d.readonly = 1;
	else if (!strcmp(o, "allow_other"))
		m->d.allow_other = 1;
	else if (!strcmp(o, "direct_io"))
		m->d.direct_io = 1;
	else if (!strcmp(o, "nowriteback"))
		m->d.writeback = 0;
	else if (!strcmp(o, "writeback"))
		m->d.writeback = 1;
	else if (!strncmp(o, "timeout=", 8))
		m->d.timeout = strtod(o + 8, NULL);
	else if (!strncmp(o, "readahead=", 10))
		m->d.readahead_kb = atoi(o + 10);
	else if (!strncmp(o, "idle_timeout=", 13))
		m->d.idle_timeout_s = idle_timeout(o + 13);
	else if (!strncmp(o, "chg_interval=", 13))
		m->d.chg_interval_s = chg_interval(o + 13);
	else if (!strncmp(o, "threads=", 8))
		m->d.threads = atoi(o + 8);
	else if (!strcmp(o, "debug"))
		m->d.debug = m->d.foreground = 1;
	else if (!is_generic_mount_opt(o))
		add_extra(m, o);
}

static void parse_o(struct mount_args *m, const char *list)
{
	char *copy = strdup(list), *save = NULL, *tok;

	if (!copy || m->ncopies == (int)(sizeof(m->optcopies) / sizeof(m->optcopies[0])))
		die(EXIT_USAGE, "too many -o options");
	m->optcopies[m->ncopies++] = copy;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		parse_one(m, tok);
}

int cmd_mount(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "kms", required_argument, NULL, 'k' },
		{ "passfile", required_argument, NULL, 'P' },
		{ "extpass", required_argument, NULL, 'E' },
		{ "ro", no_argument, NULL, 'r' },
		{ "allow-other", no_argument, NULL, 'a' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	struct mount_args m;
	char cdir[PATH_MAX], mnt[PATH_MAX], pid[PATH_MAX], err[1024];
	int opt, ret;

	memset(&m, 0, sizeof(m));
	m.d.writeback = 1;
	m.d.readahead_kb = 1024;
	m.d.timeout = 1.0;
	m.d.audit.paths = AUDIT_PATHS_HMAC;
	while ((opt = getopt_long(argc, argv, "fdo:h", longopts, NULL)) != -1) {
		if (kms_opt(opt, optarg, &m.d.kms))
			continue;
		switch (opt) {
		case 'f': m.d.foreground = 1; break;
		case 'd': m.d.debug = m.d.foreground = 1; break;
		case 'o': parse_o(&m, optarg); break;
		case 'k': m.d.kms_override = optarg; break;
		case 'r': m.d.readonly = 1; break;
		case 'a': m.d.allow_other = 1; break;
		case 'p': m.d.pidfile = optarg; break;
		case 'h': usage(); return EXIT_OK;
		default: usage(); return EXIT_USAGE;
		}
	}
	if (optind != argc - 2) {
		usage();
		return EXIT_USAGE;
	}
	if (!realpath(argv[optind], cdir))
		die(EXIT_VOLUME, "%s: %s", argv[optind], strerror(errno));
	if (!realpath(argv[optind + 1], mnt))
		die(EXIT_USAGE, "mount point %s: %s", argv[optind + 1], strerror(errno));
	if (m.d.pidfile && m.d.pidfile[0] != '/') {
		/* The daemon runs from /: keep the pid file where the caller meant it. */
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)) ||
		    snprintf(pid, sizeof(pid), "%s/%s", cwd, m.d.pidfile) >= (int)sizeof(pid))
			die(EXIT_USAGE, "pid file path too long");
		m.d.pidfile = pid;
	}
	m.d.audit.spool_dir = audit_dir_or_default(m.d.audit.spool_dir);
	if (!audit_is_off(m.d.audit.spool_dir) &&
	    audit_check_dir(m.d.audit.spool_dir, cdir, mnt, err, sizeof(err)))
		die(EXIT_USAGE, "%s", err);
	m.d.cipherdir = cdir;
	m.d.mountpoint = mnt;
	m.d.fuse_extra = m.extra;
	ret = daemon_run(&m.d, err, sizeof(err));
	for (int i = 0; i < m.ncopies; i++)
		free(m.optcopies[i]);
	if (ret)
		die(exit_code_for(ret), "mount failed: %s", err[0] ? err : strerror(-ret));
	return EXIT_OK;
}
