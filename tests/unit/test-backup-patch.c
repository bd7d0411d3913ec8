/*
 * test-backup-patch.c: patches (docs/BACKUP_FORMAT.md §6.3) — the strict
 * parse of a tree entry's "pa" (tools/phifs-backup/repo_patch.c) and the
 * reading plan of §7.1 that makes them (repo_chgplan.c): written slots of a
 * chunk become patches over the parent's chunk, runs of adjacent slots one
 * patch, a write over an earlier patch replaces it whole, a short last
 * slot gives a short patch, and past 16 patches or 1/4 of a chunk the chunk
 * is read whole (rebase) and loses its patches.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include "testutil.h"
#include "format.h"
#include "repo_chgplan.h"
#include "repo_chunk.h"
#include "repo_index.h"
#include "repo_patch.h"
#include "repo_util.h"

#define SLOT FORMAT_GCM_SLOT_LEN
#define K 254                                   /* slots per 1 MiB chunk */
#define CMAX 1048576u
#define NCHUNK 4                                /* data chunks of the test file */
#define OFF(s) ((uint64_t)FORMAT_HEADER_LEN + (uint64_t)(s) * SLOT)

static const char *ID_HEX = "00112233445566778899aabbccddeeff";

/* A blob id made from a number, entered in the index. */
static void blob(struct repo_index *ix, unsigned n, uint8_t id[32])
{
	struct repo_loc l = { .type = 1 };

	memset(id, 0, 32);
	id[0] = 0xa5;
	id[1] = (uint8_t)n;
	id[2] = (uint8_t)(n >> 8);
	memcpy(l.id, id, 32);
	assert_int_equal(repo_index_add_pending(ix, &l), 0);
}

/* The parent's entry for a file of sz bytes: its §6.1 cut, indexed, read at
 * generation 5 of lineage ID_HEX, with npa patches pa (ids filled here). */
static struct json_object *parent(struct repo_index *ix, uint64_t sz, struct repo_patch *pa,
				  size_t npa)
{
	struct json_object *e = json_object_new_object(), *c = json_object_new_array();
	uint64_t off = 0, len;
	uint8_t id[32];
	char hex[65];
	unsigned n = 0;

	while ((len = repo_chunk_len(off, sz, SLOT, CMAX)) > 0) {
		blob(ix, n++, id);
		repo_hex(id, 32, hex);
		json_object_array_add(c, json_object_new_string(hex));
		off += len;
	}
	json_object_object_add(e, "t", json_object_new_string("f"));
	json_object_object_add(e, "sz", json_object_new_int64((int64_t)sz));
	json_object_object_add(e, "c", c);
	json_object_object_add(e, "cl", json_object_new_string(ID_HEX));
	json_object_object_add(e, "cg", json_object_new_int64(5));
	for (size_t i = 0; i < npa; i++)
		blob(ix, 1000 + (unsigned)i, pa[i].id);
	if (npa)
		json_object_object_add(e, "pa", repo_patch_json(pa, npa));
	return e;
}

/* A trusted record: generation 6 wrote blocks blk[0..n) (pairs first, last)
 * of a file of at most 4096 blocks. */
static void record(struct chgplan_rec *r, const uint64_t (*blk)[2], size_t n)
{
	size_t len;
	uint8_t *id = tu_hex(ID_HEX, &len);

	memset(r, 0, sizeof(*r));
	r->trusted = 1;
	memcpy(r->rec.id, id, CHGLOG_ID_LEN);
	free(id);
	r->rec.gen = 6;
	r->rec.nepoch = 1;
	r->rec.ep[0].since = 5;
	for (size_t i = 0; i < n; i++)
		chglog_bits_mark(&r->rec.ep[0].bits, blk[i][0], blk[i][1]);
	r->rec.ep[0].bits.nreg = 4096;          /* covers the file: the rest is unwritten */
}

struct fixture {
	struct repo_index *ix;
	struct chgplan_rec rec;
	struct chgplan pl;
	struct json_object *p;
	struct stat st;
};

static int plan(struct fixture *f, uint64_t sz, struct repo_patch *pa, size_t npa,
		const uint64_t (*blk)[2], size_t nblk, int patches)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(repo_index_new(&f->ix), 0);
	f->p = parent(f->ix, sz, pa, npa);
	record(&f->rec, blk, nblk);
	f->st.st_size = (off_t)sz;
	return chgplan_make(f->p, &f->rec, &f->st, SLOT, CMAX, f->ix, patches, &f->pl);
}

static void done(struct fixture *f)
{
	chgplan_free(&f->pl);
	json_object_put(f->p);
	repo_index_free(f->ix);
}

static const uint64_t SZ = OFF(NCHUNK * K);     /* 4 whole chunks */

static void test_scattered_slots(void **state)
{
	/* chunk 1 = slots 0..253: 3, 10..12 (one run); chunk 3: 600 */
	const uint64_t blk[][2] = { { 3, 3 }, { 10, 12 }, { 600, 600 } };
	struct fixture f;

	(void)state;
	assert_int_equal(plan(&f, SZ, NULL, 0, blk, 3, 1), 0);
	assert_int_equal(f.pl.n, NCHUNK + 1);
	assert_true(f.pl.reuse[1] && f.pl.reuse[2] && f.pl.reuse[3] && f.pl.reuse[4]);
	assert_false(f.pl.reuse[0]);                        /* the header: always read */
	assert_int_equal(f.pl.npa, 3);
	assert_int_equal(f.pl.pa[0].off, OFF(3));
	assert_int_equal(f.pl.pa[0].len, SLOT);
	assert_int_equal(f.pl.pa[1].off, OFF(10));
	assert_int_equal(f.pl.pa[1].len, 3 * SLOT);
	assert_int_equal(f.pl.pa[2].off, OFF(600));
	for (size_t i = 0; i < 3; i++)
		assert_true(f.pl.fresh[i]);
	done(&f);
}

static void test_without_patches(void **state)
{
	const uint64_t blk[][2] = { { 3, 3 } };
	struct fixture f;

	(void)state;
	assert_int_equal(plan(&f, SZ, NULL, 0, blk, 1, 0), 0);
	assert_false(f.pl.reuse[1]);                        /* read whole */
	assert_true(f.pl.reuse[2]);
	assert_int_equal(f.pl.npa, 0);
	done(&f);
}

/* An old patch over slots 20..22 and one at 40; a write to 21: the first is
 * replaced by a fresh patch of all three slots, the other kept, in order. */
static void test_write_over_patch(void **state)
{
	struct repo_patch old[2] = { { .off = OFF(20), .len = 3 * SLOT }, { .off = OFF(40), .len = SLOT } };
	const uint64_t blk[][2] = { { 21, 21 }, { 50, 50 } };
	struct fixture f;

	(void)state;
	assert_int_equal(plan(&f, SZ, old, 2, blk, 2, 1), 0);
	assert_true(f.pl.reuse[1]);
	assert_int_equal(f.pl.npa, 3);
	assert_int_equal(f.pl.pa[0].off, OFF(20));
	assert_int_equal(f.pl.pa[0].len, 3 * SLOT);
	assert_true(f.pl.fresh[0]);
	assert_int_equal(f.pl.pa[1].off, OFF(40));
	assert_false(f.pl.fresh[1]);
	assert_memory_equal(f.pl.pa[1].id, old[1].id, 32);
	assert_int_equal(f.pl.pa[2].off, OFF(50));
	assert_true(f.pl.fresh[2]);
	done(&f);
}

/* 16 patches in chunk 2 already, one more written: rebase; chunk 1's stay. */
static void test_rebase_by_count(void **state)
{
	struct repo_patch old[17];
	const uint64_t blk[][2] = { { K + 200, K + 200 } };
	struct fixture f;

	(void)state;
	old[0] = (struct repo_patch){ .off = OFF(5), .len = SLOT };
	for (size_t i = 0; i < 16; i++)
		old[i + 1] = (struct repo_patch){ .off = OFF(K + 2 * i), .len = SLOT };
	assert_int_equal(plan(&f, SZ, old, 17, blk, 1, 1), 0);
	assert_true(f.pl.reuse[1]);
	assert_false(f.pl.reuse[2]);
	assert_int_equal(f.pl.npa, 1);
	assert_int_equal(f.pl.pa[0].off, OFF(5));
	assert_false(f.pl.fresh[0]);
	done(&f);
}

/* More than 1/4 of a chunk's slots (63 of 254) patched: rebase; exactly 63 is not. */
static void test_rebase_by_size(void **state)
{
	const uint64_t many[][2] = { { 0, K / CHGPLAN_REBASE_DIV } };        /* 64 slots */
	const uint64_t just[][2] = { { 0, K / CHGPLAN_REBASE_DIV - 1 } };    /* 63 */
	struct fixture f;

	(void)state;
	assert_int_equal(plan(&f, SZ, NULL, 0, many, 1, 1), 0);
	assert_false(f.pl.reuse[1]);
	assert_int_equal(f.pl.npa, 0);
	done(&f);
	assert_int_equal(plan(&f, SZ, NULL, 0, just, 1, 1), 0);
	assert_true(f.pl.reuse[1]);
	assert_int_equal(f.pl.npa, 1);
	assert_int_equal(f.pl.pa[0].len, (K / CHGPLAN_REBASE_DIV) * SLOT);
	done(&f);
}

/* A file ending in a short slot: a write there gives a short patch. */
static void test_short_last_slot(void **state)
{
	uint64_t sz = OFF(K + 10) + 100;                    /* chunk 2: 10 slots + 100 bytes */
	const uint64_t blk[][2] = { { K + 10, K + 10 } };
	struct fixture f;

	(void)state;
	assert_int_equal(plan(&f, sz, NULL, 0, blk, 1, 1), 0);
	assert_true(f.pl.reuse[2]);
	assert_int_equal(f.pl.npa, 1);
	assert_int_equal(f.pl.pa[0].off, OFF(K + 10));
	assert_int_equal(f.pl.pa[0].len, 100);
	done(&f);
}

/* The file grew: the old last chunk's range changed, so it is read whole
 * and its patch dropped; the untouched chunk keeps its patch. */
static void test_grown_file(void **state)
{
	uint64_t sz = OFF(K + 10);
	struct repo_patch old[2] = { { .off = OFF(7), .len = SLOT }, { .off = OFF(K + 2), .len = SLOT } };
	struct fixture f;

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_int_equal(repo_index_new(&f.ix), 0);
	f.p = parent(f.ix, sz, old, 2);
	record(&f.rec, (const uint64_t[][2]){ { K + 12, K + 12 } }, 1);
	f.st.st_size = (off_t)OFF(K + 20);
	assert_int_equal(chgplan_make(f.p, &f.rec, &f.st, SLOT, CMAX, f.ix, 1, &f.pl), 0);
	assert_true(f.pl.reuse[1]);
	assert_false(f.pl.reuse[2]);
	assert_int_equal(f.pl.npa, 1);
	assert_int_equal(f.pl.pa[0].off, OFF(7));
	done(&f);
}

/* A parent patch that is not slot-aligned or crosses chunks: no plan. */
static void test_bad_parent_patch(void **state)
{
	struct repo_patch bad[1] = { { .off = OFF(K - 1), .len = 2 * SLOT } };
	struct repo_patch odd[1] = { { .off = OFF(3) + 1, .len = SLOT } };
	const uint64_t blk[][2] = { { 1, 1 } };
	struct fixture f;

	(void)state;
	assert_int_equal(plan(&f, SZ, bad, 1, blk, 1, 1), -ESTALE);
	done(&f);
	assert_int_equal(plan(&f, SZ, odd, 1, blk, 1, 1), -ESTALE);
	done(&f);
}

static struct json_object *entry_with(const char *pa)
{
	char text[512];
	struct json_object *e;

	snprintf(text, sizeof(text), "{\"sz\":100000,\"c\":[\"%064d\"],\"pa\":%s}", 1, pa);
	e = json_tokener_parse(text);
	assert_non_null(e);
	return e;
}

static int count_blob(void *arg, const uint8_t id[32])
{
	(void)id;
	++*(int *)arg;
	return 0;
}

#define H "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""

static void test_parse(void **state)
{
	static const char *bad[] = {
		"[]", "{}", "[[0,10]]", "[[-1,10," H "]]", "[[0,0," H "]]",
		"[[0,10," H "],[5,10," H "]]",              /* overlapping */
		"[[20,10," H "],[0,10," H "]]",             /* unsorted */
		"[[99995,10," H "]]",                       /* past sz */
		"[[0,10,\"zz\"]]",
	};
	struct repo_patch *v;
	struct json_object *e;
	size_t n;
	int cnt = 0;

	(void)state;
	e = entry_with("[[0,10," H "],[10,5," H "]]");
	assert_int_equal(repo_patch_parse(e, 100000, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[1].off, 10);
	assert_int_equal(v[1].len, 5);
	assert_int_equal(v[1].id[0], 0xaa);
	free(v);
	assert_int_equal(repo_patch_each_blob(e, count_blob, &cnt), 0);
	assert_int_equal(cnt, 3);
	json_object_put(e);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		e = entry_with(bad[i]);
		assert_int_equal(repo_patch_parse(e, 100000, &v, &n), -EBADMSG);
		json_object_put(e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scattered_slots),
		cmocka_unit_test(test_without_patches),
		cmocka_unit_test(test_write_over_patch),
		cmocka_unit_test(test_rebase_by_count),
		cmocka_unit_test(test_rebase_by_size),
		cmocka_unit_test(test_short_last_slot),
		cmocka_unit_test(test_grown_file),
		cmocka_unit_test(test_bad_parent_patch),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
