/*
 * test-backup-prewalk.c: the threads that warm an incremental backup's walk
 * (tools/phifs-backup/prewalk.c) reach every regular file of a tree once,
 * named by the path the backup's tree uses — through more directories than
 * their shared stack holds, so that walkers go down subtrees themselves —
 * never the excluded top-level names nor what a symlink points to, and stop
 * cleanly when asked in the middle (no leak, no fd left: run under ASan).
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"
#include "prewalk.h"

#define WIDE 100          /* directories side by side: more than the stack */
#define DEEP 30           /* nested: one walker may go down all of it alone (the stack full) */
#define MAX_SEEN 4096

struct seen {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *paths[MAX_SEEN];
	size_t n;
};

static int record(void *arg, const char *path, const struct stat *st)
{
	struct seen *s = arg;

	assert_true(S_ISREG(st->st_mode));
	pthread_mutex_lock(&s->mu);
	if (s->n < MAX_SEEN)
		s->paths[s->n++] = strdup(path);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static void put(const char *top, const char *rel)
{
	char p[4096];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("x", f);
	fclose(f);
}

static void dir(const char *top, const char *rel)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	assert_int_equal(mkdir(p, 0700), 0);
}

/* The tree; the number of files with bytes (those offered to will_read). */
static size_t make_tree(const char *top)
{
	char rel[4096] = "";
	size_t n = 1;
	int fd;

	put(top, "top-file");
	dir(top, "phifs.journal");
	put(top, "phifs.journal/skipped");
	for (int i = 0; i < WIDE; i++, n++) {
		snprintf(rel, sizeof(rel), "w%03d", i);
		dir(top, rel);
		snprintf(rel, sizeof(rel), "w%03d/f", i);
		put(top, rel);
	}
	rel[0] = '\0';
	for (int i = 0; i < DEEP; i++, n++) {
		strcat(rel, i ? "/d" : "d");
		dir(top, rel);
		strcat(rel, "/f");
		put(top, rel);
		rel[strlen(rel) - 2] = '\0';
	}
	snprintf(rel, sizeof(rel), "%s/link", top);
	assert_int_equal(symlink("w000", rel), 0);
	snprintf(rel, sizeof(rel), "%s/empty", top);
	fd = open(rel, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	return n;
}

static size_t open_fds(void)
{
	char p[64];
	size_t n = 0;

	for (int i = 0; i < 4096; i++) {
		snprintf(p, sizeof(p), "/proc/self/fd/%d", i);
		n += access(p, F_OK) == 0;
	}
	return n;
}

static void clean(const char *top)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	assert_int_equal(system(cmd), 0);
}

static void seen_init(struct seen *s)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);   /* the wall clock may jump */
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	s->n = 0;
}

static int wait_for(struct seen *s, size_t want)
{
	struct timespec until;
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 120;
	pthread_mutex_lock(&s->mu);
	while (s->n < want && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&s->cv, &s->mu, &until);
	pthread_mutex_unlock(&s->mu);
	return s->n >= want;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A tree in a fresh directory and the walkers started on it. */
struct run {
	char top[32];
	struct seen s;
	size_t want, fds;           /* files to be offered; fds open before */
	int fd;
	struct prewalk *pw;
};

static void run_start(struct run *r, const char *const *skip)
{
	struct stat st;

	seen_init(&r->s);
	snprintf(r->top, sizeof(r->top), "/tmp/prewalk.XXXXXX");
	assert_non_null(mkdtemp(r->top));
	r->want = make_tree(r->top);
	r->fds = open_fds();
	r->fd = open(r->top, O_RDONLY | O_DIRECTORY);
	assert_true(r->fd >= 0);
	assert_int_equal(fstat(r->fd, &st), 0);
	r->pw = prewalk_start(r->fd, st.st_dev, 4, skip, record, &r->s);
	assert_non_null(r->pw);
}

/* Stopped; nothing of the walkers' left open; the tree removed. */
static void run_end(struct run *r)
{
	prewalk_stop(r->pw);
	assert_true(fcntl(r->fd, F_GETFD) >= 0);   /* the caller's fd is still open */
	close(r->fd);
	assert_int_equal(open_fds(), r->fds);      /* every directory it opened is closed */
	clean(r->top);
}

static void test_every_file_once(void **state)
{
	static const char *const skip[] = { "phifs.journal", NULL };
	struct run r;
	char **p = r.s.paths;

	(void)state;
	run_start(&r, skip);
	assert_true(wait_for(&r.s, r.want));
	run_end(&r);
	assert_int_equal(r.s.n, r.want);
	qsort(p, r.s.n, sizeof(*p), by_str);
	for (size_t i = 0; i + 1 < r.s.n; i++)
		assert_string_not_equal(p[i], p[i + 1]);
	for (size_t i = 0; i < r.s.n; i++) {
		assert_null(strstr(p[i], "phifs.journal"));
		assert_null(strstr(p[i], "link"));
		assert_true(p[i][0] != '/');
	}
	assert_non_null(bsearch(&(const char *){ "top-file" }, p, r.s.n, sizeof(*p), by_str));
	assert_non_null(bsearch(&(const char *){ "w099/f" }, p, r.s.n, sizeof(*p), by_str));
	assert_non_null(bsearch(&(const char *){ "d/d/d/f" }, p, r.s.n, sizeof(*p), by_str));
	for (size_t i = 0; i < r.s.n; i++)
		free(p[i]);
}

static void test_stop_midway(void **state)
{
	struct run r;

	(void)state;
	run_start(&r, NULL);
	run_end(&r);                            /* at once: whatever was reached */
	prewalk_stop(NULL);
	assert_true(r.s.n <= MAX_SEEN);
	for (size_t i = 0; i < r.s.n; i++)
		free(r.s.paths[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_file_once),
		cmocka_unit_test(test_stop_midway),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
