/*
 * test-fileio.c: fs/fileio*.c against docs/FORMAT.md §5.3–§5.5 on real files
 * under /tmp: round trips, a random-write model, truncation, sparse files,
 * holes split by writes, SEEK_DATA/SEEK_HOLE, tampering (each detected on the
 * damaged block only, with the hook naming that block), the on-disk states a
 * crash leaves in the middle of an extension or truncation, and XTS.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"
#include "testvol.h"
#include "block.h"
#include "cipher.h"
#include "fileio.h"
#include "hook.h"
#include "keys.h"
#include "secmem.h"

#define BS 4096
#define SLOT 4128
#define HDR 176
#define GCM FORMAT_CIPHER_GCM
#define XTS FORMAT_CIPHER_XTS

static struct keys_volume *kv;
static char dir[64];
static int seq;

/* ---- helpers ----------------------------------------------------------- */

static struct {
	int count;
	uint64_t blockno;
	char what[64];
	uint8_t id[16];
} hk;

static void hook_rec(void *arg, const uint8_t id[16], uint64_t blockno, const char *what)
{
	(void)arg;
	hk.count++;
	hk.blockno = blockno;
	snprintf(hk.what, sizeof(hk.what), "%s", what);
	memcpy(hk.id, id, 16);
}

static void hook_reset(void)
{
	memset(&hk, 0, sizeof(hk));
}

static uint32_t rnd_state;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(rnd() | 1);   /* never zero: a zero block must come from a hole */
}

static struct fileio *fcreate(char *path, uint8_t cipher)
{
	struct fileio *f = NULL;
	int fd;

	snprintf(path, 128, "%s/f%d", dir, seq++);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fileio_create(fd, kv, cipher, &f), 0);
	return f;
}

static int fopen_err(const char *path, int writable, struct fileio **f)
{
	int fd = open(path, writable ? O_RDWR : O_RDONLY);

	assert_true(fd >= 0);
	return fileio_open(fd, kv, writable, f);
}

static struct fileio *fopen_ok(const char *path, int writable)
{
	struct fileio *f = NULL;

	assert_int_equal(fopen_err(path, writable, &f), 0);
	return f;
}

static void wr(struct fileio *f, const void *buf, size_t len, uint64_t off)
{
	assert_int_equal(fileio_write(f, buf, len, off), (ssize_t)len);
}

static void check_content(struct fileio *f, const uint8_t *want, uint64_t size)
{
	uint8_t *got = malloc(size + 100);
	uint64_t fs;

	assert_non_null(got);
	assert_int_equal(fileio_size(f, &fs), 0);
	assert_int_equal(fs, size);
	assert_int_equal(fileio_read(f, got, size + 100, 0), (ssize_t)size);
	assert_memory_equal(got, want, size);
	free(got);
}

static uint64_t backing(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

static void raw_write(const char *path, const void *buf, size_t len, uint64_t off)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void raw_read(const char *path, void *buf, size_t len, uint64_t off)
{
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void raw_truncate(const char *path, uint64_t size)
{
	assert_int_equal(truncate(path, (off_t)size), 0);
}

static uint32_t raw_gap(const char *path, uint64_t i)
{
	uint8_t g[4];

	raw_read(path, g, 4, HDR + i * SLOT + 12);
	return (uint32_t)g[0] | (uint32_t)g[1] << 8 | (uint32_t)g[2] << 16 | (uint32_t)g[3] << 24;
}

static struct keys_file *file_keys(const char *path, struct format_header *h)
{
	uint8_t hdr[HDR];
	struct keys_file *fk = NULL;

	raw_read(path, hdr, HDR, 0);
	assert_int_equal(keys_file_open(kv, hdr, HDR, h, &fk), 0);
	return fk;
}

/* Writes slot i sealed exactly as asked: states a crash can leave. */
static void craft_slot(const char *path, const struct keys_file *fk, uint64_t i, uint32_t flags,
		       uint32_t gap, const uint8_t *pt, size_t len)
{
	uint8_t slot[SLOT];

	assert_int_equal(block_gcm_seal(fk->block_key, fk->file_id, i, flags, gap, pt, len, slot), 0);
	raw_write(path, slot, len + 32, HDR + i * SLOT);
}

static void craft_header(const char *path, const struct keys_file *fk, struct format_header *h,
			 uint32_t flags, uint64_t pending)
{
	uint8_t enc[HDR];

	h->flags = flags;
	h->pending_size = pending;
	assert_int_equal(keys_header_seal(fk, h, enc), 0);
	raw_write(path, enc, HDR, 0);
}

static uint32_t header_flags(const char *path)
{
	struct format_header h;
	struct keys_file *fk = file_keys(path, &h);

	keys_file_free(fk);
	return h.flags;
}

/* Block i fails with -EIO and exactly one hook call naming it. */
static void expect_bad(struct fileio *f, uint64_t i, const char *what)
{
	uint8_t buf[BS];

	hook_reset();
	assert_int_equal(fileio_read(f, buf, BS, i * BS), -EIO);
	assert_int_equal(hk.count, 1);
	assert_int_equal(hk.blockno, i);
	assert_string_equal(hk.what, what);
	assert_memory_equal(hk.id, fileio_file_id(f), 16);
}

static void expect_good(struct fileio *f, uint64_t i, const uint8_t *content, uint64_t size)
{
	uint8_t buf[BS];
	size_t n = size - i * BS < BS ? (size_t)(size - i * BS) : BS;

	hook_reset();
	assert_int_equal(fileio_read(f, buf, BS, i * BS), (ssize_t)n);
	assert_memory_equal(buf, content + i * BS, n);
	assert_int_equal(hk.count, 0);
}

struct vrec {
	int n;
	uint64_t block[16];
	char what[16][24];
};

static void vcb(void *arg, uint64_t blockno, const char *what)
{
	struct vrec *v = arg;

	if (v->n < 16) {
		v->block[v->n] = blockno;
		snprintf(v->what[v->n], sizeof(v->what[0]), "%s", what);
	}
	v->n++;
}

static void expect_verify(struct fileio *f, int n, uint64_t block0, const char *what0)
{
	struct vrec v = { 0 };

	assert_int_equal(fileio_verify(f, vcb, &v), n);
	assert_int_equal(v.n, n);
	if (n > 0) {
		assert_int_equal(v.block[0], block0);
		assert_string_equal(v.what[0], what0);
	}
}

/* ---- round trips ------------------------------------------------------- */

static void roundtrip(uint8_t cipher)
{
	static const uint64_t sizes[] = { 0, 1, 15, 16, 4095, 4096, 4097, (1 << 20) + 13,
					  3 * (1 << 20) + 5 };
	char path[128];

	rnd_state = 12345;
	for (size_t t = 0; t < sizeof(sizes) / sizeof(sizes[0]); t++) {
		uint64_t n = sizes[t];
		uint8_t *data = malloc(n + 1);
		struct fileio *f = fcreate(path, cipher);

		fill(data, n);
		if (n)
			wr(f, data, n, 0);
		check_content(f, data, n);
		assert_int_equal(backing(path), block_backing_size(cipher, n));
		fileio_close(f);
		f = fopen_ok(path, 0);
		check_content(f, data, n);
		assert_int_equal(fileio_verify(f, NULL, NULL), 0);
		/* Read-only: every change refused. */
		assert_int_equal(fileio_write(f, data, 1, 0), -EROFS);
		assert_int_equal(fileio_truncate(f, 0), -EROFS);
		fileio_close(f);
		free(data);
	}
}

static void test_roundtrip_gcm(void **state)
{
	(void)state;
	roundtrip(GCM);
}

static void test_roundtrip_xts(void **state)
{
	(void)state;
	roundtrip(XTS);
}

/* A short XTS tail is XORed with a pad: for one of the 256 values of a 1-byte
 * file its ciphertext is 0x00, which must still read back as that value, not
 * as a hole (a final block is always written data). */
static void test_xts_zero_tail(void **state)
{
	char path[128];
	struct fileio *f = fcreate(path, XTS);
	uint8_t two[2];

	(void)state;
	for (unsigned v = 0; v < 256; v++) {
		uint8_t b = (uint8_t)v;

		assert_int_equal(fileio_truncate(f, 0), 0);
		wr(f, &b, 1, 0);
		check_content(f, &b, 1);
		two[0] = (uint8_t)(v * 7), two[1] = b;
		assert_int_equal(fileio_truncate(f, 0), 0);
		wr(f, two, 2, 0);
		check_content(f, two, 2);
	}
	fileio_close(f);
}

/* Unaligned pieces appended in order give the same file as one write. */
static void test_append_pieces(void **state)
{
	static const size_t pieces[] = { 1, 15, 4080, 1, 4095, 8192, 100, 70000, 3 };
	uint8_t *data = malloc(100000);
	char path[128];
	struct fileio *f = fcreate(path, GCM);
	uint64_t off = 0;

	(void)state;
	rnd_state = 99;
	fill(data, 100000);
	for (size_t t = 0; t < sizeof(pieces) / sizeof(pieces[0]); t++) {
		wr(f, data + off, pieces[t], off);
		off += pieces[t];
		check_content(f, data, off);
		assert_int_equal(backing(path), block_backing_size(GCM, off));
		assert_int_equal(fileio_verify(f, NULL, NULL), 0);
	}
	fileio_close(f);
	free(data);
}

/* ---- a random-operation model ------------------------------------------ */

#define MODEL_CAP (4u << 20)

/* big: most writes span many whole blocks (edges, append in place at a - 1,
 * extension past a gap, hole splits with runs of up to a whole chunk). */
static void model_run(uint8_t cipher, uint32_t seed, int ops, int big)
{
	uint8_t *model = calloc(1, MODEL_CAP), *buf = malloc(MODEL_CAP), *got = malloc(MODEL_CAP);
	uint64_t size = 0;
	char path[128];
	struct fileio *f = fcreate(path, cipher);

	assert_non_null(model);
	rnd_state = seed;
	hook_reset();
	for (int op = 0; op < ops; op++) {
		uint32_t r = rnd() % 100;

		if (r < 55) {
			uint64_t off = rnd() % 10 == 0 ? rnd() % (2u << 20) : rnd() % 200000;
			size_t len = rnd() % 20 == 0 || big ? 1 + rnd() % 300000 : 1 + rnd() % 20000;

			if (big && rnd() % 3 == 0)       /* block-aligned, up to a whole chunk */
				off -= off % 4096, len = 4096 * (1 + rnd() % 256);

			fill(buf, len);
			wr(f, buf, len, off);
			memcpy(model + off, buf, len);
			if (off + len > size)
				size = off + len;
		} else if (r < 85) {
			uint64_t off = rnd() % (size + 5000);
			size_t len = 1 + rnd() % 70000;
			size_t want = off >= size ? 0 : (size - off < len ? (size_t)(size - off) : len);

			assert_int_equal(fileio_read(f, got, len, off), (ssize_t)want);
			assert_memory_equal(got, model + off, want);
		} else if (r < 95) {
			uint64_t ns = rnd() % 4 == 0 ? 0 : rnd() % (size + size / 5 + 10000);

			if (ns > (3u << 20))
				ns = 3u << 20;
			assert_int_equal(fileio_truncate(f, ns), 0);
			if (ns < size)
				memset(model + ns, 0, size - ns);
			size = ns;
		} else {
			check_content(f, model, size);
			assert_int_equal(fileio_verify(f, NULL, NULL), 0);
		}
		assert_int_equal(hk.count, 0);
	}
	assert_int_equal(fileio_verify(f, NULL, NULL), 0);
	fileio_close(f);
	f = fopen_ok(path, 1);
	check_content(f, model, size);
	assert_int_equal(backing(path), block_backing_size(cipher, size));
	fileio_close(f);
	free(model);
	free(buf);
	free(got);
}

static void test_model_gcm(void **state)
{
	(void)state;
	model_run(GCM, 0x5eed1, 3000, 0);
}

static void test_model_xts(void **state)
{
	(void)state;
	model_run(XTS, 0x5eed2, 1000, 0);
}

static void test_model_big_writes(void **state)
{
	(void)state;
	model_run(GCM, 0x5eed3, 600, 1);
	model_run(XTS, 0x5eed4, 300, 1);
}

/* ---- truncation -------------------------------------------------------- */

static void truncate_cycle(uint8_t cipher)
{
	uint8_t data[30000], want[30000] = { 0 };
	char path[128];
	struct fileio *f = fcreate(path, cipher);

	rnd_state = 7;
	fill(data, sizeof(data));
	wr(f, data, 10000, 0);
	memcpy(want, data, 10000);
	assert_int_equal(fileio_truncate(f, 5000), 0);
	memset(want + 5000, 0, 5000);
	check_content(f, want, 5000);
	assert_int_equal(backing(path), block_backing_size(cipher, 5000));
	assert_int_equal(fileio_truncate(f, 20000), 0);
	check_content(f, want, 20000);
	assert_int_equal(backing(path), block_backing_size(cipher, 20000));
	assert_int_equal(fileio_truncate(f, 4096), 0);
	check_content(f, want, 4096);
	assert_int_equal(fileio_truncate(f, 4095), 0);
	check_content(f, want, 4095);
	assert_int_equal(fileio_verify(f, NULL, NULL), 0);
	assert_int_equal(fileio_truncate(f, 0), 0);
	memset(want, 0, sizeof(want));
	check_content(f, want, 0);
	assert_int_equal(backing(path), HDR);
	if (cipher == GCM)
		assert_int_equal(header_flags(path) & FORMAT_HDR_HAS_DATA, 0);
	fileio_close(f);
	/* An empty file reads as empty, not as truncated, and takes writes again. */
	f = fopen_ok(path, 1);
	hook_reset();
	check_content(f, want, 0);
	assert_int_equal(hk.count, 0);
	wr(f, data, 300, 9000);
	memcpy(want + 9000, data, 300);
	check_content(f, want, 9300);
	if (cipher == GCM)
		assert_int_equal(header_flags(path), FORMAT_HDR_HAS_DATA);
	assert_int_equal(fileio_verify(f, NULL, NULL), 0);
	fileio_close(f);
}

static void test_truncate_gcm(void **state)
{
	(void)state;
	truncate_cycle(GCM);
}

static void test_truncate_xts(void **state)
{
	(void)state;
	truncate_cycle(XTS);
}

static void test_fallocate(void **state)
{
	uint8_t data[100], want[50000] = { 0 };
	char path[128];
	struct fileio *f = fcreate(path, GCM);

	(void)state;
	rnd_state = 3;
	fill(data, sizeof(data));
	wr(f, data, 100, 0);
	memcpy(want, data, 100);
	assert_int_equal(fileio_fallocate(f, 0, 10, 49990), 0);
	check_content(f, want, 50000);
	assert_int_equal(fileio_fallocate(f, 0, 0, 10), 0);        /* inside: size kept */
	check_content(f, want, 50000);
	assert_int_equal(fileio_fallocate(f, 1, 0, 10), -EOPNOTSUPP);
	assert_int_equal(fileio_verify(f, NULL, NULL), 0);
	fileio_close(f);
}

/* ---- holes, sparse files, lseek --------------------------------------- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_sparse_100mib(void **state)
{
	const uint64_t at = 100u << 20;
	uint8_t *buf = malloc(1 << 20), *zero = calloc(1, 1 << 20);
	char path[128];
	struct fileio *f = fcreate(path, GCM);
	struct stat st;
	uint64_t size, res;
	double t0;

	(void)state;
	wr(f, "hello", 5, at);
	assert_int_equal(fileio_size(f, &size), 0);
	assert_int_equal(size, at + 5);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_blocks * 512 < (1 << 20));   /* the hole stays sparse */
	t0 = now();
	for (uint64_t off = 0; off < at; off += 1 << 20) {
		assert_int_equal(fileio_read(f, buf, 1 << 20, off), 1 << 20);
		assert_memory_equal(buf, zero, 1 << 20);
	}
	assert_int_equal(fileio_read(f, buf, 100, at - 3), 8);
	assert_memory_equal(buf, "\0\0\0hello", 8);
	assert_true(now() - t0 < 5.0);
	assert_int_equal(fileio_lseek(f, 0, SEEK_DATA, &res), 0);
	assert_int_equal(res, at);
	assert_int_equal(fileio_lseek(f, 12345, SEEK_HOLE, &res), 0);
	assert_int_equal(res, 12345);
	assert_int_equal(fileio_lseek(f, at, SEEK_HOLE, &res), 0);
	assert_int_equal(res, at + 5);
	assert_int_equal(fileio_lseek(f, at + 5, SEEK_DATA, &res), -ENXIO);
	t0 = now();
	assert_int_equal(fileio_verify(f, NULL, NULL), 0);
	assert_true(now() - t0 < 5.0);
	fileio_close(f);
	free(buf);
	free(zero);
}

/* A 5 GiB sparse file: a read deep inside the hole costs a few syscalls. */
static void test_sparse_5gib(void **state)
{
	const uint64_t at = 5ull << 30;
	uint8_t *buf = malloc(1 << 20), *zero = calloc(1, 1 << 20);
	char path[128];
	struct fileio *f = fcreate(path, GCM);
	double t0;

	(void)state;
	wr(f, "x", 1, 0);
	wr(f, "end", 3, at);
	t0 = now();
	for (int i = 0; i < 20; i++) {
		assert_int_equal(fileio_read(f, buf, 1 << 20, at / 2 + (uint64_t)i * 77777), 1 << 20);
		assert_memory_equal(buf, zero, 1 << 20);
	}
	assert_true(now() - t0 < 2.0);
	assert_int_equal(fileio_verify(f, NULL, NULL), 0);
	assert_true(now() - t0 < 10.0);
	fileio_close(f);
	free(buf);
	free(zero);
}

/* §5.3: the written block takes the gap before it, the next data block the rest. */
static void test_hole_split(void **state)
{
	uint8_t data[BS], want[10 * BS] = { 0 };
	char path[128];
	struct fileio *f = fcreate(path, GCM);
	uint64_t res;

	(void)state;
	rnd_state = 11;
	fill(data, BS);
	wr(f, data, BS, 0);
	memcpy(want, data, BS);
	wr(f, data, 100, 9 * BS);
	memcpy(want + 9 * BS, data, 100);
	assert_int_equal(raw_gap(path, 9), 8);
	assert_int_equal(fileio_lseek(f, 0, SEEK_HOLE, &res), 0);
	assert_int_equal(res, BS);
	assert_int_equal(fileio_lseek(f, BS, SEEK_DATA, &res), 0);
	assert_int_equal(res, 9 * BS);
	wr(f, data, BS, 4 * BS);
	memcpy(want + 4 * BS, data, BS);
	assert_int_equal(raw_gap(path, 4), 3);
	assert_int_equal(raw_gap(path, 9), 4);
	assert_int_equal(fileio_lseek(f, 4 * BS + 5, SEEK_HOLE, &res), 0);
	assert_int_equal(res, 5 * BS);
	assert_int_equal(fileio_lseek(f, 2 * BS, SEEK_DATA, &res), 0);
	assert_int_equal(res, 4 * BS);
	wr(f, data, 100, 5 * BS + 50);                 /* partial write into a hole */
	memcpy(want + 5 * BS + 50, data, 100);
	assert_int_equal(raw_gap(path, 5), 0);
	assert_int_equal(raw_gap(path, 9), 3);
	wr(f, data, BS, 8 * BS);
	memcpy(want + 8 * BS, data, BS);
	assert_int_equal(raw_gap(path, 8), 2);
	assert_int_equal(raw_gap(path, 9), 0);
	check_content(f, want, 9 * BS + 100);
	assert_int_equal(fileio_verify(f, NULL, NULL), 0);
	/* Truncating into a hole makes the hole's block the sealed final one. */
	assert_int_equal(fileio_truncate(f, 7 * BS - 10), 0);
	assert_int_equal(raw_gap(path, 6), 0);
	check_content(f, want, 7 * BS - 10);
	assert_int_equal(fileio_truncate(f, 2 * BS + 1), 0);
	assert_int_equal(raw_gap(path, 2), 1);
	check_content(f, want, 2 * BS + 1);
	assert_int_equal(fileio_verify(f, NULL, NULL), 0);
	fileio_close(f);
}

/* ---- tampering --------------------------------------------------------- */

#define TSIZE (6 * BS + 100)

static uint8_t tdata[TSIZE];

static void tamper_file(char *path)
{
	struct fileio *f = fcreate(path, GCM);

	rnd_state = 424242;
	fill(tdata, TSIZE);
	wr(f, tdata, TSIZE, 0);
	fileio_close(f);
}

static void expect_others_good(struct fileio *f, const uint64_t *bad, int nbad)
{
	for (uint64_t i = 0; i * BS < TSIZE; i++) {
		int skip = 0;

		for (int j = 0; j < nbad; j++)
			skip |= bad[j] == i;
		if (!skip)
			expect_good(f, i, tdata, TSIZE);
	}
}

static void test_tamper_bitflip(void **state)
{
	const uint64_t bad[] = { 2 };
	uint8_t c, span[3 * BS];
	char path[128];
	struct fileio *f;

	(void)state;
	tamper_file(path);
	raw_read(path, &c, 1, HDR + 2 * SLOT + 700);
	c ^= 0x04;
	raw_write(path, &c, 1, HDR + 2 * SLOT + 700);
	f = fopen_ok(path, 1);
	expect_bad(f, 2, "tag mismatch");
	expect_others_good(f, bad, 1);
	/* A read spanning the bad block fails as a whole, once. */
	hook_reset();
	assert_int_equal(fileio_read(f, span, 3 * BS, BS), -EIO);
	assert_int_equal(hk.count, 1);
	expect_verify(f, 1, 2, "tag mismatch");
	/* A partial overwrite must not launder the bad block. */
	hook_reset();
	assert_int_equal(fileio_write(f, "x", 1, 2 * BS + 5), -EIO);
	assert_int_equal(hk.count, 1);
	fileio_close(f);
}

static void test_tamper_swap(void **state)
{
	const uint64_t bad[] = { 1, 3 };
	uint8_t s1[SLOT], s3[SLOT];
	char path[128];
	struct fileio *f;

	(void)state;
	tamper_file(path);
	raw_read(path, s1, SLOT, HDR + 1 * SLOT);
	raw_read(path, s3, SLOT, HDR + 3 * SLOT);
	raw_write(path, s3, SLOT, HDR + 1 * SLOT);
	raw_write(path, s1, SLOT, HDR + 3 * SLOT);
	f = fopen_ok(path, 0);
	expect_bad(f, 1, "tag mismatch");
	expect_bad(f, 3, "tag mismatch");
	expect_others_good(f, bad, 2);
	expect_verify(f, 2, 1, "tag mismatch");
	fileio_close(f);
}

static void test_tamper_other_file(void **state)
{
	const uint64_t bad[] = { 2 };
	uint8_t s[SLOT];
	char path[128], other[128];
	struct fileio *f;

	(void)state;
	tamper_file(other);
	tamper_file(path);
	raw_read(other, s, SLOT, HDR + 2 * SLOT);
	raw_write(path, s, SLOT, HDR + 2 * SLOT);
	f = fopen_ok(path, 0);
	expect_bad(f, 2, "tag mismatch");
	expect_others_good(f, bad, 1);
	fileio_close(f);
}

static void test_tamper_zeroed_middle(void **state)
{
	const uint64_t bad[] = { 2 };
	uint8_t z[SLOT] = { 0 };
	char path[128];
	struct fileio *f;

	(void)state;
	tamper_file(path);
	raw_write(path, z, SLOT, HDR + 2 * SLOT);
	f = fopen_ok(path, 1);
	expect_bad(f, 2, "zeroed block");
	expect_others_good(f, bad, 1);
	expect_verify(f, 1, 2, "zeroed block");
	/* Overwriting it whole must not pass it off as a hole either. */
	hook_reset();
	assert_int_equal(fileio_write(f, tdata, BS, 2 * BS), -EIO);
	assert_int_equal(hk.blockno, 2);
	fileio_close(f);
}

/* Blocks 0 | holes 1..3 | 4 5 6(final): zeroing 4 or 5 is caught. */
static void test_tamper_zeroed_after_hole(void **state)
{
	uint8_t z[SLOT] = { 0 }, want[7 * BS] = { 0 }, data[3 * BS];
	char path[128];
	struct fileio *f;

	(void)state;
	rnd_state = 5;
	fill(data, sizeof(data));
	f = fcreate(path, GCM);
	wr(f, data, BS, 0);
	wr(f, data, 3 * BS - 50, 4 * BS);
	fileio_close(f);
	memcpy(want, data, BS);
	memcpy(want + 4 * BS, data, 3 * BS - 50);
	assert_int_equal(raw_gap(path, 4), 3);

	/* The data block that ends the hole: it, and the hole it vouched for, fail. */
	raw_write(path, z, SLOT, HDR + 4 * SLOT);
	f = fopen_ok(path, 0);
	expect_bad(f, 4, "zeroed block");
	expect_good(f, 0, want, sizeof(want) - 50);
	expect_good(f, 5, want, sizeof(want) - 50);
	expect_good(f, 6, want, sizeof(want) - 50);
	expect_verify(f, 4, 1, "zeroed block");
	fileio_close(f);

	/* The block after it: the legitimate hole still reads as zeros. */
	f = fcreate(path, GCM);
	wr(f, data, BS, 0);
	wr(f, data, 3 * BS - 50, 4 * BS);
	fileio_close(f);
	raw_write(path, z, SLOT, HDR + 5 * SLOT);
	f = fopen_ok(path, 0);
	expect_bad(f, 5, "zeroed block");
	for (uint64_t i = 0; i < 5; i++)
		expect_good(f, i, want, sizeof(want) - 50);
	expect_good(f, 6, want, sizeof(want) - 50);
	expect_verify(f, 1, 5, "zeroed block");
	fileio_close(f);
}

static void test_tamper_cut_block_boundary(void **state)
{
	const uint64_t bad[] = { 2, 3, 4, 5, 6 };
	char path[128];
	struct fileio *f;
	uint64_t size;

	(void)state;
	tamper_file(path);
	raw_truncate(path, HDR + 3 * SLOT);
	f = fopen_ok(path, 0);
	assert_int_equal(fileio_size(f, &size), 0);
	assert_int_equal(size, 3 * BS);
	expect_bad(f, 2, "truncated");
	expect_others_good(f, bad, 5);
	expect_verify(f, 1, 2, "truncated");
	fileio_close(f);

	/* Cut inside the next slot's nonce: same, plus a bad tail. */
	tamper_file(path);
	raw_truncate(path, HDR + 3 * SLOT + 20);
	f = fopen_ok(path, 0);
	expect_bad(f, 2, "truncated");
	expect_verify(f, 2, 2, "truncated");
	fileio_close(f);
}

static void test_tamper_cut_to_header(void **state)
{
	char path[128];
	struct fileio *f;
	uint8_t buf[10];

	(void)state;
	tamper_file(path);
	raw_truncate(path, HDR);
	f = fopen_ok(path, 1);
	expect_bad(f, 0, "truncated");
	expect_verify(f, 1, 0, "truncated");
	hook_reset();
	assert_int_equal(fileio_write(f, "a", 1, 0), -EIO);
	assert_int_equal(hk.count, 1);
	/* Truncating to zero is the owner's explicit way out. */
	assert_int_equal(fileio_truncate(f, 0), 0);
	assert_int_equal(fileio_read(f, buf, 10, 0), 0);
	wr(f, "abc", 3, 0);
	assert_int_equal(fileio_read(f, buf, 10, 0), 3);
	assert_memory_equal(buf, "abc", 3);
	fileio_close(f);
}

static void test_tamper_header(void **state)
{
	static const size_t offs[] = { 8, 20, 28, 33, 50, 100, 150, 175 };
	char path[128];
	struct fileio *f = NULL;
	uint8_t c;

	(void)state;
	for (size_t t = 0; t < sizeof(offs) / sizeof(offs[0]); t++) {
		tamper_file(path);
		raw_read(path, &c, 1, offs[t]);
		c ^= 0x01;
		raw_write(path, &c, 1, offs[t]);
		assert_int_equal(fopen_err(path, 0, &f), -EBADMSG);
		assert_null(f);
	}
	/* Shorter than a header: corrupt (§5.4). */
	raw_truncate(path, 100);
	assert_int_equal(fopen_err(path, 0, &f), -EIO);
}

/* ---- crash states (§5.5) ---------------------------------------------- */

/* Extension past a gap stopped after step (2): old final still LAST. */
static void test_crash_torn_extend(void **state)
{
	uint8_t data[2 * BS], want[6 * BS] = { 0 };
	struct format_header h;
	struct keys_file *fk;
	char path[128];
	struct fileio *f;

	(void)state;
	rnd_state = 17;
	fill(data, sizeof(data));
	f = fcreate(path, GCM);
	wr(f, data, BS + 500, 0);
	wr(f, data, 100, 5 * BS);
	fileio_close(f);
	memcpy(want, data, BS + 500);
	memcpy(want + 5 * BS, data, 100);
	fk = file_keys(path, &h);
	craft_slot(path, fk, 1, FORMAT_BLOCK_LAST, 0, want + BS, BS);
	f = fopen_ok(path, 1);
	check_content(f, want, 5 * BS + 100);
	expect_verify(f, 1, 1, "torn extend");
	/* Rewriting the torn block seals it properly again. */
	wr(f, want + BS, 10, BS);
	expect_verify(f, 0, 0, NULL);
	fileio_close(f);

	/* Stopped after step (1): the padded final block, still LAST, is the end. */
	f = fcreate(path, GCM);
	wr(f, want, BS + 500, 0);
	fileio_close(f);
	keys_file_free(fk);
	fk = file_keys(path, &h);
	craft_slot(path, fk, 1, FORMAT_BLOCK_LAST, 0, want + BS, BS);
	f = fopen_ok(path, 1);
	check_content(f, want, 2 * BS);
	expect_verify(f, 0, 0, NULL);
	fileio_close(f);
	keys_file_free(fk);
}

/* A final block sealed without LAST is never accepted (that is a cut). */
static void test_crash_final_without_last(void **state)
{
	struct format_header h;
	struct keys_file *fk;
	char path[128];
	struct fileio *f;

	(void)state;
	tamper_file(path);
	fk = file_keys(path, &h);
	craft_slot(path, fk, 6, 0, 0, tdata + 6 * BS, 100);
	f = fopen_ok(path, 0);
	expect_bad(f, 6, "truncated");
	fileio_close(f);
	keys_file_free(fk);
}

static void pending_file(char *path, uint64_t target, struct keys_file **fk,
			 struct format_header *h)
{
	tamper_file(path);
	*fk = file_keys(path, h);
	craft_header(path, *fk, h, FORMAT_HDR_HAS_DATA | FORMAT_HDR_TRUNC_PENDING, target);
}

/* TRUNC_PENDING, new final block not yet written: (2)–(4) redone at open. */
static void test_crash_trunc_pending_before_step2(void **state)
{
	const uint64_t target = 2 * BS + 10;
	struct format_header h;
	struct keys_file *fk;
	char path[128];
	struct fileio *f;

	(void)state;
	pending_file(path, target, &fk, &h);
	/* Read-only: nothing has changed yet, the old file is what it holds. */
	f = fopen_ok(path, 0);
	check_content(f, tdata, TSIZE);
	fileio_close(f);
	f = fopen_ok(path, 1);
	check_content(f, tdata, target);
	expect_verify(f, 0, 0, NULL);
	fileio_close(f);
	assert_int_equal(backing(path), block_backing_size(GCM, target));
	assert_int_equal(header_flags(path), FORMAT_HDR_HAS_DATA);
	keys_file_free(fk);

	/* The same with the new final block inside a hole of the old file. */
	{
		uint8_t want[8 * BS] = { 0 };

		f = fcreate(path, GCM);
		wr(f, tdata, 100, 0);
		wr(f, tdata, 100, 7 * BS);
		fileio_close(f);
		memcpy(want, tdata, 100);
		fk = file_keys(path, &h);
		craft_header(path, fk, &h, FORMAT_HDR_HAS_DATA | FORMAT_HDR_TRUNC_PENDING, 4 * BS + 7);
		f = fopen_ok(path, 1);
		check_content(f, want, 4 * BS + 7);
		expect_verify(f, 0, 0, NULL);
		assert_int_equal(raw_gap(path, 4), 3);
		fileio_close(f);
		keys_file_free(fk);
	}
}

/* TRUNC_PENDING with the new final block already sealed at its slot. */
static void test_crash_trunc_pending_after_step2(void **state)
{
	const uint64_t target = 2 * BS + 10;
	struct format_header h;
	struct keys_file *fk;
	char path[128];
	struct fileio *f;

	(void)state;
	pending_file(path, target, &fk, &h);
	craft_slot(path, fk, 2, FORMAT_BLOCK_LAST, 0, tdata + 2 * BS, 10);
	/* Read-only: the new size is already what the file says. */
	f = fopen_ok(path, 0);
	check_content(f, tdata, target);
	fileio_close(f);
	assert_int_equal(backing(path), HDR + 6 * SLOT + 132);
	f = fopen_ok(path, 1);
	check_content(f, tdata, target);
	expect_verify(f, 0, 0, NULL);
	fileio_close(f);
	assert_int_equal(backing(path), block_backing_size(GCM, target));
	assert_int_equal(header_flags(path), FORMAT_HDR_HAS_DATA);

	/* After step (3) too: only the header remains. */
	craft_header(path, fk, &h, FORMAT_HDR_HAS_DATA | FORMAT_HDR_TRUNC_PENDING, target);
	f = fopen_ok(path, 1);
	check_content(f, tdata, target);
	fileio_close(f);
	assert_int_equal(header_flags(path), FORMAT_HDR_HAS_DATA);
	keys_file_free(fk);
}

/* Truncate to zero stopped after step (1): blocks intact, HAS_DATA restored. */
static void test_crash_trunc_zero_step1(void **state)
{
	struct format_header h;
	struct keys_file *fk;
	char path[128];
	struct fileio *f;

	(void)state;
	tamper_file(path);
	fk = file_keys(path, &h);
	craft_header(path, fk, &h, 0, 0);
	f = fopen_ok(path, 1);
	check_content(f, tdata, TSIZE);
	fileio_close(f);
	assert_int_equal(header_flags(path), FORMAT_HDR_HAS_DATA);
	keys_file_free(fk);
}

/* ---- XTS specifics ----------------------------------------------------- */

static void test_xts_zero_slot(void **state)
{
	uint8_t data[3 * BS + 7], want[3 * BS + 7], z[BS] = { 0 }, raw[3 * BS + 7];
	char path[128];
	struct fileio *f;
	uint64_t size, res;

	(void)state;
	rnd_state = 23;
	fill(data, sizeof(data));
	f = fcreate(path, XTS);
	wr(f, data, sizeof(data), 0);
	assert_int_equal(fileio_size(f, &size), 0);
	assert_int_equal(size, sizeof(data));
	fileio_close(f);
	assert_int_equal(backing(path), HDR + sizeof(data));
	raw_read(path, raw, sizeof(raw), HDR);
	assert_memory_not_equal(raw, data, sizeof(data));
	raw_write(path, z, BS, HDR + BS);
	memcpy(want, data, sizeof(data));
	memset(want + BS, 0, BS);
	f = fopen_ok(path, 0);
	check_content(f, want, sizeof(want));
	assert_int_equal(fileio_lseek(f, 10, SEEK_HOLE, &res), 0);
	assert_int_equal(res, sizeof(want));     /* zeros written in place: no backing hole */
	assert_int_equal(fileio_verify(f, NULL, NULL), 0);
	fileio_close(f);
}

static int setup(void **state)
{
	(void)state;
	kv = tv_setup("fileio", dir, sizeof(dir));
	hook_set_integrity(hook_rec, NULL);
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
		cmocka_unit_test(test_roundtrip_gcm),
		cmocka_unit_test(test_roundtrip_xts),
		cmocka_unit_test(test_xts_zero_tail),
		cmocka_unit_test(test_append_pieces),
		cmocka_unit_test(test_model_gcm),
		cmocka_unit_test(test_model_xts),
		cmocka_unit_test(test_model_big_writes),
		cmocka_unit_test(test_truncate_gcm),
		cmocka_unit_test(test_truncate_xts),
		cmocka_unit_test(test_fallocate),
		cmocka_unit_test(test_sparse_100mib),
		cmocka_unit_test(test_sparse_5gib),
		cmocka_unit_test(test_hole_split),
		cmocka_unit_test(test_tamper_bitflip),
		cmocka_unit_test(test_tamper_swap),
		cmocka_unit_test(test_tamper_other_file),
		cmocka_unit_test(test_tamper_zeroed_middle),
		cmocka_unit_test(test_tamper_zeroed_after_hole),
		cmocka_unit_test(test_tamper_cut_block_boundary),
		cmocka_unit_test(test_tamper_cut_to_header),
		cmocka_unit_test(test_tamper_header),
		cmocka_unit_test(test_crash_torn_extend),
		cmocka_unit_test(test_crash_final_without_last),
		cmocka_unit_test(test_crash_trunc_pending_before_step2),
		cmocka_unit_test(test_crash_trunc_pending_after_step2),
		cmocka_unit_test(test_crash_trunc_zero_step1),
		cmocka_unit_test(test_xts_zero_slot),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);

	cipher_thread_cleanup();
	return rc;
}
