/*
 * cmd_restore.c: `phifs-backup restore SNAP|latest --target DIR` — a
 * snapshot back into a new cipher directory that mounts with the original
 * volume keys (docs/BACKUP_FORMAT.md §9). Every chunk is checked against its
 * keyed id before it is written; every file is written under a temporary
 * name and renamed into place, so a file at its final name is complete.
 * Modes, times, xattrs (and owners, when run as root) are restored;
 * directories last, deepest first, so their times stick. Needs no volume
 * key: --include selects backing (encrypted) paths. --path selects by
 * plaintext path and needs the volume key: the directory skeleton (dirs,
 * config, dir ids, long-name side files) is restored first, the volume
 * opened on it, the paths mapped (repo_plainpath.c), then the files.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "../phifs/common.h"
#include "backupcmd.h"
#include "fdio.h"
#include "format.h"
#include "keytab.h"
#include "names.h"
#include "repo_plainpath.h"
#include "volume.h"
#include "repo_cli.h"
#include "repo_lock.h"
#include "repo_meta.h"
#include "repo_patch.h"
#include "repo_snap.h"
#include "repo_util.h"

#define TMP_NAME "phifs.restore.tmp"
#define MAX_INCLUDES 64
#define ZERO_RUN 4096

enum phase { ALL, SKELETON, SELECTED };

struct rs {
	struct repo *r;
	struct repo_index *ix;
	int tfd;                        /* target directory */
	const char *inc[MAX_INCLUDES];  /* backing paths selected, or none = all */
	int ninc;
	const char *paths[MAX_INCLUDES];   /* --path: plaintext, never printed */
	char *mapped[MAX_INCLUDES];        /* their backing paths (malloc'd) */
	int npaths;
	enum phase phase;
	const char *kms;                /* --kms for the volume, or NULL: its own */
	struct json_object *dirs;       /* directory entries, for the final pass */
	uint64_t files, bytes, errors;
	int json, tty, root;
	double last;
	struct repo_lock *lock;         /* refreshed on long restores */
};

/* path is selected, or is a directory on the way to a selection, or is
 * what every restored cipher dir needs (phifs.conf, phifs.keytab, each
 * phifs.dirid). */
static int skeleton(const char *path, const char *type)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	return !strcmp(type, "d") || !strcmp(path, FORMAT_CONFIG_FILE) ||
	       !strcmp(path, KEYTAB_FILE) || !strcmp(base, NAMES_DIRID_FILE) ||
	       (!strncmp(base, NAMES_LONG_PREFIX, strlen(NAMES_LONG_PREFIX)) &&
		n > strlen(NAMES_LONG_SUFFIX) && !strcmp(base + n - strlen(NAMES_LONG_SUFFIX),
							  NAMES_LONG_SUFFIX));
}

static int selected(const struct rs *s, const char *path, const char *type)
{
	const char *base = strrchr(path, '/');

	if (s->phase == SKELETON)
		return skeleton(path, type);
	if (s->phase == SELECTED && skeleton(path, type))
		return 0;                        /* restored in the first pass */
	if (!s->ninc || !strcmp(path, ".") || !strcmp(path, FORMAT_CONFIG_FILE) ||
	    !strcmp(path, KEYTAB_FILE) || !strcmp(base ? base + 1 : path, NAMES_DIRID_FILE))
		return 1;
	for (int i = 0; i < s->ninc; i++) {
		size_t n = strlen(s->inc[i]), m = strlen(path);

		if (!strncmp(path, s->inc[i], n) && (path[n] == '\0' || path[n] == '/'))
			return 1;
		if (!strcmp(type, "d") && m < n && !strncmp(s->inc[i], path, m) && s->inc[i][m] == '/')
			return 1;
	}
	return 0;
}

static int64_t field(struct json_object *e, const char *key)
{
	int64_t v = 0;

	repo_json_i64(e, key, &v);
	return v;
}

static void times_of(struct json_object *e, struct timespec ts[2])
{
	int64_t mt = field(e, "mt");

	ts[0].tv_sec = ts[1].tv_sec = mt / 1000000000;
	ts[0].tv_nsec = ts[1].tv_nsec = mt % 1000000000;
}

/* The directory that holds path's last component, opened beneath the target
 * without following any symlink, so that no tree can make a restore write
 * outside --target. *base points into path. An fd, or -errno. */
static int parent_fd(const struct rs *s, const char *path, const char **base)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS };
	const char *slash = strrchr(path, '/');
	char dir[8192];
	long fd;

	*base = slash ? slash + 1 : path;
	if (slash && (size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	if (!slash) {
		fd = fcntl(s->tfd, F_DUPFD_CLOEXEC, 0);
	} else {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		fd = syscall(SYS_openat2, s->tfd, dir, &how, sizeof(how));
	}
	return fd < 0 ? -errno : (int)fd;
}

static int is_zero(const uint8_t *p, size_t n)
{
	static const uint8_t zero[ZERO_RUN];

	return n == ZERO_RUN && !memcmp(p, zero, ZERO_RUN);
}

/* Writes one chunk at off, leaving aligned all-zero runs as holes. */
static int write_chunk(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	size_t pos = 0;
	int ret = 0;

	while (!ret && pos < len) {
		size_t n = ZERO_RUN - (size_t)((off + pos) % ZERO_RUN);

		if (n > len - pos)
			n = len - pos;
		if (!is_zero(p + pos, n))
			ret = fdio_pwrite(fd, p + pos, n, off + pos);
		pos += n;
	}
	return ret;
}

/* The patches of §6.3 over the base chunks: each replaces its bytes,
 * zeros included (the base may hold data there). */
static int file_patches(struct rs *s, int fd, struct json_object *e, uint64_t size)
{
	struct repo_patch *pa = NULL;
	size_t n = 0;
	int ret = repo_patch_parse(e, size, &pa, &n);

	for (size_t i = 0; !ret && i < n; i++) {
		uint8_t *buf = NULL;
		size_t len = 0;

		ret = repo_blob_read(s->r, s->ix, pa[i].id, &buf, &len);
		if (!ret && len != pa[i].len)
			ret = -EBADMSG;
		if (!ret)
			ret = fdio_pwrite(fd, buf, len, pa[i].off);
		free(buf);
	}
	free(pa);
	return ret;
}

static int file_content(struct rs *s, int fd, struct json_object *e)
{
	struct json_object *c;
	uint64_t off = 0;
	int ret = 0;

	if (!json_object_object_get_ex(e, "c", &c) || !json_object_is_type(c, json_type_array))
		return -EBADMSG;
	for (size_t i = 0; !ret && i < json_object_array_length(c); i++) {
		const char *hex = json_object_get_string(json_object_array_get_idx(c, i));
		uint8_t id[32], *buf = NULL;
		size_t len = 0;

		ret = hex && !repo_unhex(hex, id, 32) ? 0 : -EBADMSG;
		if (!ret)
			ret = repo_blob_read(s->r, s->ix, id, &buf, &len);
		if (!ret)
			ret = write_chunk(fd, buf, len, off);
		off += len;
		free(buf);
	}
	if (!ret && off != (uint64_t)field(e, "sz"))
		ret = -EBADMSG;
	if (!ret && ftruncate(fd, (off_t)off) < 0)
		ret = -errno;
	if (!ret)
		ret = file_patches(s, fd, e, off);
	s->bytes += off;
	return ret;
}

/* Owner (root only), mode, xattrs, times of an open entry. */
static int set_meta_fd(struct rs *s, int fd, struct json_object *e)
{
	struct timespec ts[2];
	struct json_object *x = NULL;

	if (s->root && fchown(fd, (uid_t)field(e, "u"), (gid_t)field(e, "g")) < 0)
		return -errno;
	if (fchmod(fd, (mode_t)field(e, "m")) < 0)
		return -errno;
	if (json_object_object_get_ex(e, "x", &x)) {
		int ret = repo_meta_xattrs_set(fd, x);

		if (ret)
			return ret;
	}
	times_of(e, ts);
	return futimens(fd, ts) < 0 ? -errno : 0;
}

static int link_to(struct rs *s, int pfd, const char *base, const char *hl)
{
	const char *hbase;
	int hfd = parent_fd(s, hl, &hbase), ret = 0;

	if (hfd < 0)
		return hfd;
	if (linkat(hfd, hbase, pfd, base, 0) < 0)
		ret = -errno;
	close(hfd);
	return ret;
}

static int restore_file(struct rs *s, int pfd, const char *base, struct json_object *e)
{
	const char *hl = repo_json_str(e, "hl");
	int fd, ret;

	if (hl)
		return link_to(s, pfd, base, hl);
	fd = openat(pfd, TMP_NAME, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ret = file_content(s, fd, e);
	if (!ret)
		ret = set_meta_fd(s, fd, e);
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret && renameat(pfd, TMP_NAME, pfd, base) < 0)
		ret = -errno;
	if (ret)
		unlinkat(pfd, TMP_NAME, 0);
	return ret;
}

/* Symlinks and fifos: made under the temp name, renamed, then metadata. */
static int restore_special(struct rs *s, int pfd, const char *base, const char *type,
			   struct json_object *e)
{
	const char *target = repo_json_str(e, "lt");
	struct timespec ts[2];
	int ret = 0;

	if (!strcmp(type, "l"))
		ret = target && symlinkat(target, pfd, TMP_NAME) == 0 ? 0 : target ? -errno : -EBADMSG;
	else
		ret = mkfifoat(pfd, TMP_NAME, 0600) < 0 ? -errno : 0;
	if (!ret && renameat(pfd, TMP_NAME, pfd, base) < 0) {
		ret = -errno;
		unlinkat(pfd, TMP_NAME, 0);
	}
	if (ret)
		return ret;
	if (s->root && fchownat(pfd, base, (uid_t)field(e, "u"), (gid_t)field(e, "g"),
				AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (strcmp(type, "l") && fchmodat(pfd, base, (mode_t)field(e, "m"), 0) < 0)
		return -errno;
	times_of(e, ts);
	return utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int restore_one(void *arg, struct json_object *e)
{
	struct rs *s = arg;
	const char *path = repo_json_str(e, "p"), *type = repo_json_str(e, "t"), *base;
	int ret = 0, pfd;

	if (!path || !type || !*path || path[0] == '/' || strstr(path, "..") ||
	    strstr(path, TMP_NAME))
		return -EBADMSG;                 /* a tree never holds these: refuse it */
	if (!selected(s, path, type) || (!strcmp(type, "d") && s->phase == SELECTED))
		return 0;
	pfd = parent_fd(s, path, &base);
	if (pfd < 0)
		ret = pfd;
	else if (!strcmp(type, "d"))
		ret = strcmp(path, ".") && mkdirat(pfd, base, 0700) < 0 ? -errno : 0;
	else if (!strcmp(type, "f"))
		ret = restore_file(s, pfd, base, e);
	else if (!strcmp(type, "l") || !strcmp(type, "p"))
		ret = restore_special(s, pfd, base, type, e);
	if (pfd >= 0)
		close(pfd);
	if (!strcmp(type, "d") && !ret)
		json_object_array_add(s->dirs, json_object_get(e));
	s->files += !strcmp(type, "f");
	if (ret) {
		cli_warn("restore", "%s: %s", path, strerror(-ret));
		s->errors++;
	}
	repo_lock_refresh(s->lock);
	if (s->tty && tool_report_due(&s->last, tool_now(), 0, 0))
		fprintf(stderr, "\rfiles %llu  %.1f MiB", (unsigned long long)s->files,
			s->bytes / 1048576.0);
	return 0;
}

/* Directories last, deepest first: creating entries changes their times. */
static void finish_dirs(struct rs *s)
{
	for (size_t i = json_object_array_length(s->dirs); i-- > 0;) {
		struct json_object *e = json_object_array_get_idx(s->dirs, i);
		const char *path = repo_json_str(e, "p"), *base;
		int pfd = parent_fd(s, path, &base), fd = -1, ret = pfd < 0 ? pfd : 0;

		if (!ret && (fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			ret = -errno;
		if (!ret)
			ret = set_meta_fd(s, fd, e);
		if (fd >= 0)
			close(fd);
		if (pfd >= 0)
			close(pfd);
		if (ret) {
			cli_warn("restore", "%s: %s", path, strerror(-ret));
			s->errors++;
		}
	}
}

static int open_target(const char *dir)
{
	DIR *d;
	struct dirent *de;
	int fd, empty = 1;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fdio_opendir(fd, &d) == 0) {
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				empty = 0;
		closedir(d);
	}
	if (!empty) {
		close(fd);
		return -ENOTEMPTY;
	}
	return fd;
}

/* --path: open the volume on the restored skeleton, map each plaintext path. */
static int map_paths(struct rs *s)
{
	struct kms_opts ko = { 0 };
	struct volume *v = NULL;
	char dir[64], err[512], out[8192];
	int ret;

	snprintf(dir, sizeof(dir), "/proc/self/fd/%d", s->tfd);
	ko.passfile = getenv("PHIFS_BACKUP_PASSFILE");
	ret = volume_open(dir, s->kms, &ko, &v, err, sizeof(err));
	if (ret) {
		cli_warn("restore", "--path needs the volume key: %s", err);
		return ret;
	}
	for (int i = 0; !ret && i < s->npaths; i++) {
		ret = repo_plainpath_map(v, s->paths[i], out, sizeof(out));
		if (ret)
			cli_warn("restore", "--path number %d is not in the snapshot: %s", i + 1,
				 strerror(-ret));
		else if (!(s->mapped[i] = strdup(out)))
			ret = -ENOMEM;
		else
			s->inc[s->ninc++] = s->mapped[i];
	}
	volume_close(v);
	return ret;
}

/*
 * OPERATIONS.md "Backup", key table: a snapshot older than the latest
 * crypto-shredding holds a key table whose epoch KEK was destroyed. Checked
 * without the KMS where that is possible (a local KEK is a file: gone means
 * destroyed), so the backup user needs no key; other providers are found out
 * at mount, with the same advice.
 */
static void keytab_check(const struct rs *s)
{
	struct format_config *cfg = calloc(1, sizeof(*cfg));
	struct keytab_header h;
	char dir[64], uri[4200];
	struct stat st;

	snprintf(dir, sizeof(dir), "/proc/self/fd/%d", s->tfd);
	if (cfg && volume_config_read(s->tfd, cfg) == 0 &&
	    (cfg->incompat_flags & FORMAT_INCOMPAT_KEYTAB) && keytab_peek(dir, &h) == 0 &&
	    keytab_kek_uri(s->kms ? s->kms : cfg->kms_uri, h.epoch, uri, sizeof(uri)) == 0 &&
	    !strncmp(uri, "local:", 6) && stat(uri + 6, &st) != 0 && errno == ENOENT)
		cli_warn("restore", "the restored %s is epoch %llu, whose table key was destroyed "
			 "by a later crypto-shredding (%s is gone): before mounting, copy %s from "
			 "the live volume or the newest snapshot", KEYTAB_FILE,
			 (unsigned long long)h.epoch, uri + 6, KEYTAB_FILE);
	free(cfg);
}

static int run(struct rs *s, const char *ref, const char *target)
{
	struct repo_snap *snaps = NULL, *snap = NULL;
	size_t n = 0;
	int ret;

	ret = repo_index_load(s->r, s->ix);
	if (!ret)
		ret = repo_snap_list(s->r, &snaps, &n, NULL);
	if (!ret && (ret = repo_snap_find(snaps, n, ref, &snap)) != 0) {
		cli_warn("restore", "snapshot %s: %s", ref, ret == -EINVAL ? "ambiguous" : "not found");
		ret = -ESRCH;
	}
	if (!ret && (s->tfd = open_target(target)) < 0) {
		ret = s->tfd;
		cli_warn("restore", "target %s: %s", target, strerror(-ret));
	}
	if (!ret) {
		s->phase = s->npaths ? SKELETON : ALL;
		ret = repo_tree_each(s->r, s->ix, snap->tree, restore_one, s);
		if (!ret && s->npaths && !(ret = map_paths(s))) {
			s->phase = SELECTED;
			ret = repo_tree_each(s->r, s->ix, snap->tree, restore_one, s);
		}
		if (ret)
			cli_warn("restore", "tree of snapshot %.16s: %s", snap->id_hex, strerror(-ret));
		finish_dirs(s);
		if (syncfs(s->tfd) < 0 && !ret)
			ret = -errno;
		if (!ret)
			keytab_check(s);
	}
	if (!ret && s->json)
		printf("{\"snapshot\":\"%s\",\"files\":%llu,\"bytes\":%llu,\"errors\":%llu}\n",
		       snap->id_hex, (unsigned long long)s->files, (unsigned long long)s->bytes,
		       (unsigned long long)s->errors);
	else if (!ret && s->tty)
		printf("\rrestored snapshot %.16s: %llu files, %.1f MiB, %llu errors\n", snap->id_hex,
		       (unsigned long long)s->files, s->bytes / 1048576.0,
		       (unsigned long long)s->errors);
	repo_snap_free(snaps, n);
	return ret;
}

static void usage(void)
{
	printf("usage: phifs-backup [-r REPO] restore SNAP|latest --target DIR [--include PATH]... [--json]\n"
	       "  --target DIR     a new or empty directory: becomes the restored cipher directory\n"
	       "  --include PATH   only this backing (encrypted) path below the cipher dir, with\n"
	       "                   its content (repeatable); phifs.conf and dir ids always come\n"
	       "  --path PATH      only this plaintext path below the volume root (repeatable);\n"
	       "                   needs the volume key (its KMS, or --kms URI)\n"
	       "exit: 0 ok, 1 some entries failed (named on stderr), 2 usage, 3 key,\n"
	       "      4 not a repository, 5 locked\n");
}

int backup_cmd_restore(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "target", required_argument, NULL, 't' },
		{ "include", required_argument, NULL, 'i' },
		{ "path", required_argument, NULL, 'P' },
		{ "kms", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	struct rs s = { .tfd = -1 };
	const char *url = NULL, *target = NULL;
	int opt, code, ret;

	while ((opt = getopt_long(argc, argv, "r:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r': url = optarg; break;
		case 't': target = optarg; break;
		case 'i':
			if (s.ninc == MAX_INCLUDES / 2)
				die(EXIT_USAGE, "at most %d --include", MAX_INCLUDES / 2);
			s.inc[s.ninc++] = optarg;
			break;
		case 'P':
			if (s.npaths == MAX_INCLUDES / 2)
				die(EXIT_USAGE, "at most %d --path", MAX_INCLUDES / 2);
			s.paths[s.npaths++] = optarg;
			break;
		case 'k': s.kms = optarg; break;
		case 'j': s.json = 1; break;
		case 'h': usage(); return EXIT_OK;
		default: usage(); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !target || !(url = cli_repo_url(url))) {
		usage();
		return EXIT_USAGE;
	}
	s.tty = cli_tty();
	s.root = geteuid() == 0;
	code = cli_open("restore", url, 0, &s.r, &s.lock);
	if (code)
		return code;
	s.dirs = json_object_new_array();
	ret = repo_index_new(&s.ix);
	if (!ret)
		ret = run(&s, argv[optind], target);
	code = ret ? cli_exit_for(ret) : s.errors ? EXIT_PROBLEMS : EXIT_OK;
	if (ret && code == EXIT_OK)
		code = EXIT_PROBLEMS;
	if (s.tfd >= 0)
		close(s.tfd);
	json_object_put(s.dirs);
	for (int i = 0; i < s.npaths; i++)
		free(s.mapped[i]);
	repo_index_free(s.ix);
	cli_close(s.r, s.lock);
	return code;
}
