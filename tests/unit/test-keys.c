/*
 * test-keys.c: fs/keys.c against docs/FORMAT.md §2.1 (derivation table),
 * §3.2 (VK wrap AAD), §4.1 (header MAC) and §4.2 (data-key wrap).
 *
 * The known-answer values were computed once with an independent Python
 * implementation (hmac/hashlib HKDF, pyca AES-GCM) from the FORMAT.md text:
 * VK = 00..1f (version 7), volume id = a0..af, DK = 40..5f, file id = c0..cf,
 * wrap nonce = 10..1b. They pin the context strings and the wrap/MAC layout.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include "testutil.h"
#include "cipher.h"
#include "format.h"
#include "keys.h"
#include "secmem.h"

static const char kat_names[] =
	"463de027489a7ae55ff0d4b7d0a8fd9d6f3b5dd60fad32558b86caa8e874e046"
	"c6b119ea7dc8cb68010b02cfa0f3eb5c98576d990bc08afacde075d7a61abb81";
static const char kat_xattr[] =
	"29bc9b09de3f39269fc2a36a55081b62efc09eaef4bd2d225fe99139fdd05ff1"
	"fceb09b884296cc3701e487449d4d1e21e2b4262c56a23d4c5291b118e40bdb7";
static const char kat_audit[] =
	"a9f9cf7b9b2ac3d4e8b8889578853c7ce1fa2c740dcbcacf860c65d30fdd3ea8";
/* HMAC-SHA256(config-mac key, "phifs config body") */
static const char kat_config_mac[] =
	"6e412c479b55aacef608aced11ef0f16f2517a84d7309094f8379c62f6017825";
static const char kat_header_gcm[] =
	"5048465301000101c0c1c2c3c4c5c6c7c8c9cacbcccdcecf0700000001000000"
	"00000000000000003c00000000000000101112131415161718191a1b18af09ab"
	"8d5fdf1ed06c4093a49cde2a1d45e54b48ae10dac41682338e9d51afe2303e60"
	"c6247da2f79458148527e4ec0000000000000000000000000000000000000000"
	"000000000000000000000000000000002bade68f8bef91d08e3c57c5edc08d8b"
	"61ca8cc1c20dc358471bba0c7da4aacd";
static const char kat_header_xts[] =
	"5048465301000201c0c1c2c3c4c5c6c7c8c9cacbcccdcecf0700000001000000"
	"00000000000000003c00000000000000101112131415161718191a1b18af09ab"
	"8d5fdf1ed06c4093a49cde2a1d45e54b48ae10dac41682338e9d51af3fb962b3"
	"e2612855d1d64e8c108339430000000000000000000000000000000000000000"
	"000000000000000000000000000000006a9e8d4b6eec043f14bee8c3dbcd0bc4"
	"d2094fe7072bae18095bc52644bee3f4";
static const char kat_header_mac_key[] =
	"cc27a3416d39c90d5f159874ade1ae8d9dfa411f7f0f1490e703fa792a753f64";
static const char kat_block_gcm[] =
	"9fd55037aea08579067791f9fb63b99446df6e413a1013ac6c938d44e97f1630";
static const char kat_block_xts[] =
	"a463e5798081c56eb72580d5890e461d689a75e3b3b0f6ad0c3f90c738220d57"
	"d31e2f97d8fe3ae187a358f9c52523ca3710552aa17e797be83b6fc53959a5a0";
static const char kat_xts_tail[] =
	"6652843c3545e6574b4e8da356de327be9d82361a6cee51df84eb1696fd1e0da";

static void fill_seq(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

static void assert_hex(const uint8_t *got, const char *hex)
{
	size_t len;
	uint8_t *exp = tu_hex(hex, &len);

	assert_memory_equal(got, exp, len);
	free(exp);
}

/* The KAT volume: VK 00..1f as `version`, volume id a0..af. */
static struct keys_volume *kat_volume(uint32_t version)
{
	struct keys_volume *kv = NULL;
	uint8_t vid[16], vk[32];

	fill_seq(vid, 16, 0xa0);
	fill_seq(vk, 32, 0x00);
	assert_int_equal(keys_volume_new(vid, &kv), 0);
	assert_int_equal(keys_volume_add(kv, version, vk), 0);
	assert_int_equal(keys_volume_set_primary(kv, version), 0);
	assert_int_equal(keys_volume_set_names(kv, version), 0);
	return kv;
}

/* A volume with random VKs for the listed versions; primary = first. */
static struct keys_volume *rand_volume(const uint8_t vid[16], const uint32_t *vers, size_t n)
{
	struct keys_volume *kv = NULL;
	uint8_t vk[32];

	assert_int_equal(keys_volume_new(vid, &kv), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(keys_random_key(vk, sizeof(vk)), 0);
		assert_int_equal(keys_volume_add(kv, vers[i], vk), 0);
	}
	secmem_wipe(vk, sizeof(vk));
	assert_int_equal(keys_volume_set_primary(kv, vers[0]), 0);
	assert_int_equal(keys_volume_set_names(kv, vers[0]), 0);
	return kv;
}

static void new_file(const struct keys_volume *kv, uint8_t cipher, struct format_header *h,
		     uint8_t hdr[FORMAT_HEADER_LEN], struct keys_file **fk)
{
	assert_int_equal(keys_file_create(kv, cipher, h, fk), 0);
	assert_int_equal(keys_header_seal(*fk, h, hdr), 0);
}

/* ---- §2.1 purpose keys ------------------------------------------------- */

static void test_kat_volume_keys(void **state)
{
	struct keys_volume *kv = kat_volume(7);
	uint8_t mac[32];

	(void)state;
	assert_hex(keys_names_key(kv), kat_names);
	assert_hex(keys_xattr_key(kv), kat_xattr);
	assert_hex(keys_audit_key(kv), kat_audit);
	assert_int_equal(keys_config_mac(kv, 7, (const uint8_t *)"phifs config body", 17, mac), 0);
	assert_hex(mac, kat_config_mac);
	keys_volume_free(kv);
}

/* A lock wipes every VK and derived key in place; restore derives them again. */
static void test_evict_restore(void **state)
{
	struct keys_volume *kv = kat_volume(7);
	uint8_t vk[KEYS_VK_LEN], zero[KEYS_NAMES_LEN] = { 0 };

	(void)state;
	memcpy(vk, keys_volume_vk(kv, 7), KEYS_VK_LEN);
	keys_volume_evict(kv);
	assert_memory_equal(keys_names_key(kv), zero, KEYS_NAMES_LEN);
	assert_memory_equal(keys_volume_vk(kv, 7), zero, KEYS_VK_LEN);
	assert_true(keys_volume_has(kv, 7));            /* the version stays known */
	assert_int_equal(keys_volume_restore(kv, 8, vk), -ENOKEY);
	assert_int_equal(keys_volume_restore(kv, 7, vk), 0);
	assert_hex(keys_names_key(kv), kat_names);
	assert_hex(keys_audit_key(kv), kat_audit);
	keys_volume_free(kv);
}

static void test_derivation_deterministic_distinct(void **state)
{
	struct keys_volume *a = kat_volume(7), *b = kat_volume(7), *c = NULL, *d = NULL;
	uint8_t vid[16], vk[32], ma[32], mb[32];

	(void)state;
	/* Same VK and volume id: same keys. */
	assert_memory_equal(keys_names_key(a), keys_names_key(b), KEYS_NAMES_LEN);
	assert_memory_equal(keys_xattr_key(a), keys_xattr_key(b), KEYS_XATTR_LEN);
	assert_memory_equal(keys_audit_key(a), keys_audit_key(b), KEYS_AUDIT_LEN);
	/* Different contexts: different keys (compare the common 32-byte prefix). */
	assert_memory_not_equal(keys_names_key(a), keys_xattr_key(a), 32);
	assert_memory_not_equal(keys_names_key(a), keys_audit_key(a), 32);
	assert_memory_not_equal(keys_xattr_key(a), keys_audit_key(a), 32);
	assert_memory_not_equal(keys_names_key(a), keys_names_key(a) + 32, 32);

	/* Same VK under another volume id: different keys (salt = volume id). */
	fill_seq(vid, 16, 0xa1);
	fill_seq(vk, 32, 0x00);
	assert_int_equal(keys_volume_new(vid, &c), 0);
	assert_int_equal(keys_volume_add(c, 7, vk), 0);
	assert_int_equal(keys_volume_set_names(c, 7), 0);
	assert_memory_not_equal(keys_names_key(a), keys_names_key(c), KEYS_NAMES_LEN);
	/* Another VK version in the same volume: different keys and config MAC. */
	fill_seq(vid, 16, 0xa0);
	fill_seq(vk, 32, 0x01);
	assert_int_equal(keys_volume_new(vid, &d), 0);
	assert_int_equal(keys_volume_add(d, 7, vk), 0);
	assert_int_equal(keys_volume_set_names(d, 7), 0);
	assert_memory_not_equal(keys_names_key(a), keys_names_key(d), KEYS_NAMES_LEN);
	assert_int_equal(keys_config_mac(a, 7, vk, 32, ma), 0);
	assert_int_equal(keys_config_mac(d, 7, vk, 32, mb), 0);
	assert_memory_not_equal(ma, mb, 32);
	keys_volume_free(a);
	keys_volume_free(b);
	keys_volume_free(c);
	keys_volume_free(d);
}

static void test_volume_errors(void **state)
{
	struct keys_volume *kv = NULL;
	struct keys_file *fk = (struct keys_file *)(uintptr_t)1;
	struct format_header h;
	uint8_t vid[16] = { 0 }, vk[32] = { 1 }, mac[32];

	(void)state;
	assert_int_equal(keys_volume_new(vid, &kv), 0);
	assert_null(keys_names_key(kv));
	assert_null(keys_xattr_key(kv));
	assert_null(keys_audit_key(kv));
	assert_int_equal(keys_volume_has(kv, 1), 0);
	assert_int_equal(keys_volume_set_primary(kv, 1), -ENOKEY);
	assert_int_equal(keys_volume_set_names(kv, 1), -ENOKEY);
	assert_int_equal(keys_config_mac(kv, 1, vk, 1, mac), -ENOKEY);
	assert_int_equal(keys_file_create(kv, FORMAT_CIPHER_GCM, &h, &fk), -ENOKEY);
	assert_null(fk);
	for (uint32_t v = 100; v < 100 + FORMAT_MAX_SLOTS; v++)
		assert_int_equal(keys_volume_add(kv, v, vk), 0);
	assert_int_equal(keys_volume_add(kv, 100, vk), -EEXIST);
	assert_int_equal(keys_volume_add(kv, 999, vk), -ENOSPC);
	assert_int_equal(keys_volume_has(kv, 115), 1);
	assert_int_equal(keys_volume_has(kv, 116), 0);
	assert_int_equal(keys_volume_set_primary(kv, 999), -ENOKEY);
	assert_int_equal(keys_volume_set_primary(kv, 105), 0);
	assert_int_equal(keys_volume_primary(kv), 105);
	assert_int_equal(keys_volume_set_names(kv, 106), 0);
	assert_non_null(keys_names_key(kv));
	assert_memory_equal(keys_volume_id(kv), vid, 16);
	assert_int_equal(keys_file_create(kv, 0, &h, &fk), -EINVAL);
	assert_int_equal(keys_file_create(kv, 3, &h, &fk), -EINVAL);
	keys_volume_free(kv);
	keys_volume_free(NULL);
	keys_file_free(NULL);
}

static void test_vk_wrap_aad(void **state)
{
	uint8_t vid[16], out[64], exp[39];

	(void)state;
	fill_seq(vid, 16, 0xa0);
	memcpy(exp, "phifs/v1/volume-key", 19);
	memcpy(exp + 19, vid, 16);
	memcpy(exp + 35, "\x07\x01\x00\x80", 4);
	assert_int_equal(keys_vk_wrap_aad(vid, 0x80000107u, out), 39);
	assert_memory_equal(out, exp, 39);
}

static void test_random_key(void **state)
{
	uint8_t a[32] = { 0 }, b[32] = { 0 }, zero[32] = { 0 };

	(void)state;
	assert_int_equal(keys_random_key(a, sizeof(a)), 0);
	assert_int_equal(keys_random_key(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, 32);
	assert_memory_not_equal(a, zero, 32);
}

/* ---- §4 file keys -------------------------------------------------------- */

static void kat_open(const char *hex, uint8_t cipher)
{
	struct keys_volume *kv = kat_volume(7);
	struct keys_file *fk = NULL;
	struct format_header h;
	uint8_t dk[32], fid[16], resealed[176];
	size_t len;
	uint8_t *hdr = tu_hex(hex, &len);

	fill_seq(dk, 32, 0x40);
	fill_seq(fid, 16, 0xc0);
	assert_int_equal(len, 176);
	assert_int_equal(keys_file_open(kv, hdr, len, &h, &fk), 0);
	assert_non_null(fk);
	assert_memory_equal(fk->dk, dk, 32);
	assert_memory_equal(fk->file_id, fid, 16);
	assert_int_equal(fk->cipher, cipher);
	assert_hex(fk->header_mac_key, kat_header_mac_key);
	if (cipher == FORMAT_CIPHER_GCM) {
		assert_hex(fk->block_key, kat_block_gcm);
	} else {
		assert_hex(fk->block_key, kat_block_xts);
		assert_hex(fk->tail_key, kat_xts_tail);
	}
	assert_int_equal(h.flags, FORMAT_HDR_HAS_DATA);
	/* Sealing the unchanged header reproduces it exactly (the MAC is deterministic). */
	assert_int_equal(keys_header_seal(fk, &h, resealed), 0);
	assert_memory_equal(resealed, hdr, 176);
	keys_file_free(fk);
	keys_volume_free(kv);
	free(hdr);
}

static void test_kat_header_open(void **state)
{
	(void)state;
	kat_open(kat_header_gcm, FORMAT_CIPHER_GCM);
	kat_open(kat_header_xts, FORMAT_CIPHER_XTS);
}

/* A header we create is what §4.2 says: an independent unwrap and MAC agree. */
static void test_create_matches_spec(void **state)
{
	struct keys_volume *kv = kat_volume(7);
	struct keys_file *fk = NULL;
	struct format_header h;
	uint8_t hdr[176], wrapkey[32], vk[32], vid[16], dk[32], mackey[32], mac[32], zero[96] = { 0 };

	(void)state;
	new_file(kv, FORMAT_CIPHER_GCM, &h, hdr, &fk);
	assert_int_equal(h.wrap_kind, FORMAT_WRAP_VOLUME);
	assert_int_equal(h.wrap_key_version, 7);
	assert_int_equal(h.cipher, FORMAT_CIPHER_GCM);
	assert_int_equal(h.flags, 0);
	assert_int_equal(h.pending_size, 0);
	assert_int_equal(h.wrapped_len, 60);
	assert_memory_equal(h.file_id, fk->file_id, 16);
	assert_memory_equal(hdr + 8, fk->file_id, 16);
	assert_memory_equal(hdr + 108, zero, 36);

	fill_seq(vk, 32, 0x00);
	fill_seq(vid, 16, 0xa0);
	assert_int_equal(cipher_hkdf_sha256(vk, 32, vid, 16, "phifs/v1/data-key-wrap", 22,
					    wrapkey, 32), 0);
	assert_int_equal(cipher_gcm_open(wrapkey, hdr + 48, hdr, 28, hdr + 60, 32, hdr + 92, dk), 0);
	assert_memory_equal(dk, fk->dk, 32);
	assert_int_equal(cipher_hkdf_sha256(dk, 32, fk->file_id, 16, "phifs/v1/header-mac", 19,
					    mackey, 32), 0);
	assert_int_equal(cipher_hmac_sha256(mackey, 32, hdr, 144, mac), 0);
	assert_memory_equal(mac, hdr + 144, 32);
	assert_memory_equal(mac, h.mac, 32);
	secmem_wipe(dk, sizeof(dk));
	keys_file_free(fk);
	keys_volume_free(kv);
}

static void roundtrip(uint8_t cipher)
{
	const uint32_t vers[] = { 3 };
	uint8_t vid[16] = { 9 }, hdr[176], hdr2[176];
	struct keys_volume *kv = rand_volume(vid, vers, 1);
	struct keys_file *fk = NULL, *fk2 = NULL, *back = NULL;
	struct format_header h, h2, hb;

	new_file(kv, cipher, &h, hdr, &fk);
	new_file(kv, cipher, &h2, hdr2, &fk2);
	/* Fresh file id and DK every time. */
	assert_memory_not_equal(fk->file_id, fk2->file_id, 16);
	assert_memory_not_equal(fk->dk, fk2->dk, 32);

	assert_int_equal(keys_file_open(kv, hdr, sizeof(hdr), &hb, &back), 0);
	assert_memory_equal(back->dk, fk->dk, 32);
	assert_memory_equal(back->file_id, fk->file_id, 16);
	assert_memory_equal(back->block_key, fk->block_key, 64);
	assert_memory_equal(back->tail_key, fk->tail_key, 32);
	assert_memory_equal(back->header_mac_key, fk->header_mac_key, 32);
	assert_int_equal(back->cipher, cipher);
	/* Per-file keys from different contexts differ. */
	assert_memory_not_equal(fk->block_key, fk->header_mac_key, 32);
	if (cipher == FORMAT_CIPHER_XTS) {
		assert_memory_not_equal(fk->block_key, fk->tail_key, 32);
		assert_memory_not_equal(fk->block_key + 32, fk->tail_key, 32);
		assert_memory_not_equal(fk->tail_key, fk->header_mac_key, 32);
	}
	keys_file_free(back);
	keys_file_free(fk);
	keys_file_free(fk2);
	keys_volume_free(kv);
}

static void test_create_open_roundtrip(void **state)
{
	(void)state;
	roundtrip(FORMAT_CIPHER_GCM);
	roundtrip(FORMAT_CIPHER_XTS);
}

static void test_header_seal_flags(void **state)
{
	const uint32_t vers[] = { 1 };
	uint8_t vid[16] = { 1 }, hdr[176];
	struct keys_volume *kv = rand_volume(vid, vers, 1);
	struct keys_file *fk = NULL, *back = NULL;
	struct format_header h, hb, other;

	(void)state;
	new_file(kv, FORMAT_CIPHER_GCM, &h, hdr, &fk);
	h.flags = FORMAT_HDR_HAS_DATA | FORMAT_HDR_TRUNC_PENDING;
	h.pending_size = 123456789;
	assert_int_equal(keys_header_seal(fk, &h, hdr), 0);
	assert_int_equal(keys_file_open(kv, hdr, sizeof(hdr), &hb, &back), 0);
	assert_int_equal(hb.flags, FORMAT_HDR_HAS_DATA | FORMAT_HDR_TRUNC_PENDING);
	assert_true(hb.pending_size == 123456789);
	keys_file_free(back);
	/* A flag this format does not define is never sealed. */
	h.flags = 0x4;
	assert_int_equal(keys_header_seal(fk, &h, hdr), -EINVAL);
	/* Nor a header that belongs to another file. */
	other = h;
	other.flags = 0;
	other.file_id[0] ^= 1;
	assert_int_equal(keys_header_seal(fk, &other, hdr), -EINVAL);
	keys_file_free(fk);
	keys_volume_free(kv);
}

/*
 * The error keys_file_open must give for a header whose byte `off` was XORed
 * with `mask`. The volume holds versions 7 (the file's) and 6, so a key
 * version edited to 6 reaches the unwrap and fails there.
 */
static int flip_expect(size_t off, uint8_t mask, const struct keys_volume *kv)
{
	if (off < 4)
		return -EBADMSG;           /* magic */
	if (off < 8)
		return -EPROTO;            /* version, cipher, wrap kind: never 1/2 after these masks */
	if (off >= 24 && off < 28) {
		uint32_t v = 7u ^ ((uint32_t)mask << (8 * (off - 24)));

		return keys_volume_has(kv, v) ? -EBADMSG : -ENOKEY;
	}
	return -EBADMSG;                   /* file id, flags, sizes, wrapped, padding, MAC */
}

static void flip_all(uint8_t cipher)
{
	const uint32_t vers[] = { 7, 6 };
	const uint8_t masks[] = { 0x01, 0x80, 0xff };
	uint8_t vid[16] = { 2 }, hdr[176], bad[176];
	struct keys_volume *kv = rand_volume(vid, vers, 2);
	struct keys_file *fk = NULL, *back = NULL;
	struct format_header h, hb;

	new_file(kv, cipher, &h, hdr, &fk);
	for (size_t m = 0; m < sizeof(masks); m++) {
		for (size_t off = 0; off < 176; off++) {
			int rc, want = flip_expect(off, masks[m], kv);

			memcpy(bad, hdr, 176);
			bad[off] ^= masks[m];
			rc = keys_file_open(kv, bad, sizeof(bad), &hb, &back);
			if (rc != want)
				fail_msg("cipher %d: byte %zu ^ 0x%02x: got %d, want %d", cipher, off,
					 masks[m], rc, want);
			assert_null(back);
		}
	}
	assert_int_equal(keys_file_open(kv, hdr, sizeof(hdr), &hb, &back), 0);
	keys_file_free(back);
	keys_file_free(fk);
	keys_volume_free(kv);
}

static void test_every_byte_flip_refused(void **state)
{
	(void)state;
	flip_all(FORMAT_CIPHER_GCM);
	flip_all(FORMAT_CIPHER_XTS);
}

static void test_open_bad_inputs(void **state)
{
	const uint32_t vers[] = { 7 };
	uint8_t vid[16] = { 3 }, hdr[176];
	struct keys_volume *kv = rand_volume(vid, vers, 1), *other = rand_volume(vid, vers, 1);
	struct keys_file *fk = NULL, *back = NULL;
	struct format_header h, hb;

	(void)state;
	new_file(kv, FORMAT_CIPHER_GCM, &h, hdr, &fk);
	assert_int_equal(keys_file_open(kv, hdr, 175, &hb, &back), -EBADMSG);
	/* Same version number, different VK: the wrap does not open. */
	assert_int_equal(keys_file_open(other, hdr, sizeof(hdr), &hb, &back), -EBADMSG);
	assert_null(back);
	keys_file_free(fk);
	keys_volume_free(kv);
	keys_volume_free(other);
}

/* §4.2: a wrapped key copied into another file's header does not unwrap. */
static void test_wrapped_key_transplant(void **state)
{
	const uint32_t vers[] = { 1 };
	uint8_t vid[16] = { 4 }, a[176], b[176], mixed[176];
	struct keys_volume *kv = rand_volume(vid, vers, 1);
	struct keys_file *fa = NULL, *fb = NULL, *back = NULL;
	struct format_header ha, hb, hx;

	(void)state;
	new_file(kv, FORMAT_CIPHER_GCM, &ha, a, &fa);
	new_file(kv, FORMAT_CIPHER_GCM, &hb, b, &fb);
	/* Only the wrapped key. */
	memcpy(mixed, b, 176);
	memcpy(mixed + 48, a + 48, 60);
	assert_int_equal(keys_file_open(kv, mixed, sizeof(mixed), &hx, &back), -EBADMSG);
	/* Everything but B's file id (key version, flags, wrapped key, MAC). */
	memcpy(mixed, b, 176);
	memcpy(mixed + 24, a + 24, 176 - 24);
	assert_int_equal(keys_file_open(kv, mixed, sizeof(mixed), &hx, &back), -EBADMSG);
	assert_null(back);
	keys_file_free(fa);
	keys_file_free(fb);
	keys_volume_free(kv);
}

static void test_rewrap(void **state)
{
	const uint32_t v1[] = { 1 };
	uint8_t vid[16] = { 5 }, vk2[32], old[176], neu[176];
	struct keys_volume *kv = rand_volume(vid, v1, 1), *only1 = NULL, *only2 = NULL;
	struct keys_file *fk = NULL, *back = NULL;
	struct format_header h, before, hb;

	(void)state;
	new_file(kv, FORMAT_CIPHER_XTS, &h, old, &fk);
	assert_int_equal(keys_random_key(vk2, sizeof(vk2)), 0);
	assert_int_equal(keys_volume_add(kv, 2, vk2), 0);

	before = h;
	assert_int_equal(keys_file_rewrap(kv, 9, fk, &h), -ENOKEY);
	assert_int_equal(h.wrap_key_version, before.wrap_key_version);
	assert_memory_equal(h.wrapped, before.wrapped, sizeof(h.wrapped));

	assert_int_equal(keys_file_rewrap(kv, 2, fk, &h), 0);
	assert_int_equal(h.wrap_key_version, 2);
	assert_int_equal(h.wrapped_len, 60);
	assert_int_equal(keys_header_seal(fk, &h, neu), 0);
	/* §4.2: re-wrapping rewrites bytes 24..27 and 40..175 only. */
	assert_memory_equal(neu, old, 24);
	assert_memory_equal(neu + 28, old + 28, 12);
	assert_memory_not_equal(neu + 24, old + 24, 4);
	assert_memory_not_equal(neu + 48, old + 48, 60);

	assert_int_equal(keys_file_open(kv, neu, sizeof(neu), &hb, &back), 0);
	assert_int_equal(hb.wrap_key_version, 2);
	assert_memory_equal(back->dk, fk->dk, 32);
	assert_memory_equal(back->block_key, fk->block_key, 64);
	keys_file_free(back);

	/* Only VK 2 unlocked: the new header opens, the old one needs VK 1. */
	assert_int_equal(keys_volume_new(vid, &only2), 0);
	assert_int_equal(keys_volume_add(only2, 2, vk2), 0);
	assert_int_equal(keys_file_open(only2, neu, sizeof(neu), &hb, &back), 0);
	assert_memory_equal(back->dk, fk->dk, 32);
	keys_file_free(back);
	assert_int_equal(keys_file_open(only2, old, sizeof(old), &hb, &back), -ENOKEY);
	assert_null(back);
	/* Only a (different) VK 1: the re-wrapped header needs VK 2. */
	only1 = rand_volume(vid, v1, 1);
	assert_int_equal(keys_file_open(only1, neu, sizeof(neu), &hb, &back), -ENOKEY);
	secmem_wipe(vk2, sizeof(vk2));
	keys_file_free(fk);
	keys_volume_free(kv);
	keys_volume_free(only1);
	keys_volume_free(only2);
}

/* §3: the config MAC changes when any body byte does. */
static void test_config_mac_covers_body(void **state)
{
	static struct format_config c;
	const uint32_t vers[] = { 7, 8 };
	uint8_t vid[16] = { 6 }, buf[512], mac[32], mac2[32];
	struct keys_volume *kv = rand_volume(vid, vers, 2);
	size_t len = 0, body;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.version = 1, c.cipher = 1, c.block_size = 4096, c.name_scheme = 1, c.wrap_mode = 1;
	memcpy(c.volume_id, vid, 16);
	c.primary_version = c.names_version = 7;
	strcpy(c.kms_uri, "local:/etc/phifs/kek.bin");
	c.n_slots = 1;
	c.slots[0].version = 7;
	c.slots[0].state = FORMAT_SLOT_ACTIVE;
	strcpy(c.slots[0].kek_id, "local:0011223344556677");
	c.slots[0].wrapped_len = 60;
	assert_int_equal(format_config_encode(&c, buf, sizeof(buf), &len), 0);
	body = len - FORMAT_MAC_LEN;
	assert_int_equal(keys_config_mac(kv, 7, buf, body, mac), 0);
	assert_int_equal(keys_config_mac(kv, 7, buf, body, mac2), 0);
	assert_memory_equal(mac, mac2, 32);
	for (size_t i = 0; i < body; i++) {
		buf[i] ^= 0x01;
		assert_int_equal(keys_config_mac(kv, 7, buf, body, mac2), 0);
		if (memcmp(mac, mac2, 32) == 0)
			fail_msg("config MAC unchanged after editing byte %zu", i);
		buf[i] ^= 0x01;
	}
	/* Length is covered too, and another VK version gives another MAC. */
	assert_int_equal(keys_config_mac(kv, 7, buf, body - 1, mac2), 0);
	assert_memory_not_equal(mac, mac2, 32);
	assert_int_equal(keys_config_mac(kv, 8, buf, body, mac2), 0);
	assert_memory_not_equal(mac, mac2, 32);
	keys_volume_free(kv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat_volume_keys),
		cmocka_unit_test(test_evict_restore),
		cmocka_unit_test(test_derivation_deterministic_distinct),
		cmocka_unit_test(test_volume_errors),
		cmocka_unit_test(test_vk_wrap_aad),
		cmocka_unit_test(test_random_key),
		cmocka_unit_test(test_kat_header_open),
		cmocka_unit_test(test_create_matches_spec),
		cmocka_unit_test(test_create_open_roundtrip),
		cmocka_unit_test(test_header_seal_flags),
		cmocka_unit_test(test_every_byte_flip_refused),
		cmocka_unit_test(test_open_bad_inputs),
		cmocka_unit_test(test_wrapped_key_transplant),
		cmocka_unit_test(test_rewrap),
		cmocka_unit_test(test_config_mac_covers_body),
	};
	int rc;

	if (secmem_init() != 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	cipher_thread_cleanup();
	return rc;
}
