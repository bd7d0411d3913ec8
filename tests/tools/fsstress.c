/*
 * fsstress.c: a seeded multi-threaded stress test of a mounted phifs volume
 * against a plain-directory model, in the spirit of fsx and fsstress
 * (docs/TESTING.md "Stress"). Run by tests/sh/stress.sh; by hand for hours.
 *
 * Every operation is applied twice, first under the phifs mount, then under
 * the model directory (a plain file system), and the two outcomes must be the
 * same: success or the same errno, the same bytes read, the same size, type
 * and link count. At the end (and every --verify-every seconds) both trees
 * are walked and compared name by name and byte by byte.
 *
 * Concurrency without losing determinism: thread i works in its own tree
 * t<i>/ (nobody else touches it, so its op sequence and outcomes depend only
 * on --seed and i); the shared tree s/ is used by every thread under one
 * mutex, so each op there is applied to both sides before another thread
 * looks. Files move between a thread's tree and s/ only when they have one
 * link and no open handle. The kernel and the daemon still see N threads at
 * once. A checker pauses all threads (rwlock) to compare whole trees.
 *
 * Usage: fsstress [--seed N] [--threads N] [--ops N | --duration SECS]
 *                 [--verify-every SECS] [--verbose] PHIFS_DIR MODEL_DIR
 *        fsstress --verify-only PHIFS_DIR MODEL_DIR
 * Exit 0: identical; 1: a mismatch (seed, thread, op number and the thread's
 * last ops are printed); 2: bad usage or the set-up failed.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define HISTORY 48          /* ops remembered per thread for the failure report */
#define DESC_LEN 200
#define MAX_IO (96 * 1024)  /* largest single write or read, bytes */
#define SPARSE_MAX (6 << 20) /* writes land anywhere below this now and then */
#define HELD 4              /* open handles a thread keeps across ops */
#define CMP_CHUNK 65536

static const char *const stress_dirs[] = { "", "d0", "d1", "d0/e", "d2" };
#define N_DIRS (sizeof(stress_dirs) / sizeof(stress_dirs[0]))
#define N_FILES 8

struct held {
	int fd[2];              /* phifs, model; -1 when the slot is free */
	char name[PATH_MAX];    /* relative path at open time, for messages */
};

struct stress_thread {
	pthread_t tid;
	int idx;
	uint64_t rng;
	uint64_t n_ops;
	char history[HISTORY][DESC_LEN];
	struct held held[HELD];
	unsigned char *buf[2];
};

static struct {
	char root[2][PATH_MAX]; /* phifs, model */
	uint64_t seed;
	int threads;
	uint64_t ops;
	double duration;
	double verify_every;
	bool verbose;
	pthread_mutex_t shared; /* guards every op touching s/ */
	pthread_rwlock_t pause; /* ops read-hold it; a tree check write-holds it */
	atomic_bool stop;
	atomic_int failed;
	pthread_mutex_t report; /* one failure report at a time */
} g = {
	.seed = 1, .threads = 4, .ops = 2000,
	.shared = PTHREAD_MUTEX_INITIALIZER,
	.report = PTHREAD_MUTEX_INITIALIZER,
};

static uint64_t rnd(struct stress_thread *t)
{
	/* splitmix64: one state word, good enough and reproducible everywhere */
	uint64_t z = (t->rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t below(struct stress_thread *t, uint64_t n) { return n ? rnd(t) % n : 0; }
static bool chance(struct stress_thread *t, unsigned pct) { return below(t, 100) < pct; }

static void fill(struct stress_thread *t, unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = rnd(t);
		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void note(struct stress_thread *t, const char *fmt, ...)
{
	char *d = t->history[t->n_ops % HISTORY];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d, DESC_LEN, fmt, ap);
	va_end(ap);
	if (g.verbose)
		fprintf(stderr, "t%d #%" PRIu64 " %s\n", t->idx, t->n_ops, d);
}

/* Prints the mismatch and the thread's recent ops; stops every thread. */
static void fail(struct stress_thread *t, const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&g.report);
	if (atomic_fetch_add(&g.failed, 1) == 0) {
		fprintf(stderr, "fsstress: MISMATCH seed=%" PRIu64 " threads=%d", g.seed, g.threads);
		if (t)
			fprintf(stderr, " thread=%d op=%" PRIu64, t->idx, t->n_ops);
		fputs(": ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
		if (t) {
			uint64_t first = t->n_ops >= HISTORY ? t->n_ops - HISTORY + 1 : 0;
			fprintf(stderr, "fsstress: thread %d's last ops (t%d/ is its tree, s/ shared):\n", t->idx, t->idx);
			for (uint64_t i = first; i <= t->n_ops; i++)
				fprintf(stderr, "  #%" PRIu64 " %s\n", i, t->history[i % HISTORY]);
		}
		fprintf(stderr, "fsstress: rerun with --seed %" PRIu64 " --threads %d --verbose\n", g.seed, g.threads);
	}
	pthread_mutex_unlock(&g.report);
	atomic_store(&g.stop, true);
}

/* Outcome of one syscall on one side: the return value and errno. */
struct res { long r; int e; };
#define RUN(expr) ({ errno = 0; long r_ = (long)(expr); (struct res){ r_, r_ < 0 ? errno : 0 }; })

static bool same(struct stress_thread *t, const char *what, struct res a, struct res b)
{
	if ((a.r < 0) == (b.r < 0) && (a.r >= 0 || a.e == b.e))
		return true;
	fail(t, "%s: phifs %ld (%s), model %ld (%s)", what, a.r, a.r < 0 ? strerror(a.e) : "ok",
	     b.r, b.r < 0 ? strerror(b.e) : "ok");
	return false;
}

static void full(char *out, int side, const char *rel)
{
	snprintf(out, PATH_MAX, "%.3000s/%.1000s", g.root[side], rel);
}

/* area: "t<i>" or "s"; picks a directory and a file name in it */
static void pick_dir(struct stress_thread *t, const char *area, char *out)
{
	const char *d = stress_dirs[below(t, N_DIRS)];
	snprintf(out, PATH_MAX, "%s%s%s", area, *d ? "/" : "", d);
}

static void pick_file(struct stress_thread *t, const char *area, char *out)
{
	char dir[PATH_MAX];
	pick_dir(t, area, dir);
	snprintf(out, PATH_MAX, "%.4000s/f%" PRIu64, dir, below(t, N_FILES));
}

static int model_nlink(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;
	full(p, 1, rel);
	if (lstat(p, &st) < 0)
		return -1;
	return S_ISREG(st.st_mode) ? (int)st.st_nlink : -1;
}

static void close_held(struct held *h)
{
	for (int s = 0; s < 2; s++) {
		if (h->fd[s] >= 0)
			close(h->fd[s]);
		h->fd[s] = -1;
	}
}

/* ---- operations: each applies the same call to both sides ---- */

static void op_write(struct stress_thread *t, const char *rel, int flags, const char *name)
{
	char p[2][PATH_MAX];
	int fd[2] = { -1, -1 };
	struct res r[2];
	struct stat st;
	size_t n = 1 + below(t, chance(t, 20) ? MAX_IO : 8192);
	off_t off = 0;

	for (int s = 0; s < 2; s++)
		full(p[s], s, rel);
	fill(t, t->buf[0], n);
	bool sparse = chance(t, 10);
	uint64_t pick = rnd(t);
	note(t, "%s %s len %zu%s", name, rel, n, sparse ? " (sparse)" : "");
	for (int s = 0; s < 2; s++) {
		r[s] = RUN(fd[s] = open(p[s], flags, 0644));
	}
	if (!same(t, "open", r[0], r[1]) || fd[0] < 0)
		goto out;
	if (!(flags & O_APPEND) && fstat(fd[1], &st) == 0) {
		off = sparse ? (off_t)(pick % SPARSE_MAX) : (off_t)(pick % ((uint64_t)st.st_size + 16384));
		note(t, "%s %s off %lld len %zu", name, rel, (long long)off, n);
	}
	for (int s = 0; s < 2; s++)
		r[s] = flags & O_APPEND ? RUN(write(fd[s], t->buf[0], n)) : RUN(pwrite(fd[s], t->buf[0], n, off));
	if (same(t, "write", r[0], r[1]) && r[0].r != r[1].r)
		fail(t, "write: phifs wrote %ld, model %ld", r[0].r, r[1].r);
out:
	for (int s = 0; s < 2; s++)
		if (fd[s] >= 0 && close(fd[s]) < 0 && s == 0)
			fail(t, "close of %s after write: %s", rel, strerror(errno));
}

static void op_truncate(struct stress_thread *t, const char *rel)
{
	char p[2][PATH_MAX];
	struct stat st;
	struct res r[2];
	full(p[1], 1, rel);
	full(p[0], 0, rel);
	uint64_t pick = rnd(t);
	off_t size = stat(p[1], &st) == 0 ? (off_t)(pick % (2 * (uint64_t)st.st_size + 8192)) : 100;
	if (chance(t, 15))
		size = 0;
	note(t, "truncate %s to %lld", rel, (long long)size);
	for (int s = 0; s < 2; s++)
		r[s] = RUN(truncate(p[s], size));
	same(t, "truncate", r[0], r[1]);
}

static bool cmp_range(struct stress_thread *t, int fd0, int fd1, off_t off, size_t n, const char *what)
{
	struct res r[2];
	r[0] = RUN(pread(fd0, t->buf[0], n, off));
	r[1] = RUN(pread(fd1, t->buf[1], n, off));
	if (!same(t, what, r[0], r[1]))
		return false;
	if (r[0].r != r[1].r) {
		fail(t, "%s at %lld: phifs read %ld bytes, model %ld", what, (long long)off, r[0].r, r[1].r);
		return false;
	}
	if (r[0].r > 0 && memcmp(t->buf[0], t->buf[1], (size_t)r[0].r) != 0) {
		size_t i = 0;
		while (t->buf[0][i] == t->buf[1][i])
			i++;
		fail(t, "%s: content differs at byte %lld", what, (long long)off + (long long)i);
		return false;
	}
	return true;
}

static void op_read(struct stress_thread *t, const char *rel)
{
	char p[2][PATH_MAX];
	int fd[2] = { -1, -1 };
	struct res r[2];
	struct stat st;
	for (int s = 0; s < 2; s++)
		full(p[s], s, rel);
	uint64_t pick = rnd(t);
	size_t n = 1 + below(t, MAX_IO);
	note(t, "read %s len %zu", rel, n);
	for (int s = 0; s < 2; s++)
		r[s] = RUN(fd[s] = open(p[s], O_RDONLY));
	if (!same(t, "open for read", r[0], r[1]) || fd[0] < 0)
		goto out;
	if (fstat(fd[1], &st) == 0 && S_ISREG(st.st_mode)) {
		off_t off = (off_t)(pick % ((uint64_t)st.st_size + 4096));
		note(t, "read %s off %lld len %zu", rel, (long long)off, n);
		cmp_range(t, fd[0], fd[1], off, n, "read");
	}
out:
	for (int s = 0; s < 2; s++)
		if (fd[s] >= 0)
			close(fd[s]);
}

static void op_fsync(struct stress_thread *t, const char *rel)
{
	char p[PATH_MAX];
	full(p, 0, rel);
	note(t, "fsync %s", rel);
	int fd = open(p, O_RDWR);
	if (fd < 0)
		return;     /* absent or a directory: the model check is the read op's */
	if (fsync(fd) < 0)
		fail(t, "fsync %s: %s", rel, strerror(errno));
	close(fd);
}

static void op_stat(struct stress_thread *t, const char *rel)
{
	char p[2][PATH_MAX];
	struct stat st[2];
	struct res r[2];
	note(t, "stat %s", rel);
	for (int s = 0; s < 2; s++) {
		full(p[s], s, rel);
		r[s] = RUN(lstat(p[s], &st[s]));
	}
	if (!same(t, "lstat", r[0], r[1]) || r[0].r < 0)
		return;
	if ((st[0].st_mode & S_IFMT) != (st[1].st_mode & S_IFMT))
		fail(t, "stat %s: type 0%o, model 0%o", rel, st[0].st_mode & S_IFMT, st[1].st_mode & S_IFMT);
	else if (S_ISREG(st[0].st_mode) && st[0].st_size != st[1].st_size)
		fail(t, "stat %s: size %lld, model %lld", rel, (long long)st[0].st_size, (long long)st[1].st_size);
	else if (S_ISREG(st[0].st_mode) && st[0].st_nlink != st[1].st_nlink)
		fail(t, "stat %s: %lu links, model %lu", rel, (unsigned long)st[0].st_nlink, (unsigned long)st[1].st_nlink);
}

static void op_path2(struct stress_thread *t, const char *what, const char *a, const char *b, unsigned flags)
{
	char pa[2][PATH_MAX], pb[2][PATH_MAX];
	struct res r[2];
	note(t, "%s %s -> %s", what, a, b);
	for (int s = 0; s < 2; s++) {
		full(pa[s], s, a);
		full(pb[s], s, b);
		if (!strcmp(what, "link"))
			r[s] = RUN(link(pa[s], pb[s]));
		else if (!strcmp(what, "symlink"))
			r[s] = RUN(symlink(a, pb[s]));
		else
			r[s] = RUN(renameat2(AT_FDCWD, pa[s], AT_FDCWD, pb[s], flags));
	}
	same(t, what, r[0], r[1]);
}

static void op_path1(struct stress_thread *t, const char *what, const char *rel)
{
	char p[2][PATH_MAX];
	struct res r[2];
	note(t, "%s %s", what, rel);
	for (int s = 0; s < 2; s++) {
		full(p[s], s, rel);
		if (!strcmp(what, "unlink"))
			r[s] = RUN(unlink(p[s]));
		else if (!strcmp(what, "mkdir"))
			r[s] = RUN(mkdir(p[s], 0755));
		else
			r[s] = RUN(rmdir(p[s]));
	}
	same(t, what, r[0], r[1]);
}

/* Handles kept open across ops: writes and reads through a file that may
 * meanwhile be renamed, truncated, linked or unlinked by path. */
static void op_held(struct stress_thread *t, const char *area)
{
	struct held *h = &t->held[below(t, HELD)];
	uint64_t what = below(t, 10);
	if (h->fd[0] < 0) {
		struct res r[2];
		char p[2][PATH_MAX];
		pick_file(t, area, h->name);
		note(t, "hold-open %s", h->name);
		for (int s = 0; s < 2; s++) {
			full(p[s], s, h->name);
			r[s] = RUN(h->fd[s] = open(p[s], O_RDWR | O_CREAT, 0644));
		}
		if (!same(t, "hold-open", r[0], r[1]))
			close_held(h);
		else if (h->fd[0] < 0 || h->fd[1] < 0)
			close_held(h);
		return;
	}
	if (what < 4) {
		size_t n = 1 + below(t, 16384);
		struct stat st;
		off_t off = fstat(h->fd[1], &st) == 0 ? (off_t)below(t, (uint64_t)st.st_size + 8192) : 0;
		fill(t, t->buf[0], n);
		note(t, "held-pwrite (opened as %s) off %lld len %zu", h->name, (long long)off, n);
		struct res r[2] = { RUN(pwrite(h->fd[0], t->buf[0], n, off)), RUN(pwrite(h->fd[1], t->buf[0], n, off)) };
		same(t, "held-pwrite", r[0], r[1]);
	} else if (what < 6) {
		struct stat st;
		off_t size = fstat(h->fd[1], &st) == 0 ? (off_t)below(t, 2 * (uint64_t)st.st_size + 4096) : 0;
		note(t, "held-ftruncate (opened as %s) to %lld", h->name, (long long)size);
		struct res r[2] = { RUN(ftruncate(h->fd[0], size)), RUN(ftruncate(h->fd[1], size)) };
		same(t, "held-ftruncate", r[0], r[1]);
	} else if (what < 9) {
		struct stat st[2];
		off_t off = fstat(h->fd[1], &st[1]) == 0 ? (off_t)below(t, (uint64_t)st[1].st_size + 1) : 0;
		note(t, "held-read (opened as %s) off %lld", h->name, (long long)off);
		if (fstat(h->fd[0], &st[0]) == 0 && st[0].st_size != st[1].st_size)
			fail(t, "held fstat: size %lld, model %lld", (long long)st[0].st_size, (long long)st[1].st_size);
		else
			cmp_range(t, h->fd[0], h->fd[1], off, 1 + below(t, 32768), "held-read");
	} else {
		note(t, "held-close (opened as %s)", h->name);
		if (close(h->fd[0]) < 0)
			fail(t, "close of a held handle: %s", strerror(errno));
		h->fd[0] = -1;
		close_held(h);
	}
}

/* Moves a single-link file between this thread's tree and s/ (under the
 * shared lock, with the thread's handles closed so none aliases s/). */
static void op_cross(struct stress_thread *t, const char *mine)
{
	char a[PATH_MAX], b[PATH_MAX];
	bool out = chance(t, 50);
	pick_file(t, out ? mine : "s", a);
	pick_file(t, out ? "s" : mine, b);
	pthread_mutex_lock(&g.shared);
	if (model_nlink(a) == 1 && model_nlink(b) <= 1) {
		for (int i = 0; i < HELD; i++)
			close_held(&t->held[i]);
		op_path2(t, "rename", a, b, 0);
	} else {
		note(t, "cross-rename %s -> %s skipped (links)", a, b);
	}
	pthread_mutex_unlock(&g.shared);
}

static void one_op(struct stress_thread *t, const char *area, bool shared)
{
	char a[PATH_MAX], b[PATH_MAX], da[PATH_MAX];
	uint64_t op = below(t, 100);
	pick_file(t, area, a);
	pick_file(t, area, b);
	pick_dir(t, area, da);
	if (op < 18)
		op_write(t, a, O_WRONLY | O_CREAT, "pwrite");
	else if (op < 22)
		op_write(t, a, O_WRONLY | O_CREAT | O_TRUNC, "create-trunc");
	else if (op < 26)
		op_write(t, a, O_WRONLY | O_CREAT | O_APPEND, "append");
	else if (op < 28)
		op_write(t, a, O_WRONLY | O_CREAT | O_EXCL, "create-excl");
	else if (op < 35)
		op_truncate(t, a);
	else if (op < 50)
		op_read(t, a);
	else if (op < 56)
		op_path2(t, "rename", a, b, 0);
	else if (op < 57)
		op_path2(t, "rename-noreplace", a, b, RENAME_NOREPLACE);
	else if (op < 58)
		op_path2(t, "rename-exchange", a, b, RENAME_EXCHANGE);
	else if (op < 60) {
		char db[PATH_MAX];
		pick_dir(t, area, db);
		if (*da && strcmp(da, area) && strcmp(db, area))
			op_path2(t, "rename-dir", da, db, 0);
	} else if (op < 64)
		op_path1(t, "unlink", a);
	else if (op < 68)
		op_path2(t, "link", a, b, 0);
	else if (op < 69)
		op_path2(t, "symlink", a, b, 0);
	else if (op < 71)
		op_fsync(t, a);
	else if (op < 74) {
		if (strcmp(da, area))
			op_path1(t, "mkdir", da);
	} else if (op < 76) {
		if (strcmp(da, area))
			op_path1(t, "rmdir", da);
	} else if (op < 84)
		op_stat(t, a);
	else if (op < 97) {
		if (!shared)
			op_held(t, area);
	} else if (!shared)
		op_cross(t, area);
}

static void *stress_run(void *arg)
{
	struct stress_thread *t = arg;
	char mine[32];
	double end = g.duration > 0 ? now_s() + g.duration : 0;
	snprintf(mine, sizeof(mine), "t%d", t->idx);
	for (uint64_t i = 0; !atomic_load(&g.stop); i++) {
		if (end ? now_s() >= end : i >= g.ops)
			break;
		pthread_rwlock_rdlock(&g.pause);
		t->n_ops = i;
		if (chance(t, 15)) {
			pthread_mutex_lock(&g.shared);
			one_op(t, "s", true);
			pthread_mutex_unlock(&g.shared);
		} else {
			one_op(t, mine, false);
		}
		pthread_rwlock_unlock(&g.pause);
	}
	for (int i = 0; i < HELD; i++)
		close_held(&t->held[i]);
	return NULL;
}

/* ---- whole-tree comparison ---- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of a directory (without . and ..); -errno */
static int list_dir(const char *path, char ***out, size_t *n_out)
{
	DIR *d = opendir(path);
	char **v = NULL;
	size_t n = 0;
	struct dirent *de;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char **nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(v, n, sizeof(*v), name_cmp);
	*out = v;
	*n_out = n;
	return 0;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool cmp_file(const char *rel, const char *p0, const char *p1)
{
	int fd0 = open(p0, O_RDONLY), fd1 = open(p1, O_RDONLY);
	static unsigned char a[CMP_CHUNK], b[CMP_CHUNK];
	bool ok = fd0 >= 0 && fd1 >= 0;
	if (!ok)
		fail(NULL, "tree: %s does not open (%s)", rel, strerror(errno));
	for (off_t off = 0; ok;) {
		ssize_t na = pread(fd0, a, sizeof(a), off), nb = pread(fd1, b, sizeof(b), off);
		if (na != nb || na < 0 || memcmp(a, b, (size_t)na)) {
			fail(NULL, "tree: %s differs in [%lld, +64 KiB) (phifs read %zd%s, model %zd)", rel,
			     (long long)off, na, na < 0 ? " error" : "", nb);
			ok = false;
		}
		if (na <= 0)
			break;
		off += na;
	}
	if (fd0 >= 0)
		close(fd0);
	if (fd1 >= 0)
		close(fd1);
	return ok;
}

static bool cmp_tree(const char *rel, uint64_t *n_files, uint64_t *n_bytes)
{
	char p[2][PATH_MAX];
	char **v[2] = { NULL, NULL };
	size_t n[2] = { 0, 0 };
	bool ok = true;
	for (int s = 0; s < 2; s++) {
		full(p[s], s, rel);
		int rc = list_dir(p[s], &v[s], &n[s]);
		if (rc < 0) {
			fail(NULL, "tree: cannot list %s on the %s side: %s", *rel ? rel : ".", s ? "model" : "phifs", strerror(-rc));
			ok = false;
			goto out;
		}
	}
	for (size_t i = 0, j = 0; i < n[0] || j < n[1];) {
		int c = i == n[0] ? 1 : j == n[1] ? -1 : strcmp(v[0][i], v[1][j]);
		if (c) {
			fail(NULL, "tree: %s/%s only on the %s side", rel, c < 0 ? v[0][i] : v[1][j], c < 0 ? "phifs" : "model");
			ok = false;
			goto out;
		}
		char sub[PATH_MAX], q[2][PATH_MAX];
		struct stat st[2];
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", v[0][i]);
		for (int s = 0; s < 2; s++) {
			full(q[s], s, sub);
			if (lstat(q[s], &st[s]) < 0) {
				fail(NULL, "tree: lstat %s (%s side): %s", sub, s ? "model" : "phifs", strerror(errno));
				ok = false;
				goto out;
			}
		}
		mode_t type = st[0].st_mode & S_IFMT;
		if (type != (st[1].st_mode & S_IFMT)) {
			fail(NULL, "tree: %s type 0%o, model 0%o", sub, type, st[1].st_mode & S_IFMT);
			ok = false;
		} else if (S_ISREG(type) && (st[0].st_size != st[1].st_size || st[0].st_nlink != st[1].st_nlink)) {
			fail(NULL, "tree: %s size %lld links %lu, model size %lld links %lu", sub, (long long)st[0].st_size,
			     (unsigned long)st[0].st_nlink, (long long)st[1].st_size, (unsigned long)st[1].st_nlink);
			ok = false;
		} else if (S_ISREG(type)) {
			ok = cmp_file(sub, q[0], q[1]);
			(*n_files)++;
			*n_bytes += (uint64_t)st[0].st_size;
		} else if (S_ISLNK(type)) {
			char l[2][PATH_MAX];
			ssize_t ln[2];
			for (int s = 0; s < 2; s++)
				ln[s] = readlink(q[s], l[s], sizeof(l[s]));
			if (ln[0] != ln[1] || ln[0] < 0 || memcmp(l[0], l[1], (size_t)ln[0])) {
				fail(NULL, "tree: symlink %s target differs", sub);
				ok = false;
			}
		} else if (S_ISDIR(type)) {
			ok = cmp_tree(sub, n_files, n_bytes);
		}
		if (!ok)
			goto out;
		i++;
		j++;
	}
out:
	free_list(v[0], n[0]);
	free_list(v[1], n[1]);
	return ok;
}

static bool verify(const char *when)
{
	uint64_t files = 0, bytes = 0;
	bool ok = cmp_tree("", &files, &bytes);
	if (ok)
		printf("# fsstress: %s: trees identical (%" PRIu64 " files, %" PRIu64 " bytes)\n", when, files, bytes);
	fflush(stdout);
	return ok;
}

static void *checker(void *arg)
{
	(void)arg;
	double next = now_s() + g.verify_every;
	while (!atomic_load(&g.stop)) {
		usleep(200000);
		if (now_s() < next)
			continue;
		pthread_rwlock_wrlock(&g.pause);
		if (!atomic_load(&g.stop))
			verify("periodic check");
		pthread_rwlock_unlock(&g.pause);
		next = now_s() + g.verify_every;
	}
	return NULL;
}

static int make_areas(void)
{
	char p[PATH_MAX];
	for (int s = 0; s < 2; s++) {
		for (int i = 0; i <= g.threads; i++) {
			if (i == g.threads)
				snprintf(p, sizeof(p), "%s/s", g.root[s]);
			else
				snprintf(p, sizeof(p), "%s/t%d", g.root[s], i);
			if (mkdir(p, 0755) < 0 && errno != EEXIST) {
				fprintf(stderr, "fsstress: mkdir %s: %s\n", p, strerror(errno));
				return -1;
			}
		}
	}
	return 0;
}

static void usage(void)
{
	fputs("usage: fsstress [--seed N] [--threads N] [--ops N | --duration SECS] [--verify-every SECS]\n"
	      "                [--verbose] PHIFS_DIR MODEL_DIR\n"
	      "       fsstress --verify-only PHIFS_DIR MODEL_DIR\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' }, { "threads", required_argument, NULL, 't' },
		{ "ops", required_argument, NULL, 'o' }, { "duration", required_argument, NULL, 'd' },
		{ "verify-every", required_argument, NULL, 'v' }, { "verify-only", no_argument, NULL, 'V' },
		{ "verbose", no_argument, NULL, 'x' }, { NULL, 0, NULL, 0 },
	};
	static struct stress_thread th[MAX_THREADS];
	bool verify_only = false;
	pthread_t chk;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': g.seed = strtoull(optarg, NULL, 0); break;
		case 't': g.threads = atoi(optarg); break;
		case 'o': g.ops = strtoull(optarg, NULL, 0); break;
		case 'd': g.duration = atof(optarg); break;
		case 'v': g.verify_every = atof(optarg); break;
		case 'V': verify_only = true; break;
		case 'x': g.verbose = true; break;
		default: usage();
		}
	}
	if (argc - optind != 2 || g.threads < 1 || g.threads > MAX_THREADS)
		usage();
	for (int s = 0; s < 2; s++)
		if (!realpath(argv[optind + s], g.root[s])) {
			fprintf(stderr, "fsstress: %s: %s\n", argv[optind + s], strerror(errno));
			return 2;
		}
	if (verify_only)
		return verify("verify-only") ? 0 : 1;
	if (make_areas() < 0)
		return 2;
	/* writer preference: the tree check must get in between busy threads */
	pthread_rwlockattr_t ra;
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&g.pause, &ra);
	pthread_rwlockattr_destroy(&ra);
	double t0 = now_s();
	for (int i = 0; i < g.threads; i++) {
		th[i].idx = i;
		th[i].rng = g.seed * 0x100000001B3ull + (uint64_t)i;
		for (int h = 0; h < HELD; h++)
			th[i].held[h].fd[0] = th[i].held[h].fd[1] = -1;
		th[i].buf[0] = malloc(MAX_IO);
		th[i].buf[1] = malloc(MAX_IO);
		if (!th[i].buf[0] || !th[i].buf[1] || pthread_create(&th[i].tid, NULL, stress_run, &th[i])) {
			fputs("fsstress: cannot start threads\n", stderr);
			return 2;
		}
	}
	if (g.verify_every > 0)
		pthread_create(&chk, NULL, checker, NULL);
	uint64_t total = 0;
	for (int i = 0; i < g.threads; i++) {
		pthread_join(th[i].tid, NULL);
		total += th[i].n_ops + 1;
	}
	atomic_store(&g.stop, true);
	if (g.verify_every > 0)
		pthread_join(chk, NULL);
	printf("# fsstress: seed %" PRIu64 ", %d threads, %" PRIu64 " ops in %.1f s\n", g.seed, g.threads, total,
	       now_s() - t0);
	bool ok = !atomic_load(&g.failed) && verify("end");
	for (int i = 0; i < g.threads; i++) {
		free(th[i].buf[0]);
		free(th[i].buf[1]);
	}
	return ok ? 0 : 1;
}
