/*
 * test-journal.c: fs/journal.c and journal_replay.c through fs/fileio — a
 * write torn between pages (what SIGKILL does to a buffered pwrite) ends
 * whole after journal_replay_all (what mount and fsck run first): an
 * overwrite is redone, an append undone, a record of an older build (PHJ1)
 * still undone; a torn or foreign record is ignored; every record is void
 * once its write returned; an append that fails part-way (a full disk: here
 * RLIMIT_FSIZE, which lets a pwrite land up to the limit and then fail) is
 * put back at once, leaving the file as before.
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testutil.h"
#include "testvol.h"
#include "block.h"
#include "cipher.h"
#include "fileio.h"
#include "fileio_int.h"
#include "journal.h"
#include "journal_int.h"
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

/* This thread's journal file: the only one in JOURNAL_DIR besides the
 * process's live marker t<pid>.0. */
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
		if (e->d_name[0] != '.' && strcmp(strchr(e->d_name, '.') ? strchr(e->d_name, '.') : "", ".0")) {
			snprintf(jpath, sizeof(jpath), "%s/%s", jd, e->d_name);
			n++;
		}
	closedir(d);
	assert_int_equal(n, 1);
}

static void make_file_as(uint8_t cipher, uint8_t **old, size_t *olen)
{
	struct fileio *f = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/file", dir);
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fileio_create(fd, kv, cipher, &f), 0);
	assert_int_equal(fileio_write(f, a, N, 0), N);
	fileio_close(f);
	tv_slurp(path, old, olen);
}

static void make_file(uint8_t **old, size_t *olen)
{
	make_file_as(FORMAT_CIPHER_GCM, old, olen);
}

/* Revives this thread's (void) journal record as magic: what a SIGKILL
 * between record and void leaves. Returns the record's kind byte. */
static int revive_journal(const char *magic)
{
	uint8_t *jrec;
	size_t jlen;
	int kind;

	find_journal();
	tv_slurp(jpath, &jrec, &jlen);
	assert_int_equal(memcmp(jrec, "\0\0\0\0", 4), 0);   /* voided after the write */
	memcpy(jrec, magic, 4);
	spill(jpath, jrec, jlen, 0);
	kind = jrec[4];
	free(jrec);
	return kind;
}

/*
 * Leaves the file as a SIGKILL would: A on disk, B's journal record valid,
 * B's in-place overwrite done only up to a page boundary inside a slot.
 */
static void make_torn(void)
{
	struct fileio *f;
	uint8_t *old, *neu;
	size_t olen, nlen;

	make_file(&old, &olen);
	f = fo(1);
	assert_int_equal(fileio_write(f, b + 2 * BS, 4 * BS, 2 * BS), 4 * BS);   /* journaled */
	fileio_close(f);
	assert_int_equal(revive_journal("PHJ2"), 1);     /* an overwrite: REDO */
	tv_slurp(path, &neu, &nlen);
	assert_int_equal(nlen, olen);
	/* The in-place write stopped at the page boundary 3 pages in, in the
	 * middle of slot 2. */
	spill(path, old + 3 * BS, olen - 3 * BS, 3 * BS);
	free(old);
	free(neu);
}

/* A then B written over blocks 2..5: what a completed overwrite gives. */
static void expect_overwritten(uint8_t *exp)
{
	memcpy(exp, a, N);
	memcpy(exp + 2 * BS, b + 2 * BS, 4 * BS);
}

static void check_file(struct fileio *f, const uint8_t *exp)
{
	uint8_t *got = malloc(N);

	assert_int_equal(fileio_read(f, got, N, 0), N);
	assert_memory_equal(got, exp, N);
	assert_int_equal(fileio_verify(f, NULL, NULL), 0);
	free(got);
}

static void test_torn_overwrite_redone(void **state)
{
	struct fileio *f;
	uint8_t exp[N];

	(void)state;
	make_torn();
	assert_int_equal(journal_replay_all(kv), 1);
	f = fo(0);
	expect_overwritten(exp);
	check_file(f, exp);   /* the interrupted overwrite is completed as a whole */
	fileio_close(f);
	assert_int_equal(journal_replay_all(kv), 0);   /* nothing twice */
}

/* Replay undoes the one interrupted write: the file is A again, N bytes. */
static void expect_undone(void)
{
	struct fileio *f;
	uint64_t sz = 0;

	assert_int_equal(journal_replay_all(kv), 1);
	f = fo(0);
	assert_int_equal(fileio_size(f, &sz), 0);
	assert_int_equal(sz, N);
	check_file(f, a);
	fileio_close(f);
}

/* An append torn mid-way is undone: the file is A again, at A's size. */
static void test_torn_append_undone(void **state)
{
	struct fileio *f;
	uint8_t *old, *neu;
	size_t olen, nlen;

	(void)state;
	make_file(&old, &olen);
	f = fo(1);
	assert_int_equal(fileio_write(f, b, 3 * BS, N), 3 * BS);   /* extends: UNDO */
	fileio_close(f);
	assert_int_equal(revive_journal("PHJ2"), 0);
	tv_slurp(path, &neu, &nlen);
	assert_true(nlen > olen + 2 * BS);
	/* The write stopped at the first page boundary past 1.5 new slots. */
	assert_int_equal(truncate(path, (off_t)((olen + BS + BS / 2) / BS * BS)), 0);
	expect_undone();
	free(old);
	free(neu);
}

/*
 * An extension over a gap saves no old bytes: its UNDO record has an offset
 * past the old end and an empty payload. Torn, it must still be undone (such
 * records were once refused as malformed, leaving a torn final block). XTS:
 * no step (3) re-seal follows, so the extension's record is the last one.
 */
static void test_torn_gap_extension_undone(void **state)
{
	struct fileio *f;
	uint8_t *old, *neu;
	size_t olen, nlen;
	off_t start = FORMAT_HEADER_LEN + 15 * BS;

	(void)state;
	make_file_as(FORMAT_CIPHER_XTS, &old, &olen);
	f = fo(1);
	assert_int_equal(fileio_write(f, b, 3 * BS, 15 * BS), 3 * BS);   /* 5 blocks of gap */
	fileio_close(f);
	assert_int_equal(revive_journal("PHJ2"), 0);                      /* UNDO */
	tv_slurp(path, &neu, &nlen);
	assert_int_equal(nlen, (size_t)start + 3 * BS);
	/* The write stopped at the first page boundary 1.5 new blocks in. */
	assert_int_equal(truncate(path, (start + BS + BS / 2) / BS * BS), 0);
	expect_undone();
	free(old);
	free(neu);
}

/* A PHJ1 record (by path, undo) left by an older build is still undone. */
static void test_phj1_record_undone(void **state)
{
	uint8_t *old, *rec, hdr[FORMAT_HEADER_LEN];
	const char *rel = "file";
	size_t olen, pl = strlen(rel), L = 4 * block_slot_len(FORMAT_CIPHER_GCM, BS), total;
	struct format_header h;
	struct keys_file *fk = NULL;
	struct fileio *f;
	uint64_t off = block_slot_offset(FORMAT_CIPHER_GCM, 2);
	uint8_t *p;

	(void)state;
	make_torn();   /* then replace the PHJ2 record with what a PHJ1 build wrote */
	make_file(&old, &olen);
	memcpy(hdr, old, sizeof(hdr));
	assert_int_equal(keys_file_open(kv, hdr, sizeof(hdr), &h, &fk), 0);
	total = J_FIXED1 + pl + L;
	rec = calloc(1, total);
	memcpy(rec, "PHJ1", 4);
	rec[4] = (uint8_t)pl;
	memcpy(rec + 6, rel, pl);
	p = rec + 6 + pl;
	memcpy(p, fk->file_id, 16);
	for (int i = 0; i < 8; i++) {
		p[16 + i] = (uint8_t)((uint64_t)olen >> (8 * i));
		p[24 + i] = (uint8_t)(off >> (8 * i));
	}
	for (int i = 0; i < 4; i++)
		p[32 + i] = (uint8_t)(L >> (8 * i));
	memcpy(p + 36, old + off, L);
	assert_int_equal(cipher_hmac_sha256(fk->header_mac_key, sizeof(fk->header_mac_key), rec,
					    total - 32, rec + total - 32), 0);
	spill(jpath, rec, total, 0);
	/* tear the file the same way as make_torn */
	{
		uint8_t junk[BS];

		memset(junk, 0x5a, sizeof(junk));
		spill(path, junk, sizeof(junk), (off_t)off + 100);
	}
	assert_int_equal(journal_replay_all(kv), 1);
	f = fo(0);
	check_file(f, a);
	fileio_close(f);
	keys_file_free(fk);
	free(rec);
	free(old);
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

/* Writes buf as path, leaving every all-zero 4 KiB block a hole. */
static void spill_sparse(const uint8_t *buf, size_t len)
{
	static const uint8_t zero[BS];
	int fd = open(path, O_WRONLY | O_TRUNC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	for (size_t o = 0; o < len; o += BS) {
		size_t k = len - o < BS ? len - o : BS;

		if (memcmp(buf + o, zero, k))
			assert_int_equal(pwrite(fd, buf + o, k, (off_t)o), (ssize_t)k);
	}
	close(fd);
}

/*
 * A write filling a gap (what an out-of-order append of the kernel's
 * writeback leaves) is journaled as HOLE — the bytes around the hole, not a
 * copy of the write — and a tear in it is undone: the gap reads as zeros
 * again, the data around it as before, and the file verifies. The fill is
 * the pwrite fileio makes for blocks 9..59 (slot 9 re-sealed, 10..59 new),
 * replayed through journal_pwrite on the old state.
 */
static void test_torn_gap_fill_undone(void **state)
{
	enum { FAR = 60 * BS };
	size_t slot = block_slot_len(FORMAT_CIPHER_GCM, BS), olen, nlen, jlen;
	size_t off = FORMAT_HEADER_LEN + 9 * slot, len = 51 * slot, tear;
	uint8_t *old, *neu, *jrec, *exp = calloc(1, FAR + BS), *got = malloc(FAR + BS);
	uint8_t *fillbuf = malloc(51 * BS);
	struct fileio *f;

	(void)state;
	fill(fillbuf, 51 * BS, 99);
	make_file(&old, &olen);
	free(old);
	f = fo(1);
	assert_int_equal(fileio_write(f, b, BS, FAR), BS);   /* extends past a gap */
	fileio_close(f);
	tv_slurp(path, &old, &olen);
	f = fo(1);
	assert_int_equal(fileio_write(f, fillbuf, 51 * BS, 9 * BS), 51 * BS);   /* fills it */
	fileio_close(f);
	tv_slurp(path, &neu, &nlen);
	assert_int_equal(nlen, olen);
	spill_sparse(old, olen);   /* back to before the fill, holes and all */
	f = fo(1);
	assert_int_equal(journal_pwrite(f->fk, f->fd, neu + off, len, off), 0);
	fileio_close(f);
	assert_int_equal(revive_journal("PHJ2"), J_KIND_HOLE);
	tv_slurp(jpath, &jrec, &jlen);
	assert_true(jlen < len / 4);   /* not a second copy of the write */
	/* The write stopped at a page boundary half-way. */
	tear = (off + len / 2) / BS * BS;
	spill(path, old + tear, olen - tear, (off_t)tear);
	assert_int_equal(journal_replay_all(kv), 1);
	memcpy(exp, a, N);
	memcpy(exp + FAR, b, BS);
	f = fo(0);
	assert_int_equal(fileio_read(f, got, FAR + BS, 0), FAR + BS);
	assert_memory_equal(got, exp, FAR + BS);
	assert_int_equal(fileio_verify(f, NULL, NULL), 0);
	fileio_close(f);
	free(old);
	free(neu);
	free(jrec);
	free(exp);
	free(got);
	free(fillbuf);
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
	assert_true(jlen > 300);
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

/* A record naming a file (inode, often reused) that now has another file id
 * is not replayed. */
static void test_other_file_ignored(void **state)
{
	struct fileio *f;
	uint8_t *jrec, *old;
	size_t jlen, olen;

	(void)state;
	make_torn();
	tv_slurp(jpath, &jrec, &jlen);             /* a valid record for the old file */
	make_file(&old, &olen);                    /* a new file at the same path */
	free(old);
	spill(jpath, jrec, jlen, 0);               /* back in place */
	assert_int_equal(journal_replay_all(kv), 0);
	f = fo(0);
	check_file(f, a);
	fileio_close(f);
	free(jrec);
}

/* An append whose slot write stops part-way (the backing file system full)
 * fails cleanly and leaves the file exactly as it was: no torn final slot
 * (which would read as a truncation), same size, every block authentic. */
static void test_failed_append_rolled_back(void **state)
{
	struct rlimit lim, old_lim;
	struct fileio *f;
	uint8_t *old, *now;
	size_t olen, nlen;
	uint64_t sz = 0;

	(void)state;
	make_file(&old, &olen);
	f = fo(1);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_lim), 0);
	lim = old_lim;
	lim.rlim_cur = (olen + 2 * BS) / BS * BS;   /* the new slots land only in part */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(fileio_write(f, b, 4 * BS, N), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old_lim), 0);
	fileio_close(f);
	tv_slurp(path, &now, &nlen);
	assert_int_equal(nlen, olen);
	assert_memory_equal(now, old, olen);
	f = fo(0);
	assert_int_equal(fileio_size(f, &sz), 0);
	assert_int_equal(sz, N);
	check_file(f, a);
	fileio_close(f);
	assert_int_equal(journal_replay_all(kv), 0);   /* the record was voided too */
	free(old);
	free(now);
}

/* A truncate down stopped after its first step (TRUNC_PENDING in the header,
 * the old blocks intact) by a crash — shown by a dead process's live marker
 * in the journal directory — is finished by the replay, before anything
 * stats the file (FORMAT.md §5.5, §5.6). */
static void test_crash_finishes_pending_truncate(void **state)
{
	const uint64_t target = 3 * BS + 100;
	struct fileio *f;
	uint8_t *old, *raw;
	size_t olen, rlen;
	uint64_t sz = 0;
	char marker[256];
	int fd;

	(void)state;
	make_file(&old, &olen);
	f = fo(1);
	assert_int_equal(fileio_header_store(f, f->hdr.flags | FORMAT_HDR_TRUNC_PENDING, target, 1), 0);
	fileio_close(f);
	assert_int_equal(journal_replay_all(kv), 0);   /* no crash shown: left to the open */
	tv_slurp(path, &raw, &rlen);
	assert_int_equal(rlen, olen);
	free(raw);
	snprintf(marker, sizeof(marker), "%s/" JOURNAL_DIR "/t1.0", dir);
	fd = open(marker, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(journal_replay_all(kv), 1);
	assert_int_equal(access(marker, F_OK), -1);    /* the dead process's marker is gone */
	tv_slurp(path, &raw, &rlen);
	assert_true(rlen < olen);                      /* cut on disk, not only at an open */
	f = fo(0);
	assert_int_equal(fileio_size(f, &sz), 0);
	assert_int_equal(sz, target);
	assert_false(f->hdr.flags & FORMAT_HDR_TRUNC_PENDING);
	{
		uint8_t got[4 * BS];

		assert_int_equal(fileio_read(f, got, sizeof(got), 0), (ssize_t)target);
		assert_memory_equal(got, a, target);
	}
	fileio_close(f);
	free(old);
	free(raw);
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
	journal_close();
	if (jdir >= 0)
		close(jdir);
	return tv_teardown(kv, dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_torn_overwrite_redone),
		cmocka_unit_test(test_torn_append_undone),
		cmocka_unit_test(test_torn_gap_extension_undone),
		cmocka_unit_test(test_torn_gap_fill_undone),
		cmocka_unit_test(test_phj1_record_undone),
		cmocka_unit_test(test_without_replay_the_tear_shows),
		cmocka_unit_test(test_bad_record_ignored),
		cmocka_unit_test(test_other_file_ignored),
		cmocka_unit_test(test_failed_append_rolled_back),
		cmocka_unit_test(test_crash_finishes_pending_truncate),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
