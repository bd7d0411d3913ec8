/*
 * test-audit-io.c: fs/audit_io.c — per-handle range merging: sequential,
 * overlapping, touching, out-of-order and disjoint calls; the cap joins the
 * closest ranges (a superset, never less); counts and bytes.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "audit_io.h"

static void expect_ranges(const struct audit_io_dir *d, unsigned n, ...)
{
	va_list ap;

	assert_int_equal(d->n, n);
	va_start(ap, n);
	for (unsigned i = 0; i < n; i++) {
		uint64_t off = va_arg(ap, uint64_t), len = va_arg(ap, uint64_t);

		assert_int_equal(d->r[i][0], off);
		assert_int_equal(d->r[i][1], len);
	}
	va_end(ap);
}

static void test_sequential(void **state)
{
	struct audit_io_dir d = { 0 };

	(void)state;
	for (uint64_t off = 0; off < 1 << 20; off += 4096)
		audit_io_add(&d, off, 4096);
	assert_int_equal(d.ops, 256);
	assert_int_equal(d.bytes, 1 << 20);
	expect_ranges(&d, 1, (uint64_t)0, (uint64_t)(1 << 20));
}

static void test_disjoint_sorted(void **state)
{
	struct audit_io_dir d = { 0 };

	(void)state;
	audit_io_add(&d, 100, 10);
	audit_io_add(&d, 0, 10);
	audit_io_add(&d, 50, 10);
	expect_ranges(&d, 3, (uint64_t)0, (uint64_t)10, (uint64_t)50, (uint64_t)10,
		      (uint64_t)100, (uint64_t)10);
}

static void test_merge_overlap_and_touch(void **state)
{
	struct audit_io_dir d = { 0 };

	(void)state;
	audit_io_add(&d, 0, 10);
	audit_io_add(&d, 20, 10);
	audit_io_add(&d, 40, 10);
	audit_io_add(&d, 10, 10);        /* touches both neighbours: 0..30 */
	expect_ranges(&d, 2, (uint64_t)0, (uint64_t)30, (uint64_t)40, (uint64_t)10);
	audit_io_add(&d, 25, 100);       /* overlaps 0..30 and swallows 40..50 */
	expect_ranges(&d, 1, (uint64_t)0, (uint64_t)125);
	audit_io_add(&d, 5, 5);          /* inside: nothing changes but counts */
	expect_ranges(&d, 1, (uint64_t)0, (uint64_t)125);
	assert_int_equal(d.ops, 6);
	assert_int_equal(d.bytes, 10 + 10 + 10 + 10 + 100 + 5);
}

static void test_zero_length(void **state)
{
	struct audit_io_dir d = { 0 };

	(void)state;
	audit_io_add(&d, 1000, 0);       /* a read at EOF */
	assert_int_equal(d.ops, 1);
	assert_int_equal(d.n, 0);
}

static void test_cap_joins_closest(void **state)
{
	struct audit_io_dir d = { 0 };

	(void)state;
	/* AUDIT_IO_RANGES ranges 1000 apart, then one 10 bytes after the first. */
	for (unsigned i = 0; i < AUDIT_IO_RANGES; i++)
		audit_io_add(&d, (uint64_t)i * 1000, 1);
	assert_int_equal(d.n, AUDIT_IO_RANGES);
	audit_io_add(&d, 11, 1);
	assert_int_equal(d.n, AUDIT_IO_RANGES);
	/* 0..1 and 11..12 were the closest: joined into 0..12, never dropped. */
	assert_int_equal(d.r[0][0], 0);
	assert_int_equal(d.r[0][1], 12);
	assert_int_equal(d.r[1][0], 1000);
	assert_int_equal(d.r[AUDIT_IO_RANGES - 1][0], (uint64_t)(AUDIT_IO_RANGES - 1) * 1000);
	for (unsigned i = 0; i + 1 < d.n; i++)
		assert_true(d.r[i][0] + d.r[i][1] < d.r[i + 1][0]);
}

static void test_note_times_and_reset(void **state)
{
	struct audit_io io = { 0 };
	struct timespec t1 = { 10, 0 }, t2 = { 20, 0 };

	(void)state;
	assert_true(audit_io_empty(&io));
	audit_io_note(&io, 0, 0, 100, &t1);
	audit_io_note(&io, 1, 50, 10, &t2);
	assert_false(audit_io_empty(&io));
	assert_int_equal(io.first.tv_sec, 10);
	assert_int_equal(io.last.tv_sec, 20);
	assert_int_equal(io.rd.bytes, 100);
	assert_int_equal(io.wr.bytes, 10);
	audit_io_reset(&io);
	assert_true(audit_io_empty(&io));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequential),
		cmocka_unit_test(test_disjoint_sorted),
		cmocka_unit_test(test_merge_overlap_and_touch),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_cap_joins_closest),
		cmocka_unit_test(test_note_times_and_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
