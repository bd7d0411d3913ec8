/*
 * test-chglog.c: fs/chglog_rec.c — the change record of docs/FORMAT.md §7.1:
 * encode/decode round trip and canonical bytes, the decoder's refusals, region
 * coarsening, and the property every backup relies on: for any generation a
 * reader saw, the regions the record reports since then include every region
 * really written since then, however epochs were merged.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include "testutil.h"
#include "chglog_rec.h"

static struct chglog_bits *bits_new(void)
{
	return calloc(1, sizeof(struct chglog_bits));
}

static void rec_sample(struct chglog_rec *r)
{
	struct chglog_bits *d = bits_new();

	memset(r, 0, sizeof(*r));
	memset(r->id, 0xab, sizeof(r->id));
	for (uint64_t g = 0; g < 3; g++) {
		memset(d, 0, sizeof(*d));
		chglog_bits_mark(d, 10 * g, 10 * g + 3);
		if (g == 2)
			chglog_bits_mark(d, 32, 32);
		chglog_rec_append(r, d, 1000 + g);
	}
	r->mtime_ns = 1700000000123456789;
	r->size = 33554608;
	r->stored_ns = 1700000000127456789;
	free(d);
}

static void test_roundtrip(void **state)
{
	struct chglog_rec *r = calloc(1, sizeof(*r)), *back = calloc(1, sizeof(*back));
	uint8_t buf[CHGLOG_REC_MAX], again[CHGLOG_REC_MAX];
	size_t len, len2;

	(void)state;
	rec_sample(r);
	assert_int_equal(r->gen, 3);
	assert_int_equal(r->nepoch, 3);
	assert_int_equal(chglog_rec_encode(r, buf, sizeof(buf), &len), 0);
	/* runs: (0,3) | (10,3) (18,0) | (20,3): two bytes each */
	assert_int_equal(len, CHGLOG_HDR_LEN + 3 * CHGLOG_EPOCH_HDR_LEN + 2 + 4 + 2);
	assert_memory_equal(buf, "PHCG\x01", 5);
	assert_int_equal(chglog_rec_decode(buf, len, back), 0);
	assert_int_equal(back->gen, 3);
	assert_int_equal(back->mtime_ns, r->mtime_ns);
	assert_int_equal(back->size, r->size);
	assert_int_equal(back->stored_ns, r->stored_ns);
	assert_memory_equal(back->id, r->id, CHGLOG_ID_LEN);
	assert_int_equal(chglog_rec_encode(back, again, sizeof(again), &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(again, buf, len);
	assert_int_equal(chglog_rec_encode(r, buf, len - 1, &len2), -ERANGE);
	free(r);
	free(back);
}

static void test_decode_rejects(void **state)
{
	struct chglog_rec *r = calloc(1, sizeof(*r)), *back = calloc(1, sizeof(*back));
	uint8_t buf[CHGLOG_REC_MAX], bad[CHGLOG_REC_MAX];
	size_t len;

	(void)state;
	rec_sample(r);
	assert_int_equal(chglog_rec_encode(r, buf, sizeof(buf), &len), 0);
#define REJECT(mutation) do { memcpy(bad, buf, len); mutation; \
	assert_int_equal(chglog_rec_decode(bad, len, back), -EBADMSG); } while (0)
	REJECT(bad[0] = 'X');                         /* magic */
	REJECT(bad[4] = 2);                           /* version */
	REJECT(bad[5] = 0x02);                        /* unknown flag */
	REJECT(bad[6] = CHGLOG_MAX_SHIFT + 1);        /* shift */
	REJECT(bad[7] = CHGLOG_EPOCHS + 1);           /* epochs */
	REJECT(bad[60] = 1);                          /* reserved */
	REJECT(bad[24] = 1);                          /* gen 1: epochs' since must stay below it */
	REJECT(bad[CHGLOG_HDR_LEN + 20] = 0);         /* epoch 1 since = 0 = epoch 0's: not increasing */
	REJECT(bad[56] = 30);                         /* epoch 1's run at region 32 is past nreg */
	REJECT(bad[CHGLOG_HDR_LEN + 40] = 0);         /* a run right after another: not maximal */
	REJECT(bad[CHGLOG_HDR_LEN + 36] = 200);       /* epoch 1's runs longer than the record */
	REJECT(bad[CHGLOG_HDR_LEN + 19] = 0x80);      /* epoch 0's varint left open */
	assert_int_equal(chglog_rec_decode(buf, len - 1, back), -EBADMSG);
	assert_int_equal(chglog_rec_decode(buf, 10, back), -EBADMSG);
	assert_int_equal(chglog_rec_decode(buf, len, back), 0);
#undef REJECT
	free(r);
	free(back);
}

static void test_bits(void **state)
{
	struct chglog_bits *b = bits_new(), *c = bits_new();

	(void)state;
	chglog_bits_mark(b, 5, 5);
	chglog_bits_mark(b, 9, 9);
	assert_int_equal(b->shift, 0);
	assert_int_equal(b->nreg, 10);
	assert_true(chglog_bits_any(b, 5, 5));
	assert_false(chglog_bits_any(b, 0, 4));
	assert_false(chglog_bits_any(b, 6, 8));
	assert_true(chglog_bits_any(b, 10, 10));              /* past nreg: may have changed */
	chglog_bits_mark(b, 1 << 21, (1 << 21) + 1);  /* 2^21 >> 5 = 65536 regions: 6 */
	assert_int_equal(b->shift, 6);
	assert_true(chglog_bits_any(b, 0, 63));       /* blocks 5 and 9 coarsened into region 0 */
	assert_false(chglog_bits_any(b, 64, (1 << 21) - 1));
	assert_true(chglog_bits_any(b, 1 << 21, 1 << 21));
	assert_true(chglog_bits_any(b, 1 << 30, 1 << 30));   /* past nreg: may have changed */
	assert_false(chglog_bits_any(b, 7, 3));               /* empty range */
	chglog_bits_mark(c, 64, 64);
	assert_false(chglog_bits_any(b, 64, 64));
	chglog_bits_or(c, b);
	assert_int_equal(c->shift, 6);
	assert_true(chglog_bits_any(c, 64, 64) && chglog_bits_any(c, 0, 0) &&
		    chglog_bits_any(c, (1 << 21) + 1, (1 << 21) + 1));
	free(b);
	free(c);
}

static void test_since(void **state)
{
	struct chglog_rec *r = calloc(1, sizeof(*r));
	struct chglog_bits *out = bits_new();

	(void)state;
	rec_sample(r);                      /* gen 1: 0-3, gen 2: 10-13, gen 3: 20-23 and 32 */
	assert_int_equal(chglog_rec_since(r, 0, out), 0);
	assert_true(chglog_bits_any(out, 0, 0) && chglog_bits_any(out, 13, 13) && chglog_bits_any(out, 23, 23));
	assert_int_equal(chglog_rec_since(r, 1, out), 0);
	assert_false(chglog_bits_any(out, 0, 3));
	assert_true(chglog_bits_any(out, 10, 10) && chglog_bits_any(out, 20, 20));
	assert_int_equal(chglog_rec_since(r, 3, out), 0);
	assert_false(chglog_bits_any(out, 0, 32));
	assert_int_equal(out->nreg, 33);
	assert_int_equal(chglog_rec_since(r, 4, out), -ESTALE);   /* ahead of the record */
	r->flags |= CHGLOG_F_WRITING;
	assert_int_equal(chglog_rec_since(r, 1, out), -ESTALE);
	free(r);
	free(out);
}

/* Random generations, merges by the epoch policy: the reported set always
 * covers the truth, and readers older than the oldest epoch are refused. */
static void test_cover_property(void **state)
{
	enum { GENS = 40, BLOCKS = 20000 };
	struct chglog_rec *r = calloc(1, sizeof(*r));
	struct chglog_bits *d = bits_new(), *out = bits_new();
	uint64_t (*wrote)[2] = calloc(GENS + 1, sizeof(*wrote));

	(void)state;
	srand(7);
	for (uint64_t g = 1; g <= GENS; g++) {
		uint64_t a = (uint64_t)rand() % BLOCKS, n = (uint64_t)rand() % 3;

		memset(d, 0, sizeof(*d));
		chglog_bits_mark(d, a, a + n);
		wrote[g][0] = a;
		wrote[g][1] = a + n;
		chglog_rec_append(r, d, 1000 + g * g);   /* growing gaps: merges are uneven */
		assert_true(r->nepoch <= CHGLOG_EPOCHS);
		for (uint64_t seen = 0; seen <= g; seen++) {
			int ret = chglog_rec_since(r, seen, out);

			if (seen < r->ep[0].since) {
				assert_int_equal(ret, -ESTALE);
				continue;
			}
			assert_int_equal(ret, 0);
			for (uint64_t k = seen + 1; k <= g; k++)
				assert_true(chglog_bits_any(out, wrote[k][0], wrote[k][0]) &&
					    chglog_bits_any(out, wrote[k][1], wrote[k][1]));
		}
	}
	assert_int_equal(r->ep[0].since, 0);          /* the oldest epoch is never dropped */
	free(wrote);
	free(r);
	free(d);
	free(out);
}

/* Too many scattered runs for CHGLOG_REC_MAX: fit coarsens, never drops. */
static void test_fit(void **state)
{
	enum { WRITES = 3000, BLOCKS = 65536 };
	struct chglog_rec *r = calloc(1, sizeof(*r));
	struct chglog_bits *d = bits_new(), *out = bits_new();
	uint64_t *at = calloc(WRITES, sizeof(*at));
	uint8_t *buf = malloc(CHGLOG_REC_MAX);
	size_t len;

	(void)state;
	srand(11);
	for (int e = 0; e < CHGLOG_EPOCHS; e++) {
		memset(d, 0, sizeof(*d));
		for (int i = e * WRITES / CHGLOG_EPOCHS; i < (e + 1) * WRITES / CHGLOG_EPOCHS; i++) {
			at[i] = (uint64_t)rand() % BLOCKS;
			chglog_bits_mark(d, at[i], at[i]);
		}
		chglog_rec_append(r, d, 100 + (uint64_t)e);
	}
	assert_int_equal(r->ep[0].bits.shift, 0);
	assert_int_equal(chglog_rec_encode(r, buf, CHGLOG_REC_MAX, &len), -ERANGE);
	chglog_rec_fit(r);
	assert_true(r->ep[0].bits.shift > 0);
	assert_int_equal(chglog_rec_encode(r, buf, CHGLOG_REC_MAX, &len), 0);
	assert_true(len <= CHGLOG_REC_MAX);
	assert_int_equal(chglog_rec_decode(buf, len, r), 0);
	assert_int_equal(chglog_rec_since(r, 0, out), 0);
	for (int i = 0; i < WRITES; i++)
		assert_true(chglog_bits_any(out, at[i], at[i]));
	free(at);
	free(buf);
	free(r);
	free(d);
	free(out);
}

/* A burst of generations in one second after a big first one (a file
 * written whole, backed up at generation 1, then patched): generation 1
 * stays a boundary, so "since 1" does not include the first write. */
static void test_burst_keeps_old_boundary(void **state)
{
	struct chglog_rec *r = calloc(1, sizeof(*r));
	struct chglog_bits *d = bits_new(), *out = bits_new();

	(void)state;
	chglog_bits_mark(d, 0, 65535);
	chglog_rec_append(r, d, 500);
	for (uint64_t g = 0; g < 50; g++) {
		memset(d, 0, sizeof(*d));
		chglog_bits_mark(d, 1000 + 7 * g, 1000 + 7 * g);
		chglog_rec_append(r, d, 900);
	}
	assert_int_equal(chglog_rec_since(r, 1, out), 0);
	assert_false(chglog_bits_any(out, 0, 999));
	assert_true(chglog_bits_any(out, 1000, 1000) && chglog_bits_any(out, 1000 + 7 * 49, 1000 + 7 * 49));
	free(r);
	free(d);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_bits),
		cmocka_unit_test(test_since),
		cmocka_unit_test(test_cover_property),
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_burst_keeps_old_boundary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
