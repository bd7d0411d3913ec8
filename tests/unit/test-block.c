/*
 * test-block.c: fs/block.c against docs/FORMAT.md §5.1, §5.2 and §5.4: GCM slot
 * layout and AAD binding (block number, file id, LAST, gap), XTS with tails
 * shorter than one AES block, and the size geometry including corrupt tails.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include "testutil.h"
#include "block.h"
#include "cipher.h"

static const size_t lens[] = { 1, 15, 16, 17, 4095, 4096 };

static void fill(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

static void keys(uint8_t key[64], uint8_t tail[32], uint8_t id[16])
{
	assert_int_equal(cipher_random(key, 64), 0);
	assert_int_equal(cipher_random(tail, 32), 0);
	assert_int_equal(cipher_random(id, 16), 0);
}

static void test_gcm_roundtrip(void **state)
{
	uint8_t key[64], tail[32], id[16], pt[4096], slot[FORMAT_GCM_SLOT_LEN], back[4096];
	uint32_t gap = 0;

	(void)state;
	keys(key, tail, id);
	for (size_t t = 0; t < sizeof(lens) / sizeof(lens[0]); t++) {
		size_t n = lens[t];

		fill(pt, n, (unsigned)t);
		assert_int_equal(block_slot_len(FORMAT_CIPHER_GCM, n), n + 32);
		assert_int_equal(block_gcm_seal(key, id, 7 + t, FORMAT_BLOCK_LAST, 33, pt, n, slot), 0);
		assert_int_equal(block_gcm_slot_gap(slot), 33);
		memset(back, 0xee, sizeof(back));
		assert_int_equal(block_gcm_open(key, id, 7 + t, FORMAT_BLOCK_LAST, slot, n + 32, back,
						&gap), 0);
		assert_int_equal(gap, 33);
		assert_memory_equal(back, pt, n);
		assert_memory_not_equal(slot + 16, pt, n < 16 ? n : 16);
	}
}

/* The slot layout and AAD exactly as §5.1 writes them, checked with the raw cipher. */
static void test_gcm_layout(void **state)
{
	uint8_t key[64], tail[32], id[16], pt[100], slot[132], back[100], aad[32];

	(void)state;
	keys(key, tail, id);
	fill(pt, sizeof(pt), 3);
	assert_int_equal(block_gcm_seal(key, id, 0x0102030405060708ull, 1, 0xa0b0c0d0u, pt, 100,
					slot), 0);
	assert_memory_equal(slot + 12, "\xd0\xc0\xb0\xa0", 4);
	memcpy(aad, id, 16);
	memcpy(aad + 16, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
	memcpy(aad + 24, "\x01\x00\x00\x00\xd0\xc0\xb0\xa0", 8);
	assert_int_equal(cipher_gcm_open(key, slot, aad, 32, slot + 16, 100, slot + 116, back), 0);
	assert_memory_equal(back, pt, 100);
}

static void test_gcm_tamper(void **state)
{
	uint8_t key[64], tail[32], id[16], pt[4096], slot[FORMAT_GCM_SLOT_LEN], back[4096];
	uint8_t other_id[16];
	uint32_t gap = 77;
	size_t sl = 4096 + 32;

	(void)state;
	keys(key, tail, id);
	memcpy(other_id, id, 16);
	other_id[15] ^= 1;
	fill(pt, 4096, 9);
	assert_int_equal(block_gcm_seal(key, id, 5, 0, 2, pt, 4096, slot), 0);
	assert_int_equal(block_gcm_open(key, id, 5, 0, slot, sl, back, &gap), 0);
	assert_int_equal(gap, 2);
	gap = 77;
	/* Wrong block number, file id, LAST flag: each refused, gap untouched. */
	assert_int_equal(block_gcm_open(key, id, 6, 0, slot, sl, back, &gap), -EBADMSG);
	assert_int_equal(block_gcm_open(key, other_id, 5, 0, slot, sl, back, &gap), -EBADMSG);
	assert_int_equal(block_gcm_open(key, id, 5, FORMAT_BLOCK_LAST, slot, sl, back, &gap),
			 -EBADMSG);
	assert_int_equal(gap, 77);
	/* Changed gap field. */
	slot[12] ^= 1;
	assert_int_equal(block_gcm_open(key, id, 5, 0, slot, sl, back, &gap), -EBADMSG);
	slot[12] ^= 1;
	/* A flipped bit in nonce, ciphertext and tag. */
	for (size_t pos = 0; pos < sl; pos += 1031) {
		if (pos >= 12 && pos < 16)
			continue;
		slot[pos] ^= 0x10;
		assert_int_equal(block_gcm_open(key, id, 5, 0, slot, sl, back, &gap), -EBADMSG);
		slot[pos] ^= 0x10;
	}
	slot[sl - 1] ^= 0x80;
	assert_int_equal(block_gcm_open(key, id, 5, 0, slot, sl, back, &gap), -EBADMSG);
	slot[sl - 1] ^= 0x80;
	/* A slot cut short, and one too short to be a slot at all. */
	assert_int_equal(block_gcm_open(key, id, 5, 0, slot, sl - 1, back, &gap), -EBADMSG);
	assert_int_equal(block_gcm_open(key, id, 5, 0, slot, 32, back, &gap), -EBADMSG);
	assert_int_equal(block_gcm_open(key, id, 5, 0, slot, sl, back, &gap), 0);
	/* Empty or oversized plaintext cannot be sealed. */
	assert_int_equal(block_gcm_seal(key, id, 5, 0, 0, pt, 0, slot), -EINVAL);
	assert_int_equal(block_gcm_seal(key, id, 5, 0, 0, pt, 4097, slot), -EINVAL);
}

/* Two seals of the same block differ: the nonce is fresh each time. */
static void test_gcm_nonce_fresh(void **state)
{
	uint8_t key[64], tail[32], id[16], pt[64] = { 0 }, s1[96], s2[96];

	(void)state;
	keys(key, tail, id);
	assert_int_equal(block_gcm_seal(key, id, 1, 0, 0, pt, 64, s1), 0);
	assert_int_equal(block_gcm_seal(key, id, 1, 0, 0, pt, 64, s2), 0);
	assert_memory_not_equal(s1, s2, 12);
	assert_memory_not_equal(s1 + 16, s2 + 16, 64);
}

static void test_xts_roundtrip(void **state)
{
	uint8_t key[64], tail[32], id[16], pt[4096], ct[4096], ct2[4096], back[4096];

	(void)state;
	keys(key, tail, id);
	for (size_t t = 0; t < sizeof(lens) / sizeof(lens[0]); t++) {
		size_t n = lens[t];

		fill(pt, n, (unsigned)t + 40);
		assert_int_equal(block_slot_len(FORMAT_CIPHER_XTS, n), n);
		assert_int_equal(block_xts_encrypt(key, tail, 3, pt, n, ct), 0);
		/* A tail of n < 4 bytes equals its plaintext by chance (2^-8n with
		 * random keys): inequality is asserted where it cannot flake. */
		if (n >= 4)
			assert_memory_not_equal(ct, pt, n);
		assert_int_equal(block_xts_decrypt(key, tail, 3, ct, n, back), 0);
		assert_memory_equal(back, pt, n);
		/* Deterministic per (key, block), different across blocks. */
		assert_int_equal(block_xts_encrypt(key, tail, 3, pt, n, ct2), 0);
		assert_memory_equal(ct, ct2, n);
		assert_int_equal(block_xts_encrypt(key, tail, 4, pt, n, ct2), 0);
		if (n >= 4)
			assert_memory_not_equal(ct, ct2, n);
	}
	assert_int_equal(block_xts_encrypt(key, tail, 3, pt, 0, ct), -EINVAL);
	assert_int_equal(block_xts_encrypt(key, tail, 3, pt, 4097, ct), -EINVAL);
}

/* §5.2 exactly: tweak = u64le i ‖ 0^8; tails are pt XOR ECB(tail key, tweak). */
static void test_xts_layout(void **state)
{
	uint8_t key[64], tail[32], id[16], pt[4096], ct[4096], ref[4096], pad[16];
	uint8_t tweak[16] = { 0x09, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02 };

	(void)state;
	keys(key, tail, id);
	fill(pt, sizeof(pt), 5);
	assert_int_equal(block_xts_encrypt(key, tail, 0x0203040506070809ull, pt, 4096, ct), 0);
	assert_int_equal(cipher_xts_encrypt(key, tweak, pt, 4096, ref), 0);
	assert_memory_equal(ct, ref, 4096);
	assert_int_equal(block_xts_encrypt(key, tail, 0x0203040506070809ull, pt, 21, ct), 0);
	assert_int_equal(cipher_xts_encrypt(key, tweak, pt, 21, ref), 0);
	assert_memory_equal(ct, ref, 21);
	assert_int_equal(block_xts_encrypt(key, tail, 0x0203040506070809ull, pt, 11, ct), 0);
	assert_int_equal(cipher_ecb_block(tail, tweak, pad), 0);
	for (int i = 0; i < 11; i++)
		assert_int_equal(ct[i], pt[i] ^ pad[i]);
}

static void test_geometry(void **state)
{
	uint64_t size;

	(void)state;
	assert_int_equal(block_slot_offset(FORMAT_CIPHER_GCM, 0), 176);
	assert_int_equal(block_slot_offset(FORMAT_CIPHER_GCM, 3), 176 + 3 * 4128);
	assert_int_equal(block_slot_offset(FORMAT_CIPHER_XTS, 3), 176 + 3 * 4096);
	assert_int_equal(block_backing_size(FORMAT_CIPHER_GCM, 0), 176);
	assert_int_equal(block_backing_size(FORMAT_CIPHER_GCM, 1), 176 + 33);
	assert_int_equal(block_backing_size(FORMAT_CIPHER_GCM, 4096), 176 + 4128);
	assert_int_equal(block_backing_size(FORMAT_CIPHER_GCM, 4097), 176 + 4128 + 33);
	assert_int_equal(block_backing_size(FORMAT_CIPHER_XTS, 4097), 176 + 4097);
	for (uint64_t n = 0; n < 3 * 4096 + 100; n += (n < 9000 ? 1 : 7)) {
		assert_int_equal(block_plain_size(FORMAT_CIPHER_GCM,
						  block_backing_size(FORMAT_CIPHER_GCM, n), &size), 0);
		assert_int_equal(size, n);
		assert_int_equal(block_plain_size(FORMAT_CIPHER_XTS,
						  block_backing_size(FORMAT_CIPHER_XTS, n), &size), 0);
		assert_int_equal(size, n);
	}
	for (uint64_t n = 1ull << 40; n < (1ull << 40) + 10000; n += 997) {
		assert_int_equal(block_plain_size(FORMAT_CIPHER_GCM,
						  block_backing_size(FORMAT_CIPHER_GCM, n), &size), 0);
		assert_int_equal(size, n);
	}
}

/* A final slot of 1..32 bytes is a cut inside nonce/gap/tag: corrupt (§5.4). */
static void test_geometry_corrupt(void **state)
{
	uint64_t size = 99;

	(void)state;
	for (uint64_t r = 1; r <= 32; r++) {
		assert_int_equal(block_plain_size(FORMAT_CIPHER_GCM, 176 + 2 * 4128 + r, &size),
				 -EBADMSG);
		assert_int_equal(size, 2 * 4096);
	}
	assert_int_equal(block_plain_size(FORMAT_CIPHER_GCM, 176 + 2 * 4128 + 33, &size), 0);
	assert_int_equal(size, 2 * 4096 + 1);
	assert_int_equal(block_plain_size(FORMAT_CIPHER_GCM, 175, &size), -EBADMSG);
	assert_int_equal(size, 0);
	assert_int_equal(block_plain_size(FORMAT_CIPHER_XTS, 0, &size), -EBADMSG);
	assert_int_equal(block_plain_size(FORMAT_CIPHER_GCM, 176, &size), 0);
	assert_int_equal(size, 0);
	assert_int_equal(block_plain_size(9, 1000, &size), -EINVAL);
}

static void test_is_zero(void **state)
{
	uint8_t buf[5000] = { 0 };

	(void)state;
	assert_true(block_is_zero(buf, sizeof(buf)));
	assert_true(block_is_zero(buf, 0));
	buf[4999] = 1;
	assert_false(block_is_zero(buf, sizeof(buf)));
	assert_true(block_is_zero(buf, 4999));
	buf[0] = 1;
	assert_false(block_is_zero(buf, 1));
	buf[0] = 0;
	buf[300] = 0x80;
	assert_false(block_is_zero(buf, 301));
	assert_true(block_is_zero(buf, 300));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gcm_roundtrip),
		cmocka_unit_test(test_gcm_layout),
		cmocka_unit_test(test_gcm_tamper),
		cmocka_unit_test(test_gcm_nonce_fresh),
		cmocka_unit_test(test_xts_roundtrip),
		cmocka_unit_test(test_xts_layout),
		cmocka_unit_test(test_geometry),
		cmocka_unit_test(test_geometry_corrupt),
		cmocka_unit_test(test_is_zero),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	cipher_thread_cleanup();
	return rc;
}
