/*
 * test-crashfork.c: docs/FORMAT.md §5.5 under real SIGKILLs, without FUSE.
 * A child process runs two threads of random writes, appends, sparse
 * extensions and truncations on three files through fs/fileio (one shared
 * fileio per file, as the daemon has per inode) with the write journal open;
 * the parent kills it with SIGKILL after a random few milliseconds — inside a
 * pwrite as often as not — then does what mount and fsck do first
 * (journal_replay_all) and checks every file: fileio_verify finds nothing but
 * a torn extension, and every byte reads. Many kills a second, so a rare
 * crash window that tests/sh/crash.sh (six kills a run) would hit once in a
 * hundred runs is hit here every run.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"
#include "testvol.h"
#include "fileio.h"
#include "journal.h"

#define NFILES 3
#define KILLS 400

static struct keys_volume *kv;
static char dir[64];
static struct fileio *files[NFILES];
static int replayed;               /* records and truncations the replays finished */

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void file_path(int i, char *p, size_t n)
{
	snprintf(p, n, "%s/f%d", dir, i);
}

/* One random operation, as tests/sh/crash.sh's writer does them. */
static void random_op(struct fileio *f, uint32_t *s, uint8_t *buf)
{
	uint64_t size = 0;
	uint32_t op = rnd(s) % 100;
	size_t len;

	if (fileio_size(f, &size) != 0)
		_exit(3);
	if (op < 50) {
		len = 1 + rnd(s) % 300000;
		(void)fileio_write(f, buf, len, rnd(s) % (size + 20000));
	} else if (op < 70) {
		(void)fileio_write(f, buf, 1 + rnd(s) % 9000, size);
	} else if (op < 90) {
		(void)fileio_truncate(f, rnd(s) % (size + 50000));
	} else {
		(void)fileio_write(f, buf, 1, rnd(s) % (40u << 20));   /* sparse extension */
	}
}

static void *writer(void *arg)
{
	uint32_t s = (uint32_t)(uintptr_t)arg;
	static __thread uint8_t buf[300000];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(rnd(&s) | 1);
	for (;;)
		random_op(files[rnd(&s) % NFILES], &s, buf);
	return NULL;
}

/* The child: open (or create) the files and write until killed; tells the
 * parent through `ready` once its writers run, so that the random delay
 * before the kill falls in the writing even under valgrind. */
static void child(uint32_t seed, int ready)
{
	int root = open(dir, O_PATH | O_DIRECTORY);
	pthread_t t[2];

	if (root < 0 || journal_open(root, 1, 0) != 0)
		_exit(2);
	for (int i = 0; i < NFILES; i++) {
		char p[128];
		int fd;

		file_path(i, p, sizeof(p));
		fd = open(p, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd >= 0 ? fileio_create(fd, kv, FORMAT_CIPHER_GCM, &files[i]) != 0
			    : fileio_open(open(p, O_RDWR), kv, 1, &files[i]) != 0)
			_exit(2);
	}
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, writer, (void *)(uintptr_t)(seed * 2 + i + 1)) != 0)
			_exit(2);
	if (write(ready, "r", 1) != 1)
		_exit(2);
	pause();
	_exit(0);
}

struct found {
	int bad;
	uint64_t block;
	const char *what;
};

static void on_problem(void *arg, uint64_t blockno, const char *what)
{
	struct found *fd = arg;

	if (strcmp(what, "torn extend") != 0 && !fd->bad) {
		fd->bad = 1;
		fd->block = blockno;
		fd->what = what;
	}
}

/* After a kill: replay, then every file verifies and reads to its end. */
static void check_files(int kill_no)
{
	static uint8_t buf[1u << 20];
	int root = open(dir, O_PATH | O_DIRECTORY), ret;

	assert_true(root >= 0);
	if (getenv("CRASHFORK_KEEP")) {        /* debugging: the state before replay */
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "rm -rf %s.before && cp -a --sparse=always %s %s.before",
			 dir, dir, dir);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(journal_open(root, 0, 30), 0);
	ret = journal_replay_all(kv);
	assert_true(ret >= 0);
	replayed += ret;
	for (int i = 0; i < NFILES; i++) {
		struct found fd = { 0 };
		struct fileio *f = NULL;
		uint64_t size = 0, off = 0;
		char p[128];

		file_path(i, p, sizeof(p));
		if (access(p, F_OK) != 0)
			continue;
		assert_int_equal(fileio_open(open(p, O_RDWR), kv, 1, &f), 0);
		assert_true(fileio_verify(f, on_problem, &fd) >= 0);
		if (fd.bad)
			fail_msg("kill %d: f%d block %llu: %s", kill_no, i,
				 (unsigned long long)fd.block, fd.what);
		assert_int_equal(fileio_size(f, &size), 0);
		while (off < size) {
			ssize_t n = fileio_read(f, buf, sizeof(buf), off);

			if (n <= 0)
				fail_msg("kill %d: f%d reads %zd at %llu", kill_no, i, n,
					 (unsigned long long)off);
			off += (uint64_t)n;
		}
		fileio_close(f);
	}
	journal_close();
	close(root);
}

static void test_kill_anywhere(void **state)
{
	uint32_t s = getenv("CRASHFORK_SEED") ? (uint32_t)strtoul(getenv("CRASHFORK_SEED"), NULL, 0)
					      : (uint32_t)time(NULL);

	(void)state;
	printf("# seed %u (CRASHFORK_SEED= repeats it)\n", s);
	int kills = getenv("CRASHFORK_KILLS") ? atoi(getenv("CRASHFORK_KILLS")) : KILLS;

	for (int k = 0; k < kills; k++) {
		struct timespec ts = { 0, (long)(1 + rnd(&s) % 40) * 1000000L };
		int st, p[2];
		pid_t pid;
		char c;

		assert_int_equal(pipe(p), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			child(rnd(&s), p[1]);
		}
		close(p[1]);
		assert_int_equal(read(p[0], &c, 1), 1);
		close(p[0]);
		nanosleep(&ts, NULL);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		if (!WIFSIGNALED(st))
			fail_msg("kill %d: the child exited with %d", k, WEXITSTATUS(st));
		check_files(k);
	}
	printf("# %d kills, %d interrupted operations finished or undone by replay\n", kills,
	       replayed);
	/* Hundreds of kills must have cut some operation short (a run of 40
	 * under valgrind, 50 times slower, checks memory, not this). */
	if (kills >= 100)
		assert_true(replayed > 0);
}

static int setup(void **state)
{
	(void)state;
	kv = tv_setup("crashfork", dir, sizeof(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (getenv("CRASHFORK_KEEP")) {
		printf("# kept %s and %s.before\n", dir, dir);
		return 0;
	}
	return tv_teardown(kv, dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_anywhere),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
