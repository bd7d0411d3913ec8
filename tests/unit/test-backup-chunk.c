/*
 * test-backup-chunk.c: the chunking rule of docs/BACKUP_FORMAT.md §6.1
 * (tools/phifs-backup/repo_chunk.c) — header alone, then whole slots, so a
 * change in one GCM block moves exactly one chunk — and the retention policy
 * of §10.3 (repo_policy.c): days, ISO weeks, months, years, within, floor.
 */
#include "config.h"
#include <stdio.h>
#include "testutil.h"
#include "format.h"
#include "repo_chunk.h"
#include "repo_policy.h"

#define MIB 1048576u

/* Every cut of a file of `size` bytes, as (offset, length) pairs in order. */
static size_t cuts(uint64_t size, uint32_t slot, uint64_t *off, uint64_t *len, size_t cap)
{
	uint64_t o = 0, l;
	size_t n = 0;

	while ((l = repo_chunk_len(o, size, slot, MIB)) > 0 && n < cap) {
		off[n] = o;
		len[n++] = l;
		o += l;
	}
	return n;
}

static void test_slots(void **state)
{
	(void)state;
	assert_int_equal(repo_chunk_slot(FORMAT_CIPHER_GCM), 4128);
	assert_int_equal(repo_chunk_slot(FORMAT_CIPHER_XTS), 4096);
	assert_int_equal(repo_chunk_slot(0), 4096);
}

static void test_header_alone(void **state)
{
	uint64_t off[8], len[8];

	(void)state;
	assert_int_equal(cuts(0, 4128, off, len, 8), 0);
	assert_int_equal(cuts(100, 4128, off, len, 8), 1);
	assert_int_equal(len[0], 100);
	assert_int_equal(cuts(176, 4128, off, len, 8), 1);
	assert_int_equal(len[0], 176);
	assert_int_equal(cuts(176 + 33, 4128, off, len, 8), 2);
	assert_int_equal(off[1], 176);
	assert_int_equal(len[1], 33);
}

static void test_whole_slots(void **state)
{
	uint64_t off[64], len[64], size = 176 + 1000ull * 4128 + 100;  /* 1000 slots and a tail */
	size_t n;

	(void)state;
	n = cuts(size, 4128, off, len, 64);
	/* 254 slots per chunk under 1 MiB: 1048512 bytes */
	assert_int_equal(len[1], 254 * 4128);
	assert_true(len[1] <= MIB);
	for (size_t i = 1; i < n; i++) {
		assert_int_equal((off[i] - 176) % 4128, 0);       /* starts on a slot */
		if (i + 1 < n)
			assert_int_equal(len[i] % 4128, 0);       /* whole slots */
	}
	assert_int_equal(off[n - 1] + len[n - 1], size);
	assert_int_equal(n, 1 + 4);                  /* header, 3 × 254 slots, 238 slots + tail */
	/* XTS: 256 slots of 4096 = exactly 1 MiB */
	n = cuts(176 + 3 * MIB, 4096, off, len, 64);
	assert_int_equal(n, 4);
	assert_int_equal(len[1], MIB);
}

/* Cut points depend only on offsets: growing a file keeps earlier chunks. */
static void test_stable_prefix(void **state)
{
	uint64_t off1[64], len1[64], off2[64], len2[64];
	size_t n1, n2;

	(void)state;
	n1 = cuts(176 + 600 * 4128, 4128, off1, len1, 64);
	n2 = cuts(176 + 900 * 4128 + 7, 4128, off2, len2, 64);
	assert_true(n2 > n1);
	for (size_t i = 0; i + 1 < n1; i++) {
		assert_int_equal(off1[i], off2[i]);
		assert_int_equal(len1[i], len2[i]);
	}
}

#define DAY 86400

static void test_policy_daily_floor(void **state)
{
	int64_t t[10];
	unsigned keep[10];
	struct repo_policy p = { .daily = 2 };

	(void)state;
	for (int i = 0; i < 10; i++)
		t[i] = 1700000000 + i * DAY;            /* one a day, oldest first */
	repo_policy_apply(&p, t, 10, t[9], keep);
	for (int i = 0; i < 10; i++)
		assert_int_equal(!!keep[i], i >= 8);
	assert_true(keep[9] & REPO_KEEP_DAILY);
	p.floor = 5 * DAY;                          /* days 5..9 are younger than 5 days */
	repo_policy_apply(&p, t, 10, t[9], keep);
	for (int i = 0; i < 10; i++)
		assert_int_equal(!!keep[i], i >= 5);
	assert_true(keep[5] & REPO_KEEP_FLOOR);
	assert_false(keep[8] & REPO_KEEP_WITHIN);
}

static void test_policy_newest_per_period(void **state)
{
	/* two a day: daily keeps the newer of each day */
	int64_t t[6] = { 1700000000, 1700000100, 1700000000 + DAY, 1700000100 + DAY,
			 1700000000 + 2 * DAY, 1700000100 + 2 * DAY };
	unsigned keep[6];
	struct repo_policy p = { .daily = 3 };
	char why[64];

	(void)state;
	repo_policy_apply(&p, t, 6, t[5], keep);
	for (int i = 0; i < 6; i++)
		assert_int_equal(!!keep[i], i % 2 == 1);
	p = (struct repo_policy){ .within = DAY };
	repo_policy_apply(&p, t, 6, t[5], keep);
	for (int i = 0; i < 6; i++)
		assert_int_equal(!!keep[i], i >= 3);
	p = (struct repo_policy){ .yearly = 1, .monthly = 1, .weekly = 1 };
	repo_policy_apply(&p, t, 6, t[5], keep);
	assert_int_equal(keep[5], REPO_KEEP_WEEKLY | REPO_KEEP_MONTHLY | REPO_KEEP_YEARLY);
	for (int i = 0; i < 5; i++)
		assert_int_equal(keep[i], 0);
	repo_policy_reasons(keep[5], why, sizeof(why));
	assert_string_equal(why, "weekly,monthly,yearly");
}

/* ISO weeks: 2024-12-30 (Monday) is in week 1 of 2025, like 2025-01-05. */
static void test_policy_iso_week(void **state)
{
	int64_t t[3] = { 1735430400 /* 2024-12-29 Sun */, 1735516800 /* 2024-12-30 Mon */,
			 1736035200 /* 2025-01-05 Sun */ };
	unsigned keep[3];
	struct repo_policy p = { .weekly = 5 };

	(void)state;
	repo_policy_apply(&p, t, 3, t[2], keep);
	assert_true(keep[0]);
	assert_false(keep[1]);
	assert_true(keep[2]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_header_alone),
		cmocka_unit_test(test_whole_slots),
		cmocka_unit_test(test_stable_prefix),
		cmocka_unit_test(test_policy_daily_floor),
		cmocka_unit_test(test_policy_newest_per_period),
		cmocka_unit_test(test_policy_iso_week),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
