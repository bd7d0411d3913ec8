/*
 * test-writebehind.c: fs/writebehind.c — a sequential stream (in order, or
 * with neighbouring requests swapped as concurrent FUSE threads deliver them)
 * is pushed window by window with no gap and no overlap, never closer than
 * WB_LAG to its front; random writes push nothing; a writer that seeks back
 * starts a new stream; pushed ranges are whole blocks.
 */
#include "config.h"
#include <string.h>
#include "testutil.h"
#include "writebehind.h"

#define MIB (1ull << 20)
#define BS 4096ull

/* Feeds writes of `len` at offs[0..n) and checks what gets pushed: the
 * pushed ranges must be contiguous from `start`; returns the pushed end. */
static uint64_t feed(struct wb_state *s, const uint64_t *offs, size_t n, uint64_t len,
		     uint64_t start, int *pushes)
{
	uint64_t covered = start, front = 0;

	*pushes = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t from, to;

		if (offs[i] + len > front)
			front = offs[i] + len;
		if (!wb_step(s, offs[i], offs[i] + len, BS, &from, &to))
			continue;
		(*pushes)++;
		assert_int_equal(from, covered);        /* no gap, no overlap */
		assert_true(to > from);
		assert_true(to + WB_LAG <= front);       /* never at the front */
		assert_int_equal(from % BS, 0);
		assert_int_equal(to % BS, 0);
		covered = to;
	}
	return covered;
}

static void test_in_order_stream(void **state)
{
	struct wb_state s;
	uint64_t offs[256];
	int pushes;

	(void)state;
	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < 256; i++)
		offs[i] = i * MIB;
	/* 256 MiB: everything up to the lag behind the front is pushed. */
	assert_true(feed(&s, offs, 256, MIB, 0, &pushes) + WB_LAG + WB_WINDOW >= 256 * MIB);
	assert_true(pushes >= (int)((256 * MIB - WB_LAG) / (WB_WINDOW + MIB)));
}

static void test_swapped_neighbours_stream(void **state)
{
	struct wb_state s;
	uint64_t offs[256];
	int pushes;

	(void)state;
	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < 256; i += 2) {  /* 1, 0, 3, 2, ... */
		offs[i] = (i + 1) * MIB;
		offs[i + 1] = i * MIB;
	}
	assert_true(feed(&s, offs, 256, MIB, 0, &pushes) + WB_LAG + WB_WINDOW >= 256 * MIB);
	assert_true(pushes > 10);
}

static void test_small_appends_stream(void **state)
{
	struct wb_state s;
	static uint64_t offs[8192];
	int pushes;

	(void)state;
	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < 8192; i++)       /* a logger: 4 KiB appends, 32 MiB */
		offs[i] = i * BS;
	(void)feed(&s, offs, 8192, BS, 0, &pushes);
	assert_true(pushes >= 2);
}

static void test_random_writes_push_nothing(void **state)
{
	struct wb_state s;
	uint64_t offs[4096], x = 88172645463325252ull;
	int pushes;

	(void)state;
	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < 4096; i++) {     /* xorshift over a 64 GiB file */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		offs[i] = (x % (64ull << 30)) / BS * BS;
	}
	(void)feed(&s, offs, 4096, BS, 0, &pushes);
	assert_int_equal(pushes, 0);
	(void)feed(&s, offs, 4096, MIB, 0, &pushes);     /* large random writes too */
	assert_int_equal(pushes, 0);
}

/* Requests run out of order: a FUSE thread that stalls delivers its request
 * up to 24 MiB behind the front, as strace showed on a 1 GiB dd. */
static void test_laggards_stream(void **state)
{
	struct wb_state s;
	uint64_t offs[512], x = 2463534242ull;
	int pushes;

	(void)state;
	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < 512; i++)
		offs[i] = i * MIB;
	for (size_t i = 0; i + 25 < 512; i += 7) {  /* request i arrives up to 24 later */
		uint64_t t = offs[i];
		size_t d;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		d = 1 + (size_t)(x % 24);
		memmove(&offs[i], &offs[i + 1], d * sizeof(offs[0]));
		offs[i + d] = t;
	}
	(void)feed(&s, offs, 512, MIB, 0, &pushes);
	assert_true(pushes >= (int)(400 * MIB / (WB_WINDOW + MIB)));
}

/* Random 4 KiB writes inside a 64 MiB file (a database): most writes
 * "continue" the stream, but it never fills a window, so nothing is pushed.
 * Several seeds, one starting with an append run from 0 as a load would. */
static void test_scattered_small_file_pushes_nothing(void **state)
{
	static uint64_t offs[20000];
	uint64_t x = 88172645463325252ull;

	(void)state;
	for (int seed = 0; seed < 8; seed++) {
		struct wb_state s;
		int pushes;

		memset(&s, 0, sizeof(s));
		for (size_t i = 0; i < 20000; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			offs[i] = i < 64 && seed == 0 ? i * BS : (x % (64 * MIB)) / BS * BS;
		}
		(void)feed(&s, offs, 20000, BS, 0, &pushes);
		assert_int_equal(pushes, 0);
	}
}

static void test_seek_back_starts_over(void **state)
{
	struct wb_state s;
	uint64_t offs[64];
	int pushes;

	(void)state;
	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < 64; i++)
		offs[i] = (1024 + i) * MIB;             /* a stream at 1 GiB */
	assert_true(feed(&s, offs, 64, MIB, 1024 * MIB, &pushes) > 1024 * MIB);
	for (size_t i = 0; i < 64; i++)
		offs[i] = i * MIB + 100;                /* then again from the start, unaligned */
	(void)feed(&s, offs, 64, MIB, 0, &pushes);    /* pushes start at block 0 again */
	assert_true(pushes > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_stream),
		cmocka_unit_test(test_swapped_neighbours_stream),
		cmocka_unit_test(test_small_appends_stream),
		cmocka_unit_test(test_random_writes_push_nothing),
		cmocka_unit_test(test_laggards_stream),
		cmocka_unit_test(test_scattered_small_file_pushes_nothing),
		cmocka_unit_test(test_seek_back_starts_over),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
