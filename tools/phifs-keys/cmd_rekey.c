/*
 * cmd_rekey.c: `phifs-keys rekey [--all MOUNTPOINT | PATH...]` — a new data
 * key for each regular file of a mounted volume and its blocks re-encrypted
 * (docs/OPERATIONS.md, "Key rotation"; docs/FORMAT.md §5.7).
 *
 * The mounted daemon does the work, because it holds the open files' keys and
 * locks: this tool only asks it, file by file, with the FILEIO_IOC_REKEY
 * ioctl on the file opened read-only (root only), throttles, counts and
 * remembers. Resuming after kill -9: the inode numbers of files done in this
 * run are appended to a state file (not PHI: no names, no content); a rerun
 * skips them, a run that ends without failures removes it. A file the tool
 * was killed on is simply rekeyed again. Paths are plaintext names (PHI):
 * they are printed only with --show-paths; failures are reported by inode.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "../phifs/common.h"
#include "fileio.h"
#include "keyscmd.h"

#define STATE_DIR "/var/lib/phifs"
#define STATE_MAGIC "phifs-rekey-state 1\n"
#define MAX_FAILED_LISTED 1000

struct rekey {
	int all, json, tty, show_paths, restart;
	double throttle;                 /* bytes per second; 0: unlimited */
	const char *state_path;
	char state_buf[PATH_MAX];
	FILE *state;                     /* append: one inode number per line */
	void *done_set;                  /* tsearch tree of ino_t: done in this run */
	uint64_t total, seen, rekeyed, skipped, vanished, failed, bytes;
	json_object *failed_inodes;
	double t0, last_report;
};

static struct rekey *g;   /* nftw has no user pointer */

/* ---- the run's state: inode numbers done ---------------------------------- */

static int ino_cmp(const void *a, const void *b)
{
	ino_t x = *(const ino_t *)a, y = *(const ino_t *)b;

	return x < y ? -1 : x > y;
}

static int done_add(struct rekey *r, ino_t ino)
{
	ino_t *p = malloc(sizeof(*p));
	ino_t **found;

	if (!p)
		return -ENOMEM;
	*p = ino;
	found = tsearch(p, &r->done_set, ino_cmp);
	if (!found) {
		free(p);
		return -ENOMEM;
	}
	if (*found != p)
		free(p);
	return 0;
}

static int done_has(const struct rekey *r, ino_t ino)
{
	return tfind(&ino, &r->done_set, ino_cmp) != NULL;
}

/* Default: one state file per mount point, named after its path. */
static void state_default(struct rekey *r, const char *target)
{
	char real[PATH_MAX];
	size_t n;

	if (!realpath(target, real))
		snprintf(real, sizeof(real), "%s", target);
	n = (size_t)snprintf(r->state_buf, sizeof(r->state_buf), "%s/rekey", STATE_DIR);
	for (const char *p = real; *p && n + 2 < sizeof(r->state_buf); p++)
		r->state_buf[n++] = *p == '/' ? '_' : *p;
	snprintf(r->state_buf + n, sizeof(r->state_buf) - n, ".state");
	r->state_path = r->state_buf;
}

static int state_load(struct rekey *r)
{
	char line[64];
	FILE *f;
	int ret = 0;

	if (r->restart && unlink(r->state_path) < 0 && errno != ENOENT)
		return -errno;
	f = fopen(r->state_path, "r");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	if (!fgets(line, sizeof(line), f) || strcmp(line, STATE_MAGIC) != 0) {
		warnx_phifs("%s is not a rekey state file; use --restart or --state", r->state_path);
		ret = -EINVAL;
		goto out;
	}
	while (!ret && fgets(line, sizeof(line), f)) {
		char *end;
		unsigned long long v = strtoull(line, &end, 10);

		if (end != line && *end == '\n')   /* a line cut by kill -9 is ignored */
			ret = done_add(r, (ino_t)v);
	}
out:
	fclose(f);
	return ret;
}

static int state_open(struct rekey *r)
{
	struct stat st;
	int fd;

	if (strncmp(r->state_path, STATE_DIR "/", sizeof(STATE_DIR)) == 0 &&
	    mkdir(STATE_DIR, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(r->state_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r->state = fdopen(fd, "a");
	if (!r->state) {
		close(fd);
		return -errno;
	}
	if (fstat(fd, &st) == 0 && st.st_size == 0)
		fputs(STATE_MAGIC, r->state);
	return fflush(r->state) == 0 ? 0 : -errno;
}

/* One write() per line: kill -9 cannot leave half of it. A state file that
 * cannot be written costs only work after a kill: say so once, go on. */
static void state_mark(struct rekey *r, ino_t ino)
{
	if (done_add(r, ino) != 0 || !r->state)
		return;
	if (fprintf(r->state, "%llu\n", (unsigned long long)ino) > 0 && fflush(r->state) == 0)
		return;
	warnx_phifs("cannot record progress in %s (%s): a rerun after a kill redoes files",
		    r->state_path, strerror(errno));
	(void)fclose(r->state);
	r->state = NULL;
}

/* ---- reporting ------------------------------------------------------------ */

static void progress(struct rekey *r, int final)
{
	double now = tool_now(), el = now - r->t0;

	if (!tool_report_due(&r->last_report, now, r->json, final))
		return;
	if (r->json && !final) {
		printf("{\"type\":\"progress\",\"done\":%llu,\"total\":%llu,\"bytes\":%llu}\n",
		       (unsigned long long)r->seen, (unsigned long long)r->total,
		       (unsigned long long)r->bytes);
		fflush(stdout);
	} else if (r->tty) {
		fprintf(stderr, "\rrekeying: %llu/%llu files, %.1f MiB/s%s",
			(unsigned long long)r->seen, (unsigned long long)r->total,
			el > 0 ? (double)r->bytes / el / (1 << 20) : 0.0, final ? "\n" : "");
	}
}

static void summary(struct rekey *r)
{
	double el = tool_now() - r->t0;
	json_object *o;

	progress(r, 1);
	if (!r->json) {
		printf("rekey: %llu files, %llu rekeyed, %llu done earlier in this run, %llu gone, "
		       "%llu failed, %.1f MiB in %.1f s (%.1f MiB/s, %.0f files/s)\n",
		       (unsigned long long)r->seen, (unsigned long long)r->rekeyed,
		       (unsigned long long)r->skipped, (unsigned long long)r->vanished,
		       (unsigned long long)r->failed, (double)r->bytes / (1 << 20), el,
		       el > 0 ? (double)r->bytes / el / (1 << 20) : 0.0,
		       el > 0 ? (double)r->rekeyed / el : 0.0);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("summary"));
	json_object_object_add(o, "files", json_object_new_int64((int64_t)r->seen));
	json_object_object_add(o, "rekeyed", json_object_new_int64((int64_t)r->rekeyed));
	json_object_object_add(o, "skipped", json_object_new_int64((int64_t)r->skipped));
	json_object_object_add(o, "vanished", json_object_new_int64((int64_t)r->vanished));
	json_object_object_add(o, "failed", json_object_new_int64((int64_t)r->failed));
	json_object_object_add(o, "failed_inodes", json_object_get(r->failed_inodes));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)r->bytes));
	json_object_object_add(o, "seconds", json_object_new_double(el));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* ---- one file ------------------------------------------------------------- */

/* Keeps the average rate since the start under --throttle. */
static void throttle(struct rekey *r)
{
	double ahead;

	if (r->throttle <= 0)
		return;
	ahead = (double)r->bytes / r->throttle - (tool_now() - r->t0);
	if (ahead > 0)
		(void)usleep((useconds_t)(ahead > 10 ? 10e6 : ahead * 1e6));
}

static void fail(struct rekey *r, const char *path, ino_t ino, int err)
{
	r->failed++;
	if (json_object_array_length(r->failed_inodes) < MAX_FAILED_LISTED)
		json_object_array_add(r->failed_inodes, json_object_new_int64((int64_t)ino));
	if (r->show_paths)
		warnx_phifs("cannot rekey %s (inode %llu): %s", path, (unsigned long long)ino,
			    strerror(err));
	else
		warnx_phifs("cannot rekey inode %llu: %s", (unsigned long long)ino, strerror(err));
}

/* 0 or a positive errno. */
static int ask_daemon(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), err = 0;

	if (fd < 0)
		return errno;
	if (ioctl(fd, FILEIO_IOC_REKEY) < 0)
		err = errno;
	if (close(fd) < 0 && !err)
		err = errno;
	return err;
}

static void rekey_one(struct rekey *r, const char *path, const struct stat *sb)
{
	int err;

	r->seen++;
	if (done_has(r, sb->st_ino)) {
		r->skipped++;        /* a hard link, or done before a kill */
	} else if ((err = ask_daemon(path)) == 0) {
		r->rekeyed++;
		r->bytes += (uint64_t)sb->st_size;
		state_mark(r, sb->st_ino);
	} else if (err == ENOENT) {
		r->vanished++;       /* removed while we walked: nothing to protect */
	} else {
		fail(r, path, sb->st_ino, err);
	}
	progress(r, 0);
	throttle(r);
}

static int count_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (type == FTW_F && S_ISREG(sb->st_mode))
		g->total++;
	return FTW_CONTINUE;
}

static int walk_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_F && S_ISREG(sb->st_mode))
		rekey_one(g, path, sb);
	return FTW_CONTINUE;
}

static int rekey_paths(struct rekey *r, int n, char **paths)
{
	struct stat st;

	r->total = (uint64_t)n;
	for (int i = 0; i < n; i++) {
		const char *why = stat(paths[i], &st) < 0 ? strerror(errno)
				  : S_ISREG(st.st_mode) ? NULL : "not a regular file";

		if (why) {
			warnx_phifs("%s: %s", paths[i], why);   /* the operator's own words */
			r->failed++;
			continue;
		}
		rekey_one(r, paths[i], &st);
	}
	return 0;
}

static int rekey_run(struct rekey *r, int n, char **paths)
{
	int ret, code = EXIT_PROBLEMS;

	r->failed_inodes = json_object_new_array();
	if (!r->state_path && r->all)
		state_default(r, paths[0]);
	ret = r->state_path ? state_load(r) : 0;
	if (!ret && r->state_path)
		ret = state_open(r);
	if (ret) {
		warnx_phifs("rekey state %s: %s", r->state_path, strerror(-ret));
		goto out;
	}
	g = r;
	r->t0 = tool_now();
	if (r->all) {
		if (nftw(paths[0], count_one, 64, FTW_PHYS | FTW_MOUNT | FTW_ACTIONRETVAL) != 0 ||
		    nftw(paths[0], walk_one, 64, FTW_PHYS | FTW_MOUNT | FTW_ACTIONRETVAL) != 0) {
			warnx_phifs("cannot walk %s: %s", paths[0], strerror(errno));
			goto out;
		}
	} else {
		rekey_paths(r, n, paths);
	}
	summary(r);
	code = r->failed ? EXIT_PROBLEMS : EXIT_OK;
	/* Done: the next run is a new one. */
	if (!r->failed && r->state_path && unlink(r->state_path) < 0 && errno != ENOENT)
		warnx_phifs("cannot remove %s: %s", r->state_path, strerror(errno));
out:
	if (r->state)
		fclose(r->state);
	tdestroy(r->done_set, free);
	json_object_put(r->failed_inodes);
	return code;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: phifs-keys rekey [--throttle MIB/S] [--json] [--state FILE] "
		"[--restart] [--show-paths] (--all MOUNTPOINT | PATH...)\n");
}

int keys_cmd_rekey(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "throttle", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "state", required_argument, NULL, 's' },
		{ "restart", no_argument, NULL, 'r' },
		{ "show-paths", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	static struct rekey r;
	char *end;
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'a': r.all = 1; break;
		case 'j': r.json = 1; break;
		case 's': r.state_path = optarg; break;
		case 'r': r.restart = 1; break;
		case 'p': r.show_paths = 1; break;
		case 't':
			r.throttle = strtod(optarg, &end) * (1 << 20);
			if (end == optarg || *end || r.throttle <= 0)
				die(EXIT_USAGE, "--throttle: a rate in MiB/s, e.g. 50");
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind >= argc || (r.all && optind != argc - 1)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	r.tty = isatty(2) && !r.json;
	return rekey_run(&r, argc - optind, argv + optind);
}
