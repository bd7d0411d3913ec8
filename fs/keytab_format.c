/*
 * keytab_format.c: the key table's bytes (docs/FORMAT.md §12.1, §12.2): the
 * 1280-byte header, strictly decoded like format.c's objects (bounded lengths,
 * zero padding, canonical), and the sealing of 4096-byte pages of slot
 * secrets. The decoder is attacker-facing (a copied or edited table) and
 * fuzzed (tests/fuzz/fuzz-keytab.c).
 *
 * Deliberately no file I/O and no KMS: keytab.c reads and writes the file,
 * keytab_shred.c makes new epochs. The keys used here come from keys.c's table.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "cipher.h"
#include "keytab_format.h"
#include "le.h"

/* §12.1 offsets. */
enum {
	KT_OFF_MAGIC = 0,
	KT_OFF_VERSION = 8,
	KT_OFF_PER_PAGE = 10,
	KT_OFF_PAGES = 12,
	KT_OFF_EPOCH = 16,
	KT_OFF_NEXT_FREE = 24,
	KT_OFF_DESTROYED = 28,
	KT_OFF_VOLUME_ID = 32,
	KT_OFF_KEKID_LEN = 48,
	KT_OFF_KEKID = 50,
	KT_OFF_BLOB_LEN = KT_OFF_KEKID + KEYTAB_MAX_KEKID,     /* 178 */
	KT_OFF_BLOB = KT_OFF_BLOB_LEN + 2,                    /* 180 */
	KT_OFF_RESERVED = KT_OFF_BLOB + KEYTAB_MAX_BLOB,      /* 1204 */
};

static_assert(sizeof(KEYTAB_MAGIC) - 1 == KT_OFF_VERSION, "FORMAT.md §12.1: magic 8 bytes");
static_assert(KT_OFF_VOLUME_ID + FORMAT_ID_LEN == KT_OFF_KEKID_LEN, "FORMAT.md §12.1");
static_assert(KT_OFF_RESERVED <= KEYTAB_HDR_MAC_OFF, "FORMAT.md §12.1: reserved 1204..1247");
static_assert(KEYTAB_HDR_MAC_OFF == 1248, "FORMAT.md §12.1: MAC at 1248");
static_assert(KEYTAB_PAGE_PLAIN == 4096 && KEYTAB_PAGE_LEN == 4124, "FORMAT.md §12.2");
static_assert(CIPHER_KEY_LEN == KEYS_TK_LEN, "page key is an AES-256 key");

#define TK_AAD_PREFIX "phifs/v1/keytab-key"
#define TK_AAD_PREFIX_LEN (sizeof(TK_AAD_PREFIX) - 1)
static_assert(TK_AAD_PREFIX_LEN + FORMAT_ID_LEN + 8 <= 64, "keytab_tk_aad: out[64]");
#define PAGE_AAD_LEN (FORMAT_ID_LEN + 8 + 4)

static bool zero_from(const uint8_t *p, size_t len)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < len; i++)
		acc |= p[i];
	return acc == 0;
}

static bool kekid_ok(const char *s, size_t len)
{
	if (len < 1 || len > KEYTAB_MAX_KEKID)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

/* Field rules shared by encode and decode. */
static bool header_sane(const struct keytab_header *h, size_t kekid_len)
{
	return h->epoch >= 1 && h->pages <= KEYTAB_MAX_PAGES &&
	       h->next_free <= (uint64_t)h->pages * KEYTAB_PER_PAGE &&
	       h->destroyed <= h->next_free && kekid_ok(h->kek_id, kekid_len) &&
	       h->blob_len >= 1 && h->blob_len <= KEYTAB_MAX_BLOB;
}

int keytab_header_encode(const struct keytab_header *h, uint8_t out[KEYTAB_HDR_LEN])
{
	size_t idlen = strnlen(h->kek_id, sizeof(h->kek_id));

	if (!header_sane(h, idlen))
		return -EINVAL;
	memset(out, 0, KEYTAB_HDR_LEN);
	memcpy(out + KT_OFF_MAGIC, KEYTAB_MAGIC, KT_OFF_VERSION);
	le_put(out + KT_OFF_VERSION, KEYTAB_VERSION, 2);
	le_put(out + KT_OFF_PER_PAGE, KEYTAB_PER_PAGE, 2);
	le_put(out + KT_OFF_PAGES, h->pages, 4);
	le_put(out + KT_OFF_EPOCH, h->epoch, 8);
	le_put(out + KT_OFF_NEXT_FREE, h->next_free, 4);
	le_put(out + KT_OFF_DESTROYED, h->destroyed, 4);
	memcpy(out + KT_OFF_VOLUME_ID, h->volume_id, FORMAT_ID_LEN);
	le_put(out + KT_OFF_KEKID_LEN, idlen, 2);
	memcpy(out + KT_OFF_KEKID, h->kek_id, idlen);
	le_put(out + KT_OFF_BLOB_LEN, h->blob_len, 2);
	memcpy(out + KT_OFF_BLOB, h->blob, h->blob_len);
	memcpy(out + KEYTAB_HDR_MAC_OFF, h->mac, FORMAT_MAC_LEN);
	return 0;
}

int keytab_header_decode(const uint8_t *in, size_t len, struct keytab_header *h)
{
	size_t idlen;

	memset(h, 0, sizeof(*h));
	if (len != KEYTAB_HDR_LEN || memcmp(in, KEYTAB_MAGIC, KT_OFF_VERSION) != 0)
		return -EBADMSG;
	if (le_get(in + KT_OFF_VERSION, 2) != KEYTAB_VERSION ||
	    le_get(in + KT_OFF_PER_PAGE, 2) != KEYTAB_PER_PAGE)
		return -EPROTO;
	h->pages = (uint32_t)le_get(in + KT_OFF_PAGES, 4);
	h->epoch = le_get(in + KT_OFF_EPOCH, 8);
	h->next_free = (uint32_t)le_get(in + KT_OFF_NEXT_FREE, 4);
	h->destroyed = (uint32_t)le_get(in + KT_OFF_DESTROYED, 4);
	memcpy(h->volume_id, in + KT_OFF_VOLUME_ID, FORMAT_ID_LEN);
	idlen = (size_t)le_get(in + KT_OFF_KEKID_LEN, 2);
	h->blob_len = (uint16_t)le_get(in + KT_OFF_BLOB_LEN, 2);
	if (idlen > KEYTAB_MAX_KEKID || h->blob_len > KEYTAB_MAX_BLOB)
		goto bad;
	memcpy(h->kek_id, in + KT_OFF_KEKID, idlen);
	memcpy(h->blob, in + KT_OFF_BLOB, h->blob_len);
	memcpy(h->mac, in + KEYTAB_HDR_MAC_OFF, FORMAT_MAC_LEN);
	if (!header_sane(h, idlen) ||
	    !zero_from(in + KT_OFF_KEKID + idlen, KEYTAB_MAX_KEKID - idlen) ||
	    !zero_from(in + KT_OFF_BLOB + h->blob_len, KEYTAB_MAX_BLOB - h->blob_len) ||
	    !zero_from(in + KT_OFF_RESERVED, KEYTAB_HDR_MAC_OFF - KT_OFF_RESERVED))
		goto bad;
	return 0;
bad:
	memset(h, 0, sizeof(*h));
	return -EBADMSG;
}

int keytab_header_mac(const uint8_t mac_key[KEYS_TK_LEN], const uint8_t enc[KEYTAB_HDR_LEN],
		      uint8_t mac[FORMAT_MAC_LEN])
{
	return cipher_hmac_sha256(mac_key, KEYS_TK_LEN, enc, KEYTAB_HDR_MAC_OFF, mac);
}

size_t keytab_tk_aad(const uint8_t volume_id[FORMAT_ID_LEN], uint64_t epoch, uint8_t out[64])
{
	memcpy(out, TK_AAD_PREFIX, TK_AAD_PREFIX_LEN);
	memcpy(out + TK_AAD_PREFIX_LEN, volume_id, FORMAT_ID_LEN);
	le_put(out + TK_AAD_PREFIX_LEN + FORMAT_ID_LEN, epoch, 8);
	return TK_AAD_PREFIX_LEN + FORMAT_ID_LEN + 8;
}

static void page_aad(const uint8_t volume_id[FORMAT_ID_LEN], uint64_t epoch, uint32_t page,
		     uint8_t aad[PAGE_AAD_LEN])
{
	memcpy(aad, volume_id, FORMAT_ID_LEN);
	le_put(aad + FORMAT_ID_LEN, epoch, 8);
	le_put(aad + FORMAT_ID_LEN + 8, page, 4);
}

int keytab_page_seal(const uint8_t page_key[KEYS_TK_LEN], const uint8_t volume_id[FORMAT_ID_LEN],
		     uint64_t epoch, uint32_t page, const uint8_t *plain, uint8_t *out)
{
	uint8_t aad[PAGE_AAD_LEN];
	int ret;

	page_aad(volume_id, epoch, page, aad);
	ret = cipher_random(out, CIPHER_GCM_NONCE_LEN);
	if (ret)
		return ret;
	return cipher_gcm_seal(page_key, out, aad, sizeof(aad), plain, KEYTAB_PAGE_PLAIN,
			       out + CIPHER_GCM_NONCE_LEN,
			       out + CIPHER_GCM_NONCE_LEN + KEYTAB_PAGE_PLAIN);
}

int keytab_page_open(const uint8_t page_key[KEYS_TK_LEN], const uint8_t volume_id[FORMAT_ID_LEN],
		     uint64_t epoch, uint32_t page, const uint8_t *in, uint8_t *plain)
{
	uint8_t aad[PAGE_AAD_LEN];

	page_aad(volume_id, epoch, page, aad);
	return cipher_gcm_open(page_key, in, aad, sizeof(aad), in + CIPHER_GCM_NONCE_LEN,
			       KEYTAB_PAGE_PLAIN, in + CIPHER_GCM_NONCE_LEN + KEYTAB_PAGE_PLAIN,
			       plain);
}

uint64_t keytab_page_off(uint32_t page)
{
	return KEYTAB_HDR_LEN + (uint64_t)page * KEYTAB_PAGE_LEN;
}
