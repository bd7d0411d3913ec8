/*
 * format.c: byte encoding of the volume config (docs/FORMAT.md §3, §3.2) and
 * the file header (§4), little-endian, with the offsets pinned by static_assert.
 *
 * The decoders are attacker-facing: a backing store we do not trust hands us
 * these bytes before any key has checked them. So they are strict: exact
 * lengths, every length field bounded, reserved and padding bytes zero, no
 * trailing bytes. Being strict also makes the encodings canonical: decode then
 * encode gives back the input byte for byte (the fuzz harnesses check this).
 * Unknown-but-well-formed versions and feature values are -EPROTO ("this build
 * cannot read it"), everything else -EBADMSG ("not a valid v1 object").
 *
 * This file deliberately holds no key material and does no cryptography: the
 * header MAC, data-key wrap and config MAC are keys.c's (§2, §4.2).
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "format.h"

/* §4 table: file header offsets. */
enum {
	HDR_OFF_MAGIC = 0,
	HDR_OFF_VERSION = 4,
	HDR_OFF_CIPHER = 6,
	HDR_OFF_WRAP_KIND = 7,
	HDR_OFF_FILE_ID = 8,
	HDR_OFF_KEY_VERSION = 24,
	HDR_OFF_FLAGS = 28,
	HDR_OFF_PENDING = 32,
	HDR_OFF_WRAPPED_LEN = 40,
	HDR_OFF_KEYTAB_SLOT = 42,
	HDR_OFF_RESERVED = 46,
	HDR_RESERVED_LEN = 2,
	HDR_OFF_WRAPPED = 48,
};

static_assert(sizeof(FORMAT_HEADER_MAGIC) - 1 == HDR_OFF_VERSION, "FORMAT.md §4: magic is 4 bytes");
static_assert(HDR_OFF_FILE_ID + FORMAT_ID_LEN == HDR_OFF_KEY_VERSION, "FORMAT.md §4: file id 8..23");
static_assert(HDR_OFF_FLAGS == FORMAT_HEADER_WRAP_AAD_LEN,
	      "FORMAT.md §4.2: the wrap AAD is bytes 0..27, ending after the key version");
static_assert(HDR_OFF_PENDING + 8 == HDR_OFF_WRAPPED_LEN, "FORMAT.md §4: pending size 32..39");
static_assert(HDR_OFF_RESERVED + HDR_RESERVED_LEN == HDR_OFF_WRAPPED, "FORMAT.md §4: keytab slot 42..45, reserved 46..47");
static_assert(HDR_OFF_WRAPPED + FORMAT_HEADER_WRAPPED_MAX == FORMAT_HEADER_MAC_OFF,
	      "FORMAT.md §4: wrapped key 48..143, MAC at 144");
static_assert(FORMAT_HEADER_MAC_OFF + FORMAT_MAC_LEN == FORMAT_HEADER_LEN,
	      "FORMAT.md §4: the header is 176 bytes, MAC last");
static_assert(FORMAT_HEADER_LEN == 176, "FORMAT.md §4: fixed 176-byte header");

/* §3 table: fixed part of the volume config. */
enum {
	CFG_OFF_MAGIC = 0,
	CFG_OFF_VERSION = 8,
	CFG_OFF_CIPHER = 10,
	CFG_OFF_BLOCK_SIZE = 12,
	CFG_OFF_NAME_SCHEME = 16,
	CFG_OFF_WRAP_MODE = 18,
	CFG_OFF_INCOMPAT = 20,
	CFG_OFF_COMPAT = 24,
	CFG_OFF_VOLUME_ID = 28,
	CFG_OFF_CREATED = 44,
	CFG_OFF_PRIMARY = 52,
	CFG_OFF_NAMES = 56,
	CFG_OFF_URI_LEN = 60,
	CFG_OFF_URI = 62,
	CFG_SLOT_FIXED = 4 + 2 + 8 + 2 + 2,   /* §3.2 without the two variable fields */
	CFG_KEK_FIXED = 4 + 2,                /* §3.3: ref, id length */
};

static_assert(sizeof(FORMAT_CONFIG_MAGIC) - 1 == CFG_OFF_VERSION, "FORMAT.md §3: magic is 8 bytes");
static_assert(CFG_OFF_VOLUME_ID + FORMAT_ID_LEN == CFG_OFF_CREATED, "FORMAT.md §3: volume id 28..43");
static_assert(CFG_OFF_NAMES + 4 == CFG_OFF_URI_LEN, "FORMAT.md §3: names key version 56..59");
static_assert(CFG_OFF_URI_LEN + 2 == CFG_OFF_URI, "FORMAT.md §3: URI length 60..61, URI at 62");
/* The largest encodable config must still fit the §3 size limit. */
static_assert(CFG_OFF_URI + FORMAT_MAX_URI + 2 +
	      FORMAT_MAX_SLOTS * (CFG_SLOT_FIXED + FORMAT_MAX_KEKID + FORMAT_MAX_WRAPPED) + 2 +
	      FORMAT_MAX_KEKS * (CFG_KEK_FIXED + FORMAT_MAX_KEKID) +
	      FORMAT_MAC_LEN <= FORMAT_CONFIG_MAX, "FORMAT.md §3: config at most 65536 bytes");

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < len; i++)
		acc |= p[i];
	return acc == 0;
}

/* ---- §4 file header ---------------------------------------------------- */

void format_header_encode(const struct format_header *h, uint8_t out[FORMAT_HEADER_LEN])
{
	/* A caller bug must not overrun wrapped[]; the length field is written as
	 * given so that a bad value is refused by the decoder, not silently fixed. */
	size_t wlen = h->wrapped_len <= FORMAT_HEADER_WRAPPED_MAX ? h->wrapped_len
								: FORMAT_HEADER_WRAPPED_MAX;

	memset(out, 0, FORMAT_HEADER_LEN);
	memcpy(out + HDR_OFF_MAGIC, FORMAT_HEADER_MAGIC, HDR_OFF_VERSION);
	put_u16(out + HDR_OFF_VERSION, FORMAT_VERSION);
	out[HDR_OFF_CIPHER] = h->cipher;
	out[HDR_OFF_WRAP_KIND] = h->wrap_kind;
	memcpy(out + HDR_OFF_FILE_ID, h->file_id, FORMAT_ID_LEN);
	put_u32(out + HDR_OFF_KEY_VERSION, h->wrap_key_version);
	put_u32(out + HDR_OFF_FLAGS, h->flags);
	put_u64(out + HDR_OFF_PENDING, h->pending_size);
	put_u16(out + HDR_OFF_WRAPPED_LEN, h->wrapped_len);
	put_u32(out + HDR_OFF_KEYTAB_SLOT, h->keytab_slot);
	memcpy(out + HDR_OFF_WRAPPED, h->wrapped, wlen);
	memcpy(out + FORMAT_HEADER_MAC_OFF, h->mac, FORMAT_MAC_LEN);
}

static bool cipher_known(unsigned int cipher)
{
	return cipher == FORMAT_CIPHER_GCM || cipher == FORMAT_CIPHER_XTS;
}

/* Fields that decide whether this build can read the header at all (§4). */
static int header_check_supported(const uint8_t *in)
{
	if (get_u16(in + HDR_OFF_VERSION) != FORMAT_VERSION)
		return -EPROTO;
	if (!cipher_known(in[HDR_OFF_CIPHER]))
		return -EPROTO;
	if (in[HDR_OFF_WRAP_KIND] != FORMAT_WRAP_VOLUME && in[HDR_OFF_WRAP_KIND] != FORMAT_WRAP_KMS)
		return -EPROTO;
	return 0;
}

int format_header_decode(const uint8_t *in, size_t len, struct format_header *h)
{
	uint32_t flags;
	uint64_t pending;
	uint16_t wlen;
	int ret;

	memset(h, 0, sizeof(*h));
	if (len != FORMAT_HEADER_LEN ||
	    memcmp(in + HDR_OFF_MAGIC, FORMAT_HEADER_MAGIC, HDR_OFF_VERSION) != 0)
		return -EBADMSG;
	ret = header_check_supported(in);
	if (ret)
		return ret;
	flags = get_u32(in + HDR_OFF_FLAGS);
	pending = get_u64(in + HDR_OFF_PENDING);
	wlen = get_u16(in + HDR_OFF_WRAPPED_LEN);
	if (flags & ~FORMAT_HDR_FLAGS_KNOWN)
		return -EBADMSG;
	/* §4: the pending size is 0 unless a truncation is pending. */
	if (!(flags & FORMAT_HDR_TRUNC_PENDING) && pending != 0)
		return -EBADMSG;
	if (wlen < 1 || wlen > FORMAT_HEADER_WRAPPED_MAX)
		return -EBADMSG;
	/* §4: the slot index means something only with KEYTAB. */
	if (!(flags & FORMAT_HDR_KEYTAB) && get_u32(in + HDR_OFF_KEYTAB_SLOT) != 0)
		return -EBADMSG;
	if (!all_zero(in + HDR_OFF_RESERVED, HDR_RESERVED_LEN) ||
	    !all_zero(in + HDR_OFF_WRAPPED + wlen, FORMAT_HEADER_WRAPPED_MAX - wlen))
		return -EBADMSG;

	h->cipher = in[HDR_OFF_CIPHER];
	h->wrap_kind = in[HDR_OFF_WRAP_KIND];
	memcpy(h->file_id, in + HDR_OFF_FILE_ID, FORMAT_ID_LEN);
	h->wrap_key_version = get_u32(in + HDR_OFF_KEY_VERSION);
	h->flags = flags;
	h->pending_size = pending;
	h->wrapped_len = wlen;
	h->keytab_slot = get_u32(in + HDR_OFF_KEYTAB_SLOT);
	memcpy(h->wrapped, in + HDR_OFF_WRAPPED, wlen);
	memcpy(h->mac, in + FORMAT_HEADER_MAC_OFF, FORMAT_MAC_LEN);
	return 0;
}

/* ---- §3 volume config: field rules shared by encode and decode ---------- */

/* Well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF), no NUL. */
static bool utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		size_t n;
		uint32_t cp, min;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static bool kek_id_valid(const uint8_t *s, size_t len)
{
	if (len < 1 || len > FORMAT_MAX_KEKID)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

/* -EPROTO for values this build does not implement (§3.1 step 1). */
static int config_check_supported(const struct format_config *c)
{
	if (c->version != FORMAT_VERSION || !cipher_known(c->cipher) ||
	    c->name_scheme != FORMAT_NAMES_SIV ||
	    (c->wrap_mode != FORMAT_WRAP_VOLUME && c->wrap_mode != FORMAT_WRAP_KMS) ||
	    (c->incompat_flags & ~FORMAT_INCOMPAT_KNOWN))
		return -EPROTO;
	return 0;
}

/*
 * Rules that span fields: slot versions unique (§3.2), and the primary and
 * names versions name slots that can be unwrapped (§3.1 steps 3 and 5). The
 * primary must be active, since retiring slots are "unwrap only".
 */
static bool config_slots_consistent(const struct format_config *c)
{
	const struct format_slot *primary, *names;

	for (unsigned int i = 0; i < c->n_slots; i++) {
		uint16_t st = c->slots[i].state;

		if (st != FORMAT_SLOT_ACTIVE && st != FORMAT_SLOT_RETIRING &&
		    st != FORMAT_SLOT_RETIRED)
			return false;
		for (unsigned int k = 0; k < i; k++)
			if (c->slots[k].version == c->slots[i].version)
				return false;
	}
	primary = format_config_slot(c, c->primary_version);
	names = format_config_slot(c, c->names_version);
	return primary && primary->state == FORMAT_SLOT_ACTIVE && names &&
	       names->state != FORMAT_SLOT_RETIRED;
}

/* §3.3: refs unique, ids valid; a table exactly when the wrap mode is 2. */
static bool config_keks_consistent(const struct format_config *c)
{
	if (c->wrap_mode != FORMAT_WRAP_KMS)
		return c->n_keks == 0;
	if (c->n_keks < 1 || c->n_keks > FORMAT_MAX_KEKS)
		return false;
	for (unsigned int i = 0; i < c->n_keks; i++) {
		const char *id = c->keks[i].id;

		if (!kek_id_valid((const uint8_t *)id, strnlen(id, sizeof(c->keks[i].id))))
			return false;
		for (unsigned int k = 0; k < i; k++)
			if (c->keks[k].ref == c->keks[i].ref)
				return false;
	}
	return true;
}

const struct format_kek *format_config_kek(const struct format_config *c, uint32_t ref)
{
	unsigned int n = c->n_keks <= FORMAT_MAX_KEKS ? c->n_keks : FORMAT_MAX_KEKS;

	for (unsigned int i = 0; i < n; i++)
		if (c->keks[i].ref == ref)
			return &c->keks[i];
	return NULL;
}

const struct format_kek *format_config_kek_by_id(const struct format_config *c, const char *id)
{
	unsigned int n = c->n_keks <= FORMAT_MAX_KEKS ? c->n_keks : FORMAT_MAX_KEKS;

	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(c->keks[i].id, id))
			return &c->keks[i];
	return NULL;
}

const struct format_kek *format_config_kek_current(const struct format_config *c)
{
	unsigned int n = c->n_keks <= FORMAT_MAX_KEKS ? c->n_keks : FORMAT_MAX_KEKS;
	const struct format_kek *best = NULL;

	for (unsigned int i = 0; i < n; i++)
		if (!best || c->keks[i].ref > best->ref)
			best = &c->keks[i];
	return best;
}

const struct format_slot *format_config_slot(const struct format_config *c, uint32_t version)
{
	unsigned int n = c->n_slots <= FORMAT_MAX_SLOTS ? c->n_slots : FORMAT_MAX_SLOTS;

	for (unsigned int i = 0; i < n; i++)
		if (c->slots[i].version == version)
			return &c->slots[i];
	return NULL;
}

/* ---- §3 volume config: encode ------------------------------------------ */

/* Validates one slot and returns its encoded size, or 0 if invalid. */
static size_t slot_encoded_len(const struct format_slot *s)
{
	size_t klen = strnlen(s->kek_id, sizeof(s->kek_id));

	if (!kek_id_valid((const uint8_t *)s->kek_id, klen))
		return 0;
	if (s->wrapped_len < 1 || s->wrapped_len > FORMAT_MAX_WRAPPED)
		return 0;
	return CFG_SLOT_FIXED + klen + s->wrapped_len;
}

static int config_encoded_len(const struct format_config *c, size_t *len)
{
	size_t ulen = strnlen(c->kms_uri, sizeof(c->kms_uri));
	size_t total;

	if (config_check_supported(c) || c->block_size != FORMAT_BLOCK_LEN)
		return -EINVAL;
	if (ulen < 1 || ulen > FORMAT_MAX_URI || !utf8_valid((const uint8_t *)c->kms_uri, ulen))
		return -EINVAL;
	if (c->n_slots < 1 || c->n_slots > FORMAT_MAX_SLOTS || !config_slots_consistent(c) ||
	    !config_keks_consistent(c))
		return -EINVAL;
	total = CFG_OFF_URI + ulen + 2;
	for (unsigned int i = 0; i < c->n_slots; i++) {
		size_t slen = slot_encoded_len(&c->slots[i]);

		if (!slen)
			return -EINVAL;
		total += slen;
	}
	if (c->wrap_mode == FORMAT_WRAP_KMS) {
		total += 2;
		for (unsigned int i = 0; i < c->n_keks; i++)
			total += CFG_KEK_FIXED + strlen(c->keks[i].id);
	}
	*len = total + FORMAT_MAC_LEN;
	return 0;
}

static uint8_t *slot_encode(const struct format_slot *s, uint8_t *p)
{
	size_t klen = strlen(s->kek_id);   /* bounded: slot_encoded_len checked it */

	put_u32(p, s->version);
	put_u16(p + 4, s->state);
	put_u64(p + 6, s->created);
	put_u16(p + 14, (uint16_t)klen);
	memcpy(p + 16, s->kek_id, klen);
	p += 16 + klen;
	put_u16(p, s->wrapped_len);
	memcpy(p + 2, s->wrapped, s->wrapped_len);
	return p + 2 + s->wrapped_len;
}

int format_config_encode(const struct format_config *c, uint8_t *out, size_t cap, size_t *len)
{
	size_t total = 0, ulen;
	uint8_t *p;
	int ret;

	ret = config_encoded_len(c, &total);
	if (ret)
		return ret;
	if (cap < total)
		return -ENOSPC;
	ulen = strlen(c->kms_uri);
	memcpy(out + CFG_OFF_MAGIC, FORMAT_CONFIG_MAGIC, CFG_OFF_VERSION);
	put_u16(out + CFG_OFF_VERSION, c->version);
	put_u16(out + CFG_OFF_CIPHER, c->cipher);
	put_u32(out + CFG_OFF_BLOCK_SIZE, c->block_size);
	put_u16(out + CFG_OFF_NAME_SCHEME, c->name_scheme);
	put_u16(out + CFG_OFF_WRAP_MODE, c->wrap_mode);
	put_u32(out + CFG_OFF_INCOMPAT, c->incompat_flags);
	put_u32(out + CFG_OFF_COMPAT, c->compat_flags);
	memcpy(out + CFG_OFF_VOLUME_ID, c->volume_id, FORMAT_ID_LEN);
	put_u64(out + CFG_OFF_CREATED, c->created);
	put_u32(out + CFG_OFF_PRIMARY, c->primary_version);
	put_u32(out + CFG_OFF_NAMES, c->names_version);
	put_u16(out + CFG_OFF_URI_LEN, (uint16_t)ulen);
	memcpy(out + CFG_OFF_URI, c->kms_uri, ulen);
	p = out + CFG_OFF_URI + ulen;
	put_u16(p, c->n_slots);
	p += 2;
	for (unsigned int i = 0; i < c->n_slots; i++)
		p = slot_encode(&c->slots[i], p);
	if (c->wrap_mode == FORMAT_WRAP_KMS) {
		put_u16(p, c->n_keks);
		p += 2;
		for (unsigned int i = 0; i < c->n_keks; i++) {
			size_t klen = strlen(c->keks[i].id);

			put_u32(p, c->keks[i].ref);
			put_u16(p + 4, (uint16_t)klen);
			memcpy(p + CFG_KEK_FIXED, c->keks[i].id, klen);
			p += CFG_KEK_FIXED + klen;
		}
	}
	memcpy(p, c->mac, FORMAT_MAC_LEN);
	*len = total;
	return 0;
}

/* ---- §3 volume config: decode ------------------------------------------ */

/* A bounds-checked read cursor over the config body (MAC excluded). */
struct reader {
	const uint8_t *p;
	size_t left;
};

static const uint8_t *take(struct reader *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->left < n)
		return NULL;
	r->p += n;
	r->left -= n;
	return p;
}

/* A u16 length, then that many bytes; the length must lie in [1, max]. */
static const uint8_t *take_field(struct reader *r, size_t max, size_t *len)
{
	const uint8_t *p = take(r, 2);

	if (!p)
		return NULL;
	*len = get_u16(p);
	if (*len < 1 || *len > max)
		return NULL;
	return take(r, *len);
}

static int slot_decode(struct reader *r, struct format_slot *s)
{
	const uint8_t *p = take(r, 14), *kek, *wrapped;
	size_t klen, wlen;

	if (!p)
		return -EBADMSG;
	s->version = get_u32(p);
	s->state = get_u16(p + 4);
	s->created = get_u64(p + 6);
	kek = take_field(r, FORMAT_MAX_KEKID, &klen);
	if (!kek || !kek_id_valid(kek, klen))
		return -EBADMSG;
	memcpy(s->kek_id, kek, klen);
	s->kek_id[klen] = '\0';
	wrapped = take_field(r, FORMAT_MAX_WRAPPED, &wlen);
	if (!wrapped)
		return -EBADMSG;
	s->wrapped_len = (uint16_t)wlen;
	memcpy(s->wrapped, wrapped, wlen);
	return 0;
}

/* §3.3: the KEK table of a wrap mode 2 config. */
static int keks_decode(struct reader *r, struct format_config *c)
{
	const uint8_t *p = take(r, 2), *id;
	size_t klen;

	if (!p)
		return -EBADMSG;
	c->n_keks = get_u16(p);
	if (c->n_keks < 1 || c->n_keks > FORMAT_MAX_KEKS)
		return -EBADMSG;
	for (unsigned int i = 0; i < c->n_keks; i++) {
		p = take(r, 4);
		if (!p)
			return -EBADMSG;
		c->keks[i].ref = get_u32(p);
		id = take_field(r, FORMAT_MAX_KEKID, &klen);
		if (!id || !kek_id_valid(id, klen))
			return -EBADMSG;
		memcpy(c->keks[i].id, id, klen);
		c->keks[i].id[klen] = '\0';
	}
	return 0;
}

static void config_decode_fixed(const uint8_t *in, struct format_config *c)
{
	c->version = get_u16(in + CFG_OFF_VERSION);
	c->cipher = get_u16(in + CFG_OFF_CIPHER);
	c->block_size = get_u32(in + CFG_OFF_BLOCK_SIZE);
	c->name_scheme = get_u16(in + CFG_OFF_NAME_SCHEME);
	c->wrap_mode = get_u16(in + CFG_OFF_WRAP_MODE);
	c->incompat_flags = get_u32(in + CFG_OFF_INCOMPAT);
	c->compat_flags = get_u32(in + CFG_OFF_COMPAT);
	memcpy(c->volume_id, in + CFG_OFF_VOLUME_ID, FORMAT_ID_LEN);
	c->created = get_u64(in + CFG_OFF_CREATED);
	c->primary_version = get_u32(in + CFG_OFF_PRIMARY);
	c->names_version = get_u32(in + CFG_OFF_NAMES);
}

/* Everything after the fixed fields: URI, slots, then exactly the MAC. */
static int config_decode_body(const uint8_t *in, size_t len, struct format_config *c)
{
	struct reader r = { in + CFG_OFF_URI_LEN, len - CFG_OFF_URI_LEN - FORMAT_MAC_LEN };
	const uint8_t *uri, *p;
	size_t ulen;
	int ret;

	uri = take_field(&r, FORMAT_MAX_URI, &ulen);
	if (!uri || !utf8_valid(uri, ulen))
		return -EBADMSG;
	memcpy(c->kms_uri, uri, ulen);
	c->kms_uri[ulen] = '\0';
	p = take(&r, 2);
	if (!p)
		return -EBADMSG;
	c->n_slots = get_u16(p);
	if (c->n_slots < 1 || c->n_slots > FORMAT_MAX_SLOTS)
		return -EBADMSG;
	for (unsigned int i = 0; i < c->n_slots; i++) {
		ret = slot_decode(&r, &c->slots[i]);
		if (ret)
			return ret;
	}
	if (c->wrap_mode == FORMAT_WRAP_KMS) {
		ret = keks_decode(&r, c);
		if (ret)
			return ret;
	}
	if (r.left != 0 || !config_slots_consistent(c) || !config_keks_consistent(c))
		return -EBADMSG;
	memcpy(c->mac, in + len - FORMAT_MAC_LEN, FORMAT_MAC_LEN);
	return 0;
}

int format_config_decode(const uint8_t *in, size_t len, struct format_config *c)
{
	int ret = -EBADMSG;

	memset(c, 0, sizeof(*c));
	if (len < CFG_OFF_URI_LEN ||
	    memcmp(in + CFG_OFF_MAGIC, FORMAT_CONFIG_MAGIC, CFG_OFF_VERSION) != 0)
		goto out;
	config_decode_fixed(in, c);
	/* §3.1 step 1: "unsupported" is decided from the fixed fields alone, so a
	 * newer volume is reported as such even if its layout differs after them. */
	ret = config_check_supported(c);
	if (ret)
		goto out;
	ret = -EBADMSG;
	if (len > FORMAT_CONFIG_MAX || len < CFG_OFF_URI_LEN + FORMAT_MAC_LEN ||
	    c->block_size != FORMAT_BLOCK_LEN)
		goto out;
	ret = config_decode_body(in, len, c);
out:
	/* A refused config leaves nothing half-filled for a careless caller. */
	if (ret)
		memset(c, 0, sizeof(*c));
	return ret;
}
