/*
 * test-redo.c: fs/redo.c and fs/fileio_rekey.c — a rekey keeps content and
 * holes under a new wrapped key; the redo record parses, and refuses a flipped
 * byte, another file's key or a foreign magic; replay (what mount and fsck
 * run) finishes a copy in place that a crash cut short and discards a rekey
 * whose record is torn, leaving no rk.* entry either way (docs/FORMAT.md §5.7).
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testutil.h"
#include "testvol.h"
#include "fileio.h"
#include "journal.h"
#include "keys.h"
#include "redo.h"

#define BS 4096
#define N (12 * BS + 100)

static struct keys_volume *kv;
static char dir[64], path[128];
static uint8_t a[N];

static void spill(const char *p, const uint8_t *buf, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static struct fileio *fo(void)
{
	struct fileio *f = NULL;
	int fd = open(path, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(fileio_open(fd, kv, 1, &f), 0);
	return f;
}

/* Blocks 0-1 and 6-12 hold data; 2-5 are a hole. */
static void make_file(void)
{
	struct fileio *f = NULL;
	int fd;

	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fileio_create(fd, kv, FORMAT_CIPHER_GCM, &f), 0);
	assert_int_equal(fileio_write(f, a, 2 * BS, 0), 2 * BS);
	assert_int_equal(fileio_write(f, a + 6 * BS, N - 6 * BS, 6 * BS), N - 6 * BS);
	fileio_close(f);
}

/* holes: the backing file is sparse where the file has holes (spill() is not). */
static void check_content(int holes)
{
	struct fileio *f = fo();
	uint8_t got[N], want[N];
	uint64_t hole = 0;

	memcpy(want, a, N);
	memset(want + 2 * BS, 0, 4 * BS);
	assert_int_equal(fileio_read(f, got, N, 0), N);
	assert_memory_equal(got, want, N);
	assert_int_equal(fileio_lseek(f, 0, SEEK_HOLE, &hole), 0);
	if (holes)
		assert_int_equal(hole, 2 * BS);
	fileio_close(f);
}

static int rk_entries(void)
{
	char jd[128];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(jd, sizeof(jd), "%s/" JOURNAL_DIR, dir);
	d = opendir(jd);
	assert_non_null(d);
	while ((e = readdir(d)))
		n += strncmp(e->d_name, "rk.", 3) == 0;
	closedir(d);
	return n;
}

static void test_rekey_keeps_content(void **state)
{
	uint8_t *before, *after;
	size_t bl, al;
	struct fileio *f;

	(void)state;
	make_file();
	tv_slurp(path, &before, &bl);
	f = fo();
	assert_int_equal(fileio_rekey(f), 0);
	fileio_close(f);
	tv_slurp(path, &after, &al);
	assert_int_equal(al, bl);
	assert_memory_equal(before + 8, after + 8, 16);              /* same file id */
	assert_memory_not_equal(before + 48, after + 48, 96);       /* new wrapped key */
	check_content(1);
	assert_int_equal(rk_entries(), 0);
	free(before);
	free(after);
}

static void test_record_parse(void **state)
{
	struct format_header h, h2;
	struct keys_file *fk = NULL, *other = NULL;
	uint8_t rec[REDO_REC_LEN];
	uint64_t len = 0;

	(void)state;
	assert_int_equal(keys_file_create(kv, FORMAT_CIPHER_GCM, &h, &fk), 0);
	assert_int_equal(keys_file_create_as(kv, FORMAT_CIPHER_GCM, fk->file_id, &h2, &other), 0);
	assert_int_equal(redo_encode(fk, 123456, rec), 0);
	assert_int_equal(redo_parse(rec, sizeof(rec), fk, &len), 0);
	assert_int_equal(len, 123456);
	assert_int_equal(redo_parse(rec, sizeof(rec), other, &len), -EBADMSG);
	assert_int_equal(redo_parse(rec, sizeof(rec) - 1, fk, &len), -EBADMSG);
	rec[30] ^= 1;
	assert_int_equal(redo_parse(rec, sizeof(rec), fk, &len), -EBADMSG);
	rec[0] = 'X';
	assert_int_equal(redo_parse(rec, sizeof(rec), fk, &len), -ENODATA);
	keys_file_free(fk);
	keys_file_free(other);
}

/* The state a crash leaves: the copy and the link in the journal, the
 * original overwritten up to `cut` bytes; the record whole or torn. */
static void crash_state(const uint8_t *old, const uint8_t *new, size_t len, size_t cut,
			int torn)
{
	struct format_header h;
	struct keys_file *fk = NULL;
	char name[REDO_NAME_MAX], p[256];
	uint8_t rec[REDO_REC_LEN];
	uint8_t *mixed = malloc(len);

	assert_int_equal(keys_file_open(kv, new, FORMAT_HEADER_LEN, &h, &fk), 0);
	redo_name(fk->file_id, REDO_COPY, name);
	snprintf(p, sizeof(p), "%s/" JOURNAL_DIR "/%s", dir, name);
	spill(p, new, len);
	redo_name(fk->file_id, REDO_LINK, name);
	snprintf(p, sizeof(p), "%s/" JOURNAL_DIR "/%s", dir, name);
	assert_int_equal(link(path, p), 0);
	assert_int_equal(redo_encode(fk, len, rec), 0);
	redo_name(fk->file_id, REDO_RECORD, name);
	snprintf(p, sizeof(p), "%s/" JOURNAL_DIR "/%s", dir, name);
	spill(p, rec, torn ? REDO_REC_LEN / 2 : REDO_REC_LEN);
	memcpy(mixed, new, cut);
	memcpy(mixed + cut, old + cut, len - cut);
	spill(path, mixed, len);
	keys_file_free(fk);
	free(mixed);
}

/* old and new backing bytes of one file, the file left old. */
static void two_versions(uint8_t **old, uint8_t **new, size_t *len)
{
	struct fileio *f;
	size_t nl;

	make_file();
	tv_slurp(path, old, len);
	f = fo();
	assert_int_equal(fileio_rekey(f), 0);
	fileio_close(f);
	tv_slurp(path, new, &nl);
	assert_int_equal(nl, *len);
	spill(path, *old, *len);
}

static void test_replay_finishes(void **state)
{
	uint8_t *old, *new, *now;
	size_t len, nl;

	(void)state;
	two_versions(&old, &new, &len);
	crash_state(old, new, len, len / 2, 0);
	assert_int_equal(redo_replay_all(kv), 1);
	tv_slurp(path, &now, &nl);
	assert_int_equal(nl, len);
	assert_memory_equal(now, new, len);
	assert_int_equal(rk_entries(), 0);
	check_content(0);
	assert_int_equal(redo_replay_all(kv), 0);        /* nothing left: idempotent */
	free(old);
	free(new);
	free(now);
}

static void test_replay_discards_torn_record(void **state)
{
	uint8_t *old, *new, *now;
	size_t len, nl;

	(void)state;
	two_versions(&old, &new, &len);
	crash_state(old, new, len, 0, 1);
	assert_int_equal(redo_replay_all(kv), 0);
	tv_slurp(path, &now, &nl);
	assert_memory_equal(now, old, len);
	assert_int_equal(rk_entries(), 0);
	check_content(0);
	free(old);
	free(new);
	free(now);
}

static int setup(void **state)
{
	int rootfd;

	(void)state;
	kv = tv_setup("redo", dir, sizeof(dir));
	rootfd = open(dir, O_PATH | O_DIRECTORY);
	assert_true(rootfd >= 0);
	assert_int_equal(journal_open(rootfd, 1, 0), 0);
	snprintf(path, sizeof(path), "%s/f", dir);
	for (size_t i = 0; i < N; i++)
		a[i] = (uint8_t)(i * 13 + (i >> 11)) | 1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	journal_close();
	return tv_teardown(kv, dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rekey_keeps_content),
		cmocka_unit_test(test_record_parse),
		cmocka_unit_test(test_replay_finishes),
		cmocka_unit_test(test_replay_discards_torn_record),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
