/*
 * test-journal.c: fs/journal.c through fs/fileio — a write torn between pages
 * (what SIGKILL does to a buffered pwrite) is undone by journal_replay_all
 * (what mount and fsck run first); a torn or foreign record is ignored; every
 * record is void once its write returned.
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testutil.h"
#include "testvol.h"
#include "cipher.h"
#include "fileio.h"
#include "journal.h"
#include "keys.h"
#include "secmem.h"

#define BS 4096
#define N (10 * BS)

static struct keys_volume *kv;
static char dir[64], path[128], jpath[512];
static int jdir = -1;
static uint8_t a[N], b[N];

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 9)) | 1;
}

static struct fileio *fo(int writable)
{
	struct fileio *f = NULL;
	int fd = open(path, writable ? O_RDWR : O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fileio_open(fd, kv, writable, &f), 0);
	return f;
}

static void spill(const char *p, const uint8_t *buf, size_t len, off_t off)
{
	int fd = open(p, O_WRONLY | O_CREAT, 0600);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

/* This thread's journal file: the only one in JOURNAL_DIR. */
static void find_journal(void)
{
	char jd[128];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(jd, sizeof(jd), "%s/" JOURNAL_DIR, dir);
	d = opendir(jd);
	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(jpath, sizeof(jpath), "%s/%s", jd, e->d_name);
			n++;
		}
	closedir(d);
	assert_int_equal(n, 1);
}

/*
 * Leaves the file as a SIGKILL would: A on disk, B's journal record valid,
 * B's in-place write done only up to a page boundary inside a slot.
 * Returns the file id's journal path in jpath.
 */
static void make_torn(void)
{
	struct fileio *f;
	uint8_t *old, *neu, *jrec;
	size_t olen, nlen, jlen;
	uint8_t id[16];

	snprintf(path, sizeof(path), "%s/file", dir);
	unlink(path);
	f = NULL;
	{
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);

		assert_true(fd >= 0);
		assert_int_equal(fileio_create(fd, kv, FORMAT_CIPHER_GCM, &f), 0);
	}
	assert_int_equal(fileio_write(f, a, N, 0), N);
	memcpy(id, fileio_file_id(f), 16);
	fileio_close(f);
	tv_slurp(path, &old, &olen);
	(void)id;
	f = fo(1);
	assert_int_equal(fileio_write(f, b + 2 * BS, 4 * BS, 2 * BS), 4 * BS);   /* journaled */
	fileio_close(f);
	find_journal();
	tv_slurp(jpath, &jrec, &jlen);
	assert_int_equal(memcmp(jrec, "\0\0\0\0", 4), 0);   /* voided after the write */
	tv_slurp(path, &neu, &nlen);
	assert_int_equal(nlen, olen);
	/* The crash: the journal still valid, the in-place write stopped at the
	 * page boundary 3 pages in, in the middle of slot 2. */
	memcpy(jrec, "PHJ1", 4);
	spill(jpath, jrec, jlen, 0);
	spill(path, old + 3 * BS, olen - 3 * BS, 3 * BS);
	free(old);
	free(neu);
	free(jrec);
}

static void check_file(struct fileio *f, const uint8_t *exp)
{
	uint8_t *got = malloc(N);

	assert_int_equal(fileio_read(f, got, N, 0), N);
	assert_memory_equal(got, exp, N);
	assert_int_equal(fileio_verify(f, NULL, NULL), 0);
	free(got);
}

static void test_torn_write_replayed(void **state)
{
	struct fileio *f;

	(void)state;
	make_torn();
	assert_int_equal(journal_replay_all(kv), 1);
	f = fo(0);
	check_file(f, a);   /* the unacknowledged write is undone as a whole */
	fileio_close(f);
	assert_int_equal(journal_replay_all(kv), 0);   /* nothing twice */
}

static void test_without_replay_the_tear_shows(void **state)
{
	struct fileio *f;
	uint8_t buf[BS];

	(void)state;
	make_torn();
	spill(jpath, (const uint8_t *)"\0\0\0\0", 4, 0);   /* no record: the tear stays */
	assert_int_equal(journal_replay_all(kv), 0);
	f = fo(0);
	assert_int_equal(fileio_read(f, buf, BS, 2 * BS), -EIO);   /* what the journal prevents */
	fileio_close(f);
}

/* A record with a bad MAC (its own write was torn) is not replayed. */
static void test_bad_record_ignored(void **state)
{
	uint8_t *jrec, *before, *after;
	size_t jlen, blen, alen;

	(void)state;
	make_torn();
	tv_slurp(jpath, &jrec, &jlen);
	jrec[200] ^= 1;   /* inside the slot data of the record */
	spill(jpath, jrec, jlen, 0);
	tv_slurp(path, &before, &blen);
	assert_int_equal(journal_replay_all(kv), 0);
	tv_slurp(path, &after, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(jrec);
	free(before);
	free(after);
}

/* A record naming a path whose file now has another file id is not replayed. */
static void test_other_file_ignored(void **state)
{
	struct fileio *f;
	uint8_t *jrec;
	size_t jlen;
	int fd;

	(void)state;
	make_torn();
	tv_slurp(jpath, &jrec, &jlen);             /* a valid record for the old file */
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fileio_create(fd, kv, FORMAT_CIPHER_GCM, &f), 0);
	assert_int_equal(fileio_write(f, a, N, 0), N);
	fileio_close(f);
	spill(jpath, jrec, jlen, 0);            /* back in place, naming the new file's path */
	assert_int_equal(journal_replay_all(kv), 0);
	f = fo(0);
	check_file(f, a);
	fileio_close(f);
	free(jrec);
}

static int setup(void **state)
{
	char jd[128];

	(void)state;
	kv = tv_setup("journal", dir, sizeof(dir));
	jdir = open(dir, O_PATH | O_DIRECTORY);
	assert_int_equal(journal_open(jdir, 1, 0), 0);
	snprintf(jd, sizeof(jd), "%s/" JOURNAL_DIR, dir);
	assert_int_equal(access(jd, F_OK), 0);
	fill(a, N, 1);
	fill(b, N, 77);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tv_teardown(kv, dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_torn_write_replayed),
		cmocka_unit_test(test_without_replay_the_tear_shows),
		cmocka_unit_test(test_bad_record_ignored),
		cmocka_unit_test(test_other_file_ignored),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
