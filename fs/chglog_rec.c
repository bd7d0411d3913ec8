/*
 * chglog_rec.c: byte layout and bitmap arithmetic of the change record
 * (docs/FORMAT.md §7.1). Pure: no I/O, no clock, no key — the daemon
 * (chglog.c) and phifs-backup (cmd_backup.c) both build on it, and the fuzz
 * harness tests/fuzz/fuzz-chglog.c feeds its decoder. A record that is not
 * exactly valid is refused whole: a reader then reads the file whole, which
 * is always correct.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "chglog_rec.h"
#include "le.h"

#define OFF_VERSION 4
#define OFF_FLAGS 5
#define OFF_SHIFT 6
#define OFF_NEPOCH 7
#define OFF_ID 8
#define OFF_GEN 24
#define OFF_MTIME 32
#define OFF_SIZE 40
#define OFF_STORED 48
#define OFF_NREG 56
#define OFF_RESERVED 60

static_assert(sizeof(CHGLOG_MAGIC) - 1 == OFF_VERSION, "FORMAT.md §7.1: magic is 4 bytes");
static_assert(OFF_ID + CHGLOG_ID_LEN == OFF_GEN, "FORMAT.md §7.1: id 8..23");
static_assert(OFF_RESERVED + 4 == CHGLOG_HDR_LEN, "FORMAT.md §7.1: 64-byte header");
static_assert(CHGLOG_REC_MAX <= 3072, "FORMAT.md §7.1: fits one ext4 xattr block with others");

static size_t bitmap_len(uint32_t nreg)
{
	return (nreg + 7) / 8;
}

static int bit(const struct chglog_bits *b, uint64_t r)
{
	return b->b[r / 8] >> (r % 8) & 1;
}

void chglog_bits_coarsen(struct chglog_bits *b, unsigned shift)
{
	while (b->shift < shift) {
		uint32_t n = (b->nreg + 1) / 2;

		for (uint32_t j = 0; j < n; j++) {
			int v = bit(b, 2 * (uint64_t)j) | (2 * j + 1 < b->nreg && bit(b, 2 * (uint64_t)j + 1));

			b->b[j / 8] = (uint8_t)((b->b[j / 8] & ~(1u << (j % 8))) | (unsigned)v << (j % 8));
		}
		memset(b->b + bitmap_len(n), 0, sizeof(b->b) - bitmap_len(n));
		if (n % 8)
			b->b[n / 8] &= (uint8_t)((1u << (n % 8)) - 1);
		b->nreg = n;
		b->shift++;
	}
}

void chglog_bits_mark(struct chglog_bits *b, uint64_t first, uint64_t last)
{
	if (first > last)
		return;
	while ((last >> b->shift) >= CHGLOG_REGIONS && b->shift < 63)
		chglog_bits_coarsen(b, b->shift + 1u);
	for (uint64_t r = first >> b->shift; r <= last >> b->shift; r++)
		b->b[r / 8] |= (uint8_t)(1u << (r % 8));
	if ((last >> b->shift) + 1 > b->nreg)
		b->nreg = (uint32_t)(last >> b->shift) + 1;
}

int chglog_bits_any(const struct chglog_bits *b, uint64_t first, uint64_t last)
{
	if (first > last)
		return 0;
	if ((last >> b->shift) >= b->nreg)
		return 1;
	for (uint64_t r = first >> b->shift; r <= last >> b->shift; r++)
		if (bit(b, r))
			return 1;
	return 0;
}

static void widen(struct chglog_bits *b, uint32_t nreg)
{
	if (nreg > b->nreg)
		b->nreg = nreg;
}

void chglog_bits_or(struct chglog_bits *dst, struct chglog_bits *src)
{
	unsigned s = dst->shift > src->shift ? dst->shift : src->shift;

	chglog_bits_coarsen(dst, s);
	chglog_bits_coarsen(src, s);
	widen(dst, src->nreg);
	widen(src, dst->nreg);
	for (size_t i = 0; i < sizeof(dst->b); i++)
		dst->b[i] |= src->b[i];
}

/* Bitmaps are stored as runs of set regions: varint(gap from the end of the
 * previous run, the first from 0) ‖ varint(run length − 1), LEB128, minimal,
 * runs maximal — scattered writes cost 2–4 bytes each, not a bitmap. */
static size_t varint_put(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	do {
		uint8_t byte = v & 0x7f;

		v >>= 7;
		if (out)
			out[n] = (uint8_t)(byte | (v ? 0x80 : 0));
		n++;
	} while (v);
	return n;
}

/* Bytes the runs of b take; written to out when out is not NULL. */
static size_t runs_put(const struct chglog_bits *b, uint8_t *out)
{
	uint64_t prev = 0, r = 0;
	size_t n = 0;

	while (r < b->nreg) {
		uint64_t start;

		if (!b->b[r / 8] && r % 8 == 0) {
			r += 8;
			continue;
		}
		if (!bit(b, r)) {
			r++;
			continue;
		}
		for (start = r; r < b->nreg && bit(b, r); r++)
			;
		n += varint_put(out ? out + n : NULL, start - prev);
		n += varint_put(out ? out + n : NULL, r - start - 1);
		prev = r;
	}
	return n;
}

static size_t encoded_len(const struct chglog_rec *r)
{
	size_t n = CHGLOG_HDR_LEN;

	for (unsigned i = 0; i < r->nepoch; i++)
		n += CHGLOG_EPOCH_HDR_LEN + runs_put(&r->ep[i].bits, NULL);
	return n;
}

int chglog_rec_encode(const struct chglog_rec *r, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t shift = r->nepoch ? r->ep[0].bits.shift : 0;
	uint32_t nreg = r->nepoch ? r->ep[0].bits.nreg : 0;
	uint8_t *p = out + CHGLOG_HDR_LEN;
	size_t need;

	*len = 0;
	if (r->nepoch > CHGLOG_EPOCHS || nreg > CHGLOG_REGIONS || shift > CHGLOG_MAX_SHIFT)
		return -EINVAL;
	for (unsigned i = 0; i < r->nepoch; i++)
		if (r->ep[i].bits.shift != shift || r->ep[i].bits.nreg != nreg)
			return -EINVAL;
	need = encoded_len(r);
	if (cap < need)
		return -ERANGE;
	memset(out, 0, CHGLOG_HDR_LEN);
	memcpy(out, CHGLOG_MAGIC, 4);
	out[OFF_VERSION] = CHGLOG_VERSION;
	out[OFF_FLAGS] = r->flags;
	out[OFF_SHIFT] = shift;
	out[OFF_NEPOCH] = r->nepoch;
	memcpy(out + OFF_ID, r->id, CHGLOG_ID_LEN);
	le_put(out + OFF_GEN, r->gen, 8);
	le_put(out + OFF_MTIME, (uint64_t)r->mtime_ns, 8);
	le_put(out + OFF_SIZE, r->size, 8);
	le_put(out + OFF_STORED, (uint64_t)r->stored_ns, 8);
	le_put(out + OFF_NREG, nreg, 4);
	for (unsigned i = 0; i < r->nepoch; i++) {
		size_t n = runs_put(&r->ep[i].bits, p + CHGLOG_EPOCH_HDR_LEN);

		le_put(p, r->ep[i].since, 8);
		le_put(p + 8, r->ep[i].start_s, 8);
		le_put(p + 16, n, 2);
		p += CHGLOG_EPOCH_HDR_LEN + n;
	}
	*len = need;
	return 0;
}

void chglog_rec_fit(struct chglog_rec *r)
{
	while (r->nepoch && encoded_len(r) > CHGLOG_REC_MAX && r->ep[0].bits.shift < CHGLOG_MAX_SHIFT) {
		unsigned shift = r->ep[0].bits.shift + 1u;

		for (unsigned i = 0; i < r->nepoch; i++)
			chglog_bits_coarsen(&r->ep[i].bits, shift);
	}
}

/* A minimal LEB128 varint below 2^32 from [*p, end). */
static int varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < 5 && *p < end; i++) {
		uint8_t byte = *(*p)++;

		*v |= (uint64_t)(byte & 0x7f) << (7 * i);
		if (!(byte & 0x80))
			return (i > 0 && byte == 0) || *v >> 32 ? -EBADMSG : 0;
	}
	return -EBADMSG;
}

static int runs_get(const uint8_t *p, size_t len, struct chglog_bits *b)
{
	const uint8_t *end = p + len;
	uint64_t prev = 0, gap, run;

	while (p < end) {
		if (varint_get(&p, end, &gap) || varint_get(&p, end, &run) ||
		    (prev && gap == 0) || prev + gap + run + 1 > b->nreg)
			return -EBADMSG;
		for (uint64_t r = prev + gap; r <= prev + gap + run; r++)
			b->b[r / 8] |= (uint8_t)(1u << (r % 8));
		prev += gap + run + 1;
	}
	return 0;
}

static int decode_epochs(const uint8_t *p, const uint8_t *end, struct chglog_rec *r,
			 uint8_t shift, uint32_t nreg)
{
	for (unsigned i = 0; i < r->nepoch; i++) {
		struct chglog_epoch *e = &r->ep[i];
		size_t n;

		if (end - p < CHGLOG_EPOCH_HDR_LEN)
			return -EBADMSG;
		e->since = le_get(p, 8);
		e->start_s = le_get(p + 8, 8);
		n = (size_t)le_get(p + 16, 2);
		e->bits.shift = shift;
		e->bits.nreg = nreg;
		p += CHGLOG_EPOCH_HDR_LEN;
		if ((size_t)(end - p) < n || runs_get(p, n, &e->bits) ||
		    (i && e->since <= r->ep[i - 1].since) || e->since >= r->gen)
			return -EBADMSG;
		p += n;
	}
	return p == end ? 0 : -EBADMSG;
}

int chglog_rec_decode(const uint8_t *in, size_t len, struct chglog_rec *r)
{
	uint8_t shift, nepoch;
	uint32_t nreg;

	memset(r, 0, sizeof(*r));
	if (len < CHGLOG_HDR_LEN || len > CHGLOG_REC_MAX || memcmp(in, CHGLOG_MAGIC, 4) ||
	    in[OFF_VERSION] != CHGLOG_VERSION)
		return -EBADMSG;
	shift = in[OFF_SHIFT];
	nepoch = in[OFF_NEPOCH];
	nreg = (uint32_t)le_get(in + OFF_NREG, 4);
	if ((in[OFF_FLAGS] & ~CHGLOG_F_WRITING) || shift > CHGLOG_MAX_SHIFT ||
	    nepoch > CHGLOG_EPOCHS || nreg > CHGLOG_REGIONS || le_get(in + OFF_RESERVED, 4) ||
	    (!nepoch && (shift || nreg)))
		return -EBADMSG;
	r->flags = in[OFF_FLAGS];
	r->nepoch = nepoch;
	memcpy(r->id, in + OFF_ID, CHGLOG_ID_LEN);
	r->gen = le_get(in + OFF_GEN, 8);
	r->mtime_ns = (int64_t)le_get(in + OFF_MTIME, 8);
	r->size = le_get(in + OFF_SIZE, 8);
	r->stored_ns = (int64_t)le_get(in + OFF_STORED, 8);
	if (decode_epochs(in + CHGLOG_HDR_LEN, in + len, r, shift, nreg)) {
		memset(r, 0, sizeof(*r));
		return -EBADMSG;
	}
	return 0;
}

int chglog_rec_vouches(const struct chglog_rec *r, int64_t mtime_ns, uint64_t size)
{
	return !(r->flags & CHGLOG_F_WRITING) && r->mtime_ns == mtime_ns && r->size == size &&
	       r->stored_ns > r->mtime_ns;
}

int chglog_rec_since(const struct chglog_rec *r, uint64_t seen, struct chglog_bits *out)
{
	int first = -1;

	memset(out, 0, sizeof(*out));
	if ((r->flags & CHGLOG_F_WRITING) || seen > r->gen)
		return -ESTALE;
	if (r->nepoch) {
		out->shift = r->ep[0].bits.shift;
		out->nreg = r->ep[0].bits.nreg;
	}
	if (seen == r->gen)
		return 0;
	for (int i = 0; i < r->nepoch; i++)
		if (r->ep[i].since <= seen)
			first = i;
	if (first < 0)
		return -ESTALE;
	for (int i = first; i < r->nepoch; i++)
		for (size_t k = 0; k < sizeof(out->b); k++)
			out->b[k] |= r->ep[i].bits.b[k];
	return 0;
}

/* The pair (i, i+1) whose merge loses the least: the shortest span of time
 * from i's start to the start of i+2 (or now), the newest pair among equals.
 * Old epochs thus grow geometrically, and a burst of generations (many
 * closes in one second) merges into itself instead of swallowing the older
 * boundaries a backup may have seen. */
static unsigned cheapest_pair(const struct chglog_epoch *ep, unsigned n, uint64_t now_s)
{
	unsigned best = 0;
	uint64_t best_span = UINT64_MAX;

	for (unsigned i = 0; i + 1 < n; i++) {
		uint64_t end = i + 2 < n ? ep[i + 2].start_s : now_s;
		uint64_t span = end > ep[i].start_s ? end - ep[i].start_s : 0;

		if (span <= best_span) {
			best_span = span;
			best = i;
		}
	}
	return best;
}

void chglog_rec_append(struct chglog_rec *r, struct chglog_bits *dirty, uint64_t now_s)
{
	struct chglog_epoch *e;
	unsigned shift = dirty->shift;
	uint32_t nreg = dirty->nreg;

	for (unsigned i = 0; i < r->nepoch; i++)
		if (r->ep[i].bits.shift > shift)
			shift = r->ep[i].bits.shift;
	chglog_bits_coarsen(dirty, shift);
	for (unsigned i = 0; i < r->nepoch; i++)
		chglog_bits_coarsen(&r->ep[i].bits, shift);
	for (unsigned i = 0; i < r->nepoch; i++)
		if (r->ep[i].bits.nreg > nreg)
			nreg = r->ep[i].bits.nreg;
	if (dirty->nreg > nreg)
		nreg = dirty->nreg;
	if (r->nepoch == CHGLOG_EPOCHS) {
		unsigned i = cheapest_pair(r->ep, r->nepoch, now_s);

		chglog_bits_or(&r->ep[i].bits, &r->ep[i + 1].bits);
		memmove(&r->ep[i + 1], &r->ep[i + 2], (r->nepoch - i - 2) * sizeof(r->ep[0]));
		r->nepoch--;
	}
	e = &r->ep[r->nepoch++];
	e->since = r->gen;
	e->start_s = now_s;
	e->bits = *dirty;
	for (unsigned i = 0; i < r->nepoch; i++)
		r->ep[i].bits.nreg = nreg;
	r->gen++;
}
