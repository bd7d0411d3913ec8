/*
 * test-format.c: fs/format.c against docs/FORMAT.md §3 and §4.
 *
 * The expected bytes here are written from the FORMAT.md tables with literal
 * offsets, not from format.c's constants, so a layout slip in format.c fails.
 * The boundary tables build each input with a second, test-local encoder so
 * that every rejected input is otherwise valid: a rejection then proves the
 * bound itself is checked, not that parsing went off the rails later.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include "testutil.h"
#include "format.h"

/* A valid GCM header (FORMAT.md §4), made by an independent implementation:
 * file id c0..cf, key version 7, flags HAS_DATA, wrapped_len 60. */
static const char golden_header_hex[] =
	"5048465301000101c0c1c2c3c4c5c6c7c8c9cacbcccdcecf0700000001000000"
	"00000000000000003c00000000000000101112131415161718191a1b18af09ab"
	"8d5fdf1ed06c4093a49cde2a1d45e54b48ae10dac41682338e9d51afe2303e60"
	"c6247da2f79458148527e4ec0000000000000000000000000000000000000000"
	"000000000000000000000000000000002bade68f8bef91d08e3c57c5edc08d8b"
	"61ca8cc1c20dc358471bba0c7da4aacd";

static void le_put(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- header ------------------------------------------------------------ */

static void test_header_golden_decode(void **state)
{
	size_t len;
	uint8_t *in = tu_hex(golden_header_hex, &len);
	struct format_header h;
	uint8_t out[FORMAT_HEADER_LEN];

	(void)state;
	assert_int_equal(len, 176);
	assert_int_equal(format_header_decode(in, len, &h), 0);
	assert_int_equal(h.cipher, 1);
	assert_int_equal(h.wrap_kind, 1);
	for (int i = 0; i < 16; i++)
		assert_int_equal(h.file_id[i], 0xc0 + i);
	assert_int_equal(h.wrap_key_version, 7);
	assert_int_equal(h.flags, FORMAT_HDR_HAS_DATA);
	assert_int_equal(h.pending_size, 0);
	assert_int_equal(h.wrapped_len, 60);
	assert_memory_equal(h.wrapped, in + 48, 60);
	assert_memory_equal(h.mac, in + 144, 32);
	format_header_encode(&h, out);
	assert_memory_equal(out, in, 176);
	free(in);
}

/* Every field at a distinct value, at the offsets of the §4 table. */
static void test_header_encode_layout(void **state)
{
	struct format_header h, back;
	uint8_t out[FORMAT_HEADER_LEN], exp[176] = { 0 };

	(void)state;
	memset(&h, 0, sizeof(h));
	h.cipher = 2;
	h.wrap_kind = 1;
	for (int i = 0; i < 16; i++)
		h.file_id[i] = (uint8_t)(0x30 + i);
	h.wrap_key_version = 0x0a0b0c0d;
	h.flags = FORMAT_HDR_HAS_DATA | FORMAT_HDR_TRUNC_PENDING;
	h.pending_size = 0x0102030405060708ull;
	h.wrapped_len = 96;
	for (int i = 0; i < 96; i++)
		h.wrapped[i] = (uint8_t)(0x80 + i);
	memset(h.mac, 0xee, sizeof(h.mac));

	memcpy(exp, "PHFS", 4);
	le_put(exp + 4, 1, 2);
	exp[6] = 2;
	exp[7] = 1;
	memcpy(exp + 8, h.file_id, 16);
	le_put(exp + 24, 0x0a0b0c0d, 4);
	le_put(exp + 28, 3, 4);
	le_put(exp + 32, 0x0102030405060708ull, 8);
	le_put(exp + 40, 96, 2);
	memcpy(exp + 48, h.wrapped, 96);
	memset(exp + 144, 0xee, 32);

	format_header_encode(&h, out);
	assert_memory_equal(out, exp, 176);
	assert_int_equal(format_header_decode(out, sizeof(out), &back), 0);
	assert_int_equal(back.cipher, 2);
	assert_int_equal(back.wrap_key_version, 0x0a0b0c0d);
	assert_int_equal(back.flags, 3);
	assert_true(back.pending_size == 0x0102030405060708ull);
	assert_int_equal(back.wrapped_len, 96);
	assert_memory_equal(back.wrapped, h.wrapped, 96);
	assert_memory_equal(back.file_id, h.file_id, 16);
	assert_memory_equal(back.mac, h.mac, 32);
}

enum hfield { H_NONE, H_MAGIC0, H_VERSION, H_CIPHER, H_KIND, H_FLAGS, H_PENDING, H_WLEN, H_POKE };

struct hchange {
	enum hfield f;
	uint64_t v;
	size_t off;       /* H_POKE only */
};

struct hcase {
	const char *name;
	struct hchange ch[2];
	int expect;
};

/* A test-local §4 encoder: wrapped bytes are 0xa5 for wlen bytes, then zero. */
static void header_build(const struct hchange *ch, size_t nch, uint8_t out[176])
{
	uint64_t version = 1, cipher = 1, kind = 1, flags = 0, pending = 0, wlen = 60;

	memset(out, 0, 176);
	memcpy(out, "PHFS", 4);
	for (int i = 0; i < 16; i++)
		out[8 + i] = (uint8_t)(0x11 * (i + 1));
	le_put(out + 24, 5, 4);
	for (size_t i = 0; i < nch; i++) {
		switch (ch[i].f) {
		case H_VERSION: version = ch[i].v; break;
		case H_CIPHER: cipher = ch[i].v; break;
		case H_KIND: kind = ch[i].v; break;
		case H_FLAGS: flags = ch[i].v; break;
		case H_PENDING: pending = ch[i].v; break;
		case H_WLEN: wlen = ch[i].v; break;
		default: break;
		}
	}
	le_put(out + 4, version, 2);
	out[6] = (uint8_t)cipher;
	out[7] = (uint8_t)kind;
	le_put(out + 28, flags, 4);
	le_put(out + 32, pending, 8);
	le_put(out + 40, wlen, 2);
	memset(out + 48, 0xa5, wlen < 96 ? wlen : 96);
	memset(out + 144, 0x3c, 32);
	for (size_t i = 0; i < nch; i++) {
		if (ch[i].f == H_MAGIC0)
			out[0] = (uint8_t)ch[i].v;
		if (ch[i].f == H_POKE)
			out[ch[i].off] = (uint8_t)ch[i].v;
	}
}

static const struct hcase header_cases[] = {
	{ "valid", { { H_NONE, 0, 0 } }, 0 },
	{ "magic", { { H_MAGIC0, 'p', 0 } }, -EBADMSG },
	{ "version 0", { { H_VERSION, 0, 0 } }, -EPROTO },
	{ "version 2", { { H_VERSION, 2, 0 } }, -EPROTO },
	{ "version 0x101", { { H_VERSION, 0x101, 0 } }, -EPROTO },
	{ "cipher 0", { { H_CIPHER, 0, 0 } }, -EPROTO },
	{ "cipher xts", { { H_CIPHER, 2, 0 } }, 0 },
	{ "cipher 3", { { H_CIPHER, 3, 0 } }, -EPROTO },
	{ "cipher 255", { { H_CIPHER, 255, 0 } }, -EPROTO },
	{ "wrap kind 0", { { H_KIND, 0, 0 } }, -EPROTO },
	{ "wrap kind 2 per-file KMS", { { H_KIND, 2, 0 } }, 0 },
	{ "wrap kind 3", { { H_KIND, 3, 0 } }, -EPROTO },
	{ "flags has_data", { { H_FLAGS, 1, 0 } }, 0 },
	{ "flags both known", { { H_FLAGS, 3, 0 } }, 0 },
	{ "flags bit 2 keytab", { { H_FLAGS, 4, 0 } }, 0 },
	{ "flags bit 3", { { H_FLAGS, 8, 0 } }, -EBADMSG },
	{ "keytab slot with keytab", { { H_FLAGS, 4, 0 }, { H_POKE, 0x81, 44 } }, 0 },
	{ "keytab slot without keytab", { { H_FLAGS, 1, 0 }, { H_POKE, 0x81, 42 } }, -EBADMSG },
	{ "byte 46 with keytab", { { H_FLAGS, 4, 0 }, { H_POKE, 1, 46 } }, -EBADMSG },
	{ "flags bit 31", { { H_FLAGS, 0x80000000u, 0 } }, -EBADMSG },
	{ "pending without trunc", { { H_PENDING, 1, 0 } }, -EBADMSG },
	{ "pending with has_data", { { H_FLAGS, 1, 0 }, { H_PENDING, 4096, 0 } }, -EBADMSG },
	{ "pending with trunc", { { H_FLAGS, 2, 0 }, { H_PENDING, 12345, 0 } }, 0 },
	{ "pending max with trunc", { { H_FLAGS, 2, 0 }, { H_PENDING, UINT64_MAX, 0 } }, 0 },
	{ "wrapped_len 0", { { H_WLEN, 0, 0 } }, -EBADMSG },
	{ "wrapped_len 1", { { H_WLEN, 1, 0 } }, 0 },
	{ "wrapped_len 96", { { H_WLEN, 96, 0 } }, 0 },
	{ "wrapped_len 97", { { H_WLEN, 97, 0 } }, -EBADMSG },
	{ "wrapped_len 0xffff", { { H_WLEN, 0xffff, 0 } }, -EBADMSG },
	{ "reserved 42", { { H_POKE, 1, 42 } }, -EBADMSG },
	{ "reserved 47", { { H_POKE, 0x80, 47 } }, -EBADMSG },
	{ "padding after wrapped", { { H_POKE, 1, 108 } }, -EBADMSG },
	{ "padding last byte", { { H_POKE, 1, 143 } }, -EBADMSG },
	{ "padding short key", { { H_WLEN, 1, 0 }, { H_POKE, 1, 49 } }, -EBADMSG },
	{ "mac not checked here", { { H_POKE, 0, 144 } }, 0 },
};

static void test_header_boundaries(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
		const struct hcase *c = &header_cases[i];
		uint8_t in[176], out[176];
		struct format_header h;
		int rc;

		header_build(c->ch, 2, in);
		rc = format_header_decode(in, sizeof(in), &h);
		if (rc != c->expect)
			fail_msg("header case '%s': got %d, want %d", c->name, rc, c->expect);
		if (rc == 0) {
			format_header_encode(&h, out);
			if (memcmp(in, out, 176) != 0)
				fail_msg("header case '%s': round trip differs", c->name);
		}
	}
}

/* Every reserved and padding byte, each on its own. */
static void test_header_reserved_and_padding(void **state)
{
	(void)state;
	for (size_t off = 42; off < 144; off++) {
		struct hchange ch[2] = { { H_POKE, 0x01, off }, { H_NONE, 0, 0 } };
		uint8_t in[176];
		struct format_header h;

		if (off >= 48 && off < 108)
			continue;   /* the 60 wrapped bytes themselves */
		header_build(ch, 2, in);
		assert_int_equal(format_header_decode(in, sizeof(in), &h), -EBADMSG);
	}
}

static void test_header_lengths(void **state)
{
	struct hchange none[1] = { { H_NONE, 0, 0 } };
	uint8_t good[176], big[177];
	struct format_header h;

	(void)state;
	header_build(none, 1, good);
	/* Exact-size heap copies, so a read past the end trips ASan. */
	for (size_t len = 0; len < 176; len++) {
		uint8_t *p = malloc(len ? len : 1);

		assert_non_null(p);
		memcpy(p, good, len);
		assert_int_equal(format_header_decode(p, len, &h), -EBADMSG);
		free(p);
	}
	memcpy(big, good, 176);
	big[176] = 0;
	assert_int_equal(format_header_decode(big, sizeof(big), &h), -EBADMSG);
	assert_int_equal(format_header_decode(good, 176, &h), 0);
}

/* ---- config ------------------------------------------------------------ */

/* §3 by hand: uri "local:/k", one slot v7 with kek "local:ab" and 3 wrapped bytes. */
static const char golden_config_hex[] =
	"5048494653564f4c" "0100" "0100" "00100000" "0100" "0100" "00000000" "09000000"
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" "8877665544332211" "07000000" "07000000"
	"0800" "6c6f63616c3a2f6b" "0100"
	"07000000" "0100" "0807060504030201" "0800" "6c6f63616c3a6162" "0300" "aabbcc"
	"5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

static void golden_config_struct(struct format_config *c)
{
	memset(c, 0, sizeof(*c));
	c->version = 1;
	c->cipher = 1;
	c->block_size = 4096;
	c->name_scheme = 1;
	c->wrap_mode = 1;
	c->compat_flags = 9;   /* unknown compat bits are kept, not refused */
	for (int i = 0; i < 16; i++)
		c->volume_id[i] = (uint8_t)(0xa0 + i);
	c->created = 0x1122334455667788ull;
	c->primary_version = 7;
	c->names_version = 7;
	strcpy(c->kms_uri, "local:/k");
	c->n_slots = 1;
	c->slots[0].version = 7;
	c->slots[0].state = FORMAT_SLOT_ACTIVE;
	c->slots[0].created = 0x0102030405060708ull;
	strcpy(c->slots[0].kek_id, "local:ab");
	c->slots[0].wrapped_len = 3;
	memcpy(c->slots[0].wrapped, "\xaa\xbb\xcc", 3);
	memset(c->mac, 0x5a, sizeof(c->mac));
}

static void test_config_golden(void **state)
{
	size_t len, elen = 0;
	uint8_t *exp = tu_hex(golden_config_hex, &len);
	static struct format_config c, d;
	uint8_t out[256];

	(void)state;
	assert_int_equal(len, 133);
	golden_config_struct(&c);
	assert_int_equal(format_config_encode(&c, out, sizeof(out), &elen), 0);
	assert_int_equal(elen, 133);
	assert_memory_equal(out, exp, len);
	/* FORMAT.md §3: names key version at 56, URI length at 60, URI at 62. */
	assert_int_equal(out[56], 7);
	assert_int_equal(out[60], 8);
	assert_memory_equal(out + 62, "local:/k", 8);

	assert_int_equal(format_config_decode(exp, len, &d), 0);
	assert_int_equal(d.version, 1);
	assert_int_equal(d.cipher, 1);
	assert_int_equal(d.block_size, 4096);
	assert_int_equal(d.compat_flags, 9);
	assert_true(d.created == 0x1122334455667788ull);
	assert_int_equal(d.primary_version, 7);
	assert_int_equal(d.names_version, 7);
	assert_string_equal(d.kms_uri, "local:/k");
	assert_int_equal(d.n_slots, 1);
	assert_int_equal(d.slots[0].version, 7);
	assert_int_equal(d.slots[0].state, 1);
	assert_true(d.slots[0].created == 0x0102030405060708ull);
	assert_string_equal(d.slots[0].kek_id, "local:ab");
	assert_int_equal(d.slots[0].wrapped_len, 3);
	assert_memory_equal(d.slots[0].wrapped, "\xaa\xbb\xcc", 3);
	assert_memory_equal(d.mac, c.mac, 32);
	assert_memory_equal(d.volume_id, c.volume_id, 16);

	assert_ptr_equal(format_config_slot(&d, 7), &d.slots[0]);
	assert_null(format_config_slot(&d, 8));

	/* -ENOSPC when the buffer is one byte short; exact fit is fine. */
	assert_int_equal(format_config_encode(&c, out, 132, &elen), -ENOSPC);
	assert_int_equal(format_config_encode(&c, out, 133, &elen), 0);
	free(exp);
}

/* A test-local description of a config; cspec_build writes §3 bytes from it
 * directly, cspec_struct fills a struct format_config from it. */
struct cslot {
	uint32_t version;
	uint16_t state;
	size_t kek_len;
	uint8_t kek_byte0;      /* first KEK id byte; the rest are 'k' */
	size_t wlen;
};

struct cspec {
	uint8_t magic0;
	uint16_t version, cipher, scheme, wrap;
	uint32_t block, incompat, compat, primary, names;
	size_t uri_len;
	uint8_t uri[4];          /* first bytes of the URI; the rest are 'u' */
	size_t uri_set;          /* how many of uri[] are used */
	size_t n_written;        /* slots actually present */
	uint16_t n_field;        /* the N written in the count field */
	struct cslot slot[17];
	size_t trailing;         /* extra bytes after the MAC */
	size_t cut;              /* bytes dropped from the end */
};

static void cspec_default(struct cspec *s)
{
	memset(s, 0, sizeof(*s));
	s->magic0 = 'P';
	s->version = 1, s->cipher = 1, s->scheme = 1, s->wrap = 1;
	s->block = 4096;
	s->primary = 1, s->names = 2;
	s->uri_len = 20;
	s->n_written = s->n_field = 2;
	for (int i = 0; i < 17; i++) {
		s->slot[i].version = (uint32_t)i + 1;
		s->slot[i].state = FORMAT_SLOT_ACTIVE;
		s->slot[i].kek_len = 10;
		s->slot[i].kek_byte0 = 'K';
		s->slot[i].wlen = 60;
	}
}

static void uri_fill(const struct cspec *s, uint8_t *p)
{
	memset(p, 'u', s->uri_len);
	memcpy(p, s->uri, s->uri_set < s->uri_len ? s->uri_set : s->uri_len);
}

static size_t cspec_build(const struct cspec *s, uint8_t *out)
{
	uint8_t *p = out;

	memcpy(p, "PHIFSVOL", 8);
	p[0] = s->magic0;
	le_put(p + 8, s->version, 2);
	le_put(p + 10, s->cipher, 2);
	le_put(p + 12, s->block, 4);
	le_put(p + 16, s->scheme, 2);
	le_put(p + 18, s->wrap, 2);
	le_put(p + 20, s->incompat, 4);
	le_put(p + 24, s->compat, 4);
	memset(p + 28, 0x77, 16);
	le_put(p + 44, 1700000000, 8);
	le_put(p + 52, s->primary, 4);
	le_put(p + 56, s->names, 4);
	le_put(p + 60, s->uri_len, 2);
	uri_fill(s, p + 62);
	p += 62 + s->uri_len;
	le_put(p, s->n_field, 2);
	p += 2;
	for (size_t i = 0; i < s->n_written; i++) {
		const struct cslot *sl = &s->slot[i];

		le_put(p, sl->version, 4);
		le_put(p + 4, sl->state, 2);
		le_put(p + 6, 1600000000 + i, 8);
		le_put(p + 14, sl->kek_len, 2);
		memset(p + 16, 'k', sl->kek_len);
		if (sl->kek_len)
			p[16] = sl->kek_byte0;
		p += 16 + sl->kek_len;
		le_put(p, sl->wlen, 2);
		memset(p + 2, (int)(0x40 + i), sl->wlen);
		p += 2 + sl->wlen;
	}
	memset(p, 0xd3, 32);
	p += 32;
	memset(p, 0, s->trailing);
	p += s->trailing;
	return (size_t)(p - out) - s->cut;
}

static void cspec_struct(const struct cspec *s, struct format_config *c)
{
	memset(c, 0, sizeof(*c));
	c->version = s->version, c->cipher = s->cipher, c->name_scheme = s->scheme;
	c->wrap_mode = s->wrap, c->block_size = s->block;
	c->incompat_flags = s->incompat, c->compat_flags = s->compat;
	memset(c->volume_id, 0x77, 16);
	c->created = 1700000000;
	c->primary_version = s->primary, c->names_version = s->names;
	/* kms_uri has room for 1025 bytes: a 1025-byte URI is representable. */
	uri_fill(s, (uint8_t *)c->kms_uri);
	c->n_slots = s->n_field;
	for (size_t i = 0; i < s->n_written && i < FORMAT_MAX_SLOTS; i++) {
		const struct cslot *sl = &s->slot[i];
		struct format_slot *d = &c->slots[i];

		d->version = sl->version;
		d->state = sl->state;
		d->created = 1600000000 + i;
		memset(d->kek_id, 'k', sl->kek_len);
		if (sl->kek_len)
			d->kek_id[0] = (char)sl->kek_byte0;
		d->wrapped_len = (uint16_t)sl->wlen;
		memset(d->wrapped, (int)(0x40 + i), sl->wlen <= 1024 ? sl->wlen : 1024);
	}
	memset(c->mac, 0xd3, 32);
}

enum cfield {
	C_NONE, C_MAGIC0, C_VERSION, C_CIPHER, C_BLOCK, C_SCHEME, C_WRAP, C_COMPAT,
	C_PRIMARY, C_NAMES, C_URI_LEN, C_URI_BYTES, C_NSLOTS, C_NFIELD, C_SLOT_VERSION,
	C_SLOT_STATE, C_KEK_LEN, C_KEK_BYTE0, C_WLEN, C_TRAILING, C_CUT, C_MAX_ALL
};

struct cchange {
	enum cfield f;
	size_t idx;       /* slot index or URI byte count */
	uint64_t v;       /* value; for C_URI_BYTES up to 4 bytes, little-endian */
};

#define NA 1          /* not representable in struct format_config */

struct ccase {
	const char *name;
	struct cchange ch[3];
	int decode_expect;
	int encode_expect;
};

static void cspec_apply(struct cspec *s, const struct cchange *c)
{
	switch (c->f) {
	case C_NONE: break;
	case C_MAGIC0: s->magic0 = (uint8_t)c->v; break;
	case C_VERSION: s->version = (uint16_t)c->v; break;
	case C_CIPHER: s->cipher = (uint16_t)c->v; break;
	case C_BLOCK: s->block = (uint32_t)c->v; break;
	case C_SCHEME: s->scheme = (uint16_t)c->v; break;
	case C_WRAP: s->wrap = (uint16_t)c->v; break;
	case C_COMPAT: s->compat = (uint32_t)c->v; break;
	case C_PRIMARY: s->primary = (uint32_t)c->v; break;
	case C_NAMES: s->names = (uint32_t)c->v; break;
	case C_URI_LEN: s->uri_len = c->v; break;
	case C_URI_BYTES:
		s->uri_set = c->idx;
		le_put(s->uri, c->v, c->idx);
		break;
	case C_NSLOTS: s->n_written = s->n_field = (uint16_t)c->v; break;
	case C_NFIELD: s->n_field = (uint16_t)c->v; break;
	case C_SLOT_VERSION: s->slot[c->idx].version = (uint32_t)c->v; break;
	case C_SLOT_STATE: s->slot[c->idx].state = (uint16_t)c->v; break;
	case C_KEK_LEN: s->slot[c->idx].kek_len = c->v; break;
	case C_KEK_BYTE0: s->slot[c->idx].kek_byte0 = (uint8_t)c->v; break;
	case C_WLEN: s->slot[c->idx].wlen = c->v; break;
	case C_TRAILING: s->trailing = c->v; break;
	case C_CUT: s->cut = c->v; break;
	case C_MAX_ALL:
		s->uri_len = 1024;
		s->n_written = s->n_field = 16;
		for (int i = 0; i < 16; i++)
			s->slot[i].kek_len = 128, s->slot[i].wlen = 1024;
		break;
	}
}

static const struct ccase config_cases[] = {
	{ "valid", { { C_NONE, 0, 0 } }, 0, 0 },
	{ "largest config", { { C_MAX_ALL, 0, 0 } }, 0, 0 },
	{ "magic", { { C_MAGIC0, 0, 'p' } }, -EBADMSG, NA },
	{ "version 0", { { C_VERSION, 0, 0 } }, -EPROTO, -EINVAL },
	{ "version 2", { { C_VERSION, 0, 2 } }, -EPROTO, -EINVAL },
	{ "cipher 0", { { C_CIPHER, 0, 0 } }, -EPROTO, -EINVAL },
	{ "cipher xts", { { C_CIPHER, 0, 2 } }, 0, 0 },
	{ "cipher 3", { { C_CIPHER, 0, 3 } }, -EPROTO, -EINVAL },
	{ "block size 0", { { C_BLOCK, 0, 0 } }, -EBADMSG, -EINVAL },
	{ "block size 4095", { { C_BLOCK, 0, 4095 } }, -EBADMSG, -EINVAL },
	{ "block size 8192", { { C_BLOCK, 0, 8192 } }, -EBADMSG, -EINVAL },
	{ "name scheme 0", { { C_SCHEME, 0, 0 } }, -EPROTO, -EINVAL },
	{ "name scheme 2", { { C_SCHEME, 0, 2 } }, -EPROTO, -EINVAL },
	{ "wrap mode 0", { { C_WRAP, 0, 0 } }, -EPROTO, -EINVAL },
	/* Mode 2 needs its KEK table (§3.3), which this builder does not write. */
	{ "wrap mode 2 without KEK table", { { C_WRAP, 0, 2 } }, -EBADMSG, -EINVAL },
	{ "wrap mode 3", { { C_WRAP, 0, 3 } }, -EPROTO, -EINVAL },
	{ "compat flags ignored", { { C_COMPAT, 0, 0xffffffffu } }, 0, 0 },
	{ "uri length 0", { { C_URI_LEN, 0, 0 } }, -EBADMSG, -EINVAL },
	{ "uri length 1", { { C_URI_LEN, 0, 1 } }, 0, 0 },
	{ "uri length 1024", { { C_URI_LEN, 0, 1024 } }, 0, 0 },
	{ "uri length 1025", { { C_URI_LEN, 0, 1025 } }, -EBADMSG, -EINVAL },
	{ "uri with NUL", { { C_URI_BYTES, 2, 0x0061 } }, -EBADMSG, NA },
	{ "uri utf-8 2-byte", { { C_URI_BYTES, 2, 0xa9c3 } }, 0, 0 },
	{ "uri utf-8 4-byte", { { C_URI_BYTES, 4, 0x80809ff0 } }, 0, 0 },
	{ "uri byte 0xff", { { C_URI_BYTES, 1, 0xff } }, -EBADMSG, -EINVAL },
	{ "uri bare continuation", { { C_URI_BYTES, 1, 0x80 } }, -EBADMSG, -EINVAL },
	{ "uri overlong NUL", { { C_URI_BYTES, 2, 0x80c0 } }, -EBADMSG, -EINVAL },
	{ "uri overlong 3-byte", { { C_URI_BYTES, 3, 0x8080e0 } }, -EBADMSG, -EINVAL },
	{ "uri surrogate", { { C_URI_BYTES, 3, 0x80a0ed } }, -EBADMSG, -EINVAL },
	{ "uri past U+10FFFF", { { C_URI_BYTES, 4, 0x808090f4 } }, -EBADMSG, -EINVAL },
	{ "uri truncated sequence", { { C_URI_LEN, 0, 2 }, { C_URI_BYTES, 2, 0x82e2 } },
	  -EBADMSG, -EINVAL },
	{ "slots 0", { { C_NSLOTS, 0, 0 } }, -EBADMSG, -EINVAL },
	{ "slots 1", { { C_NSLOTS, 0, 1 }, { C_NAMES, 0, 1 } }, 0, 0 },
	{ "slots 16", { { C_NSLOTS, 0, 16 } }, 0, 0 },
	{ "slots 17", { { C_NSLOTS, 0, 17 } }, -EBADMSG, -EINVAL },
	{ "count says more than present", { { C_NFIELD, 0, 3 } }, -EBADMSG, NA },
	{ "count says fewer than present", { { C_NFIELD, 0, 1 }, { C_NAMES, 0, 1 } },
	  -EBADMSG, NA },
	{ "duplicate slot version", { { C_SLOT_VERSION, 1, 1 }, { C_NAMES, 0, 1 } },
	  -EBADMSG, -EINVAL },
	{ "slot state 0", { { C_SLOT_STATE, 1, 0 } }, -EBADMSG, -EINVAL },
	{ "slot state 4", { { C_SLOT_STATE, 1, 4 } }, -EBADMSG, -EINVAL },
	{ "slot state 0xffff", { { C_SLOT_STATE, 0, 0xffff } }, -EBADMSG, -EINVAL },
	{ "names slot retiring", { { C_SLOT_STATE, 1, 2 } }, 0, 0 },
	{ "other slot retired", { { C_SLOT_STATE, 1, 3 }, { C_NAMES, 0, 1 } }, 0, 0 },
	{ "names slot retired", { { C_SLOT_STATE, 1, 3 } }, -EBADMSG, -EINVAL },
	{ "primary slot retiring", { { C_SLOT_STATE, 0, 2 } }, -EBADMSG, -EINVAL },
	{ "primary slot absent", { { C_PRIMARY, 0, 99 } }, -EBADMSG, -EINVAL },
	{ "names slot absent", { { C_NAMES, 0, 99 } }, -EBADMSG, -EINVAL },
	{ "kek id length 0", { { C_KEK_LEN, 1, 0 } }, -EBADMSG, -EINVAL },
	{ "kek id length 1", { { C_KEK_LEN, 1, 1 } }, 0, 0 },
	{ "kek id length 128", { { C_KEK_LEN, 1, 128 } }, 0, 0 },
	{ "kek id length 129", { { C_KEK_LEN, 1, 129 } }, -EBADMSG, -EINVAL },
	{ "kek id space", { { C_KEK_BYTE0, 0, ' ' } }, 0, 0 },
	{ "kek id tilde", { { C_KEK_BYTE0, 0, '~' } }, 0, 0 },
	{ "kek id 0x1f", { { C_KEK_BYTE0, 0, 0x1f } }, -EBADMSG, -EINVAL },
	{ "kek id DEL", { { C_KEK_BYTE0, 0, 0x7f } }, -EBADMSG, -EINVAL },
	{ "kek id 0x80", { { C_KEK_BYTE0, 1, 0x80 } }, -EBADMSG, -EINVAL },
	{ "kek id NUL", { { C_KEK_BYTE0, 1, 0 } }, -EBADMSG, NA },
	{ "wrapped length 0", { { C_WLEN, 0, 0 } }, -EBADMSG, -EINVAL },
	{ "wrapped length 1", { { C_WLEN, 0, 1 } }, 0, 0 },
	{ "wrapped length 1024", { { C_WLEN, 1, 1024 } }, 0, 0 },
	{ "wrapped length 1025", { { C_WLEN, 1, 1025 } }, -EBADMSG, -EINVAL },
	{ "trailing byte", { { C_TRAILING, 0, 1 } }, -EBADMSG, NA },
	{ "truncated MAC", { { C_CUT, 0, 1 } }, -EBADMSG, NA },
	{ "no MAC", { { C_CUT, 0, 32 } }, -EBADMSG, NA },
	{ "cut mid-slot", { { C_CUT, 0, 40 } }, -EBADMSG, NA },
};

static void config_case_run(const struct ccase *cc, uint8_t *buf, uint8_t *enc)
{
	static struct format_config d, c;
	struct cspec s;
	size_t len, elen = 0;
	int rc;

	cspec_default(&s);
	for (int k = 0; k < 3; k++)
		cspec_apply(&s, &cc->ch[k]);
	len = cspec_build(&s, buf);
	rc = format_config_decode(buf, len, &d);
	if (rc != cc->decode_expect)
		fail_msg("config case '%s': decode %d, want %d", cc->name, rc, cc->decode_expect);
	if (rc == 0) {
		/* Canonical: decode then encode gives the same bytes. */
		assert_int_equal(format_config_encode(&d, enc, 70000, &elen), 0);
		if (elen != len || memcmp(enc, buf, len) != 0)
			fail_msg("config case '%s': round trip differs", cc->name);
	}
	if (cc->encode_expect == NA)
		return;
	cspec_struct(&s, &c);
	rc = format_config_encode(&c, enc, 70000, &elen);
	if (rc != cc->encode_expect)
		fail_msg("config case '%s': encode %d, want %d", cc->name, rc, cc->encode_expect);
	/* Two independent encoders must agree byte for byte. */
	if (rc == 0 && (elen != len || memcmp(enc, buf, len) != 0))
		fail_msg("config case '%s': encode differs from FORMAT.md layout", cc->name);
}

static void test_config_boundaries(void **state)
{
	uint8_t *buf = malloc(70000), *enc = malloc(70000);

	(void)state;
	assert_non_null(buf);
	assert_non_null(enc);
	for (size_t i = 0; i < sizeof(config_cases) / sizeof(config_cases[0]); i++)
		config_case_run(&config_cases[i], buf, enc);
	free(buf);
	free(enc);
}

/* Known incompat flags in v1: none. Every bit must be refused as unsupported. */
static void test_config_unknown_incompat(void **state)
{
	static struct format_config c;
	struct cspec s;
	uint8_t *buf = malloc(70000);
	size_t len, elen;

	(void)state;
	assert_non_null(buf);
	for (int bit = 0; bit < 32; bit++) {
		if ((1u << bit) & FORMAT_INCOMPAT_KNOWN)
			continue;   /* KEYTAB (FORMAT.md §12): test_config_keytab */
		cspec_default(&s);
		s.incompat = 1u << bit;
		len = cspec_build(&s, buf);
		assert_int_equal(format_config_decode(buf, len, &c), -EPROTO);
		cspec_struct(&s, &c);
		assert_int_equal(format_config_encode(&c, buf, 70000, &elen), -EINVAL);
	}
	free(buf);
}

/* §3: the KEYTAB incompat flag is known, kept and re-encoded. */
static void test_config_keytab(void **state)
{
	static struct format_config c;
	struct cspec s;
	uint8_t *buf = malloc(70000), *out = malloc(70000);
	size_t len, elen;

	(void)state;
	assert_non_null(buf);
	assert_non_null(out);
	cspec_default(&s);
	s.incompat = FORMAT_INCOMPAT_KEYTAB;
	len = cspec_build(&s, buf);
	assert_int_equal(format_config_decode(buf, len, &c), 0);
	assert_int_equal(c.incompat_flags, FORMAT_INCOMPAT_KEYTAB);
	assert_int_equal(format_config_encode(&c, out, 70000, &elen), 0);
	assert_int_equal(elen, len);
	assert_memory_equal(buf, out, len);
	free(buf);
	free(out);
}

/* "Unsupported" is decided from the fixed fields, before the rest parses. */
static void test_config_unsupported_first(void **state)
{
	static struct format_config c;
	struct cspec s;
	uint8_t buf[4096];
	size_t len;

	(void)state;
	cspec_default(&s);
	s.version = 2;
	len = cspec_build(&s, buf);
	assert_int_equal(format_config_decode(buf, 60, &c), -EPROTO);
	assert_int_equal(format_config_decode(buf, len + 5, &c), -EPROTO);
	assert_int_equal(format_config_decode(buf, 59, &c), -EBADMSG);
	cspec_default(&s);
	s.wrap = 3;
	cspec_build(&s, buf);
	assert_int_equal(format_config_decode(buf, 60, &c), -EPROTO);
}

static void test_config_short_inputs(void **state)
{
	static struct format_config c;
	struct cspec s;
	uint8_t buf[4096];
	size_t len;

	(void)state;
	cspec_default(&s);
	len = cspec_build(&s, buf);
	/* Every prefix (exact-size copies for ASan) is refused. */
	for (size_t n = 0; n < len; n++) {
		uint8_t *p = malloc(n ? n : 1);

		assert_non_null(p);
		memcpy(p, buf, n);
		assert_int_equal(format_config_decode(p, n, &c), -EBADMSG);
		free(p);
	}
	assert_int_equal(format_config_decode(buf, len, &c), 0);
}

static void test_config_oversize(void **state)
{
	static struct format_config c;
	struct cspec s;
	uint8_t *buf = calloc(1, 65537);
	size_t len;

	(void)state;
	assert_non_null(buf);
	cspec_default(&s);
	len = cspec_build(&s, buf);
	assert_true(len < 65537);
	assert_int_equal(format_config_decode(buf, 65537, &c), -EBADMSG);
	free(buf);
}

/* A config that is refused leaves no half-decoded fields behind. */
static void test_config_decode_failure_clears(void **state)
{
	static struct format_config c;
	struct cspec s;
	uint8_t buf[4096];
	size_t len;

	(void)state;
	cspec_default(&s);
	s.slot[1].state = 9;
	len = cspec_build(&s, buf);
	assert_int_equal(format_config_decode(buf, len, &c), -EBADMSG);
	assert_int_equal(c.n_slots, 0);
	assert_int_equal(c.kms_uri[0], 0);
	assert_int_equal(c.version, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_golden_decode),
		cmocka_unit_test(test_header_encode_layout),
		cmocka_unit_test(test_header_boundaries),
		cmocka_unit_test(test_header_reserved_and_padding),
		cmocka_unit_test(test_header_lengths),
		cmocka_unit_test(test_config_golden),
		cmocka_unit_test(test_config_boundaries),
		cmocka_unit_test(test_config_unknown_incompat),
		cmocka_unit_test(test_config_keytab),
		cmocka_unit_test(test_config_unsupported_first),
		cmocka_unit_test(test_config_short_inputs),
		cmocka_unit_test(test_config_oversize),
		cmocka_unit_test(test_config_decode_failure_clears),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
