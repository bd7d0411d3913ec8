/*
 * test-cipher.c: known-answer tests for fs/cipher.c against published vectors:
 * NIST GCM spec test case 16 (AES-256), IEEE 1619-2007 XTS-AES-256 vector 10,
 * RFC 5297 A.1 (AES-SIV), RFC 5869 test case 1 (HKDF-SHA256), RFC 4231 case 2.
 */
#include "config.h"
#include <stdio.h>
#include <errno.h>
#include "testutil.h"
#include <sys/wait.h>
#include <unistd.h>
#include "cipher.h"

static void test_gcm_nist_tc16(void **state)
{
	size_t kl, pl, al, il, cl;
	uint8_t *k = tu_hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", &kl);
	uint8_t *p = tu_hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
			    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39", &pl);
	uint8_t *a = tu_hex("feedfacedeadbeeffeedfacedeadbeefabaddad2", &al);
	uint8_t *iv = tu_hex("cafebabefacedbaddecaf888", &il);
	uint8_t *c = tu_hex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
			    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
			    "76fc6ece0f4e1768cddf8853bb2d551b", &cl);
	uint8_t out[128], tag[16], back[128];

	(void)state;
	assert_int_equal(cipher_gcm_seal(k, iv, a, al, p, pl, out, tag), 0);
	assert_memory_equal(out, c, pl);
	assert_memory_equal(tag, c + pl, 16);
	assert_int_equal(cipher_gcm_open(k, iv, a, al, out, pl, tag, back), 0);
	assert_memory_equal(back, p, pl);
	/* One flipped bit anywhere (ciphertext, tag, AAD) must be refused. */
	out[3] ^= 1;
	assert_int_equal(cipher_gcm_open(k, iv, a, al, out, pl, tag, back), -EBADMSG);
	out[3] ^= 1;
	tag[15] ^= 0x80;
	assert_int_equal(cipher_gcm_open(k, iv, a, al, out, pl, tag, back), -EBADMSG);
	tag[15] ^= 0x80;
	a[0] ^= 1;
	assert_int_equal(cipher_gcm_open(k, iv, a, al, out, pl, tag, back), -EBADMSG);
	free(k), free(p), free(a), free(iv), free(c);
}

static void test_xts_ieee1619_v10(void **state)
{
	size_t kl, cl;
	uint8_t *k = tu_hex("27182818284590452353602874713526624977572470936999595749669676273141592653589793238462643383279502884197169399375105820974944592", &kl);
	uint8_t *c = tu_hex(
		"1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b5d31e276f8fe4a8d66b317f9ac683f44680a86ac35adfc3345befecb4bb188fd"
		"5776926c49a3095eb108fd1098baec70aaa66999a72a82f27d848b21d4a741b0c5cd4d5fff9dac89aeba122961d03a757123e9870f8acf1000020887891429ca"
		"2a3e7a7d7df7b10355165c8b9a6d0a7de8b062c4500dc4cd120c0f7418dae3d0b5781c34803fa75421c790dfe1de1834f280d7667b327f6c8cd7557e12ac3a0f"
		"93ec05c52e0493ef31a12d3d9260f79a289d6a379bc70c50841473d1a8cc81ec583e9645e07b8d9670655ba5bbcfecc6dc3966380ad8fecb17b6ba02469a020a"
		"84e18e8f84252070c13e9f1f289be54fbc481457778f616015e1327a02b140f1505eb309326d68378f8374595c849d84f4c333ec4423885143cb47bd71c5edae"
		"9be69a2ffeceb1bec9de244fbe15992b11b77c040f12bd8f6a975a44a0f90c29a9abc3d4d893927284c58754cce294529f8614dcd2aba991925fedc4ae74ffac"
		"6e333b93eb4aff0479da9a410e4450e0dd7ae4c6e2910900575da401fc07059f645e8b7e9bfdef33943054ff84011493c27b3429eaedb4ed5376441a77ed4385"
		"1ad77f16f541dfd269d50d6a5f14fb0aab1cbb4c1550be97f7ab4066193c4caa773dad38014bd2092fa755c824bb5e54c4f36ffda9fcea70b9c6e693e148c151", &cl);
	uint8_t tweak[16] = { 0xff }, pt[512], out[512], back[512];

	(void)state;
	assert_int_equal(kl, 64);
	for (int i = 0; i < 512; i++)
		pt[i] = (uint8_t)i;
	assert_int_equal(cipher_xts_encrypt(k, tweak, pt, sizeof(pt), out), 0);
	assert_memory_equal(out, c, 512);
	assert_int_equal(cipher_xts_decrypt(k, tweak, out, sizeof(out), back), 0);
	assert_memory_equal(back, pt, 512);
	assert_int_equal(cipher_xts_encrypt(k, tweak, pt, 15, out), -EINVAL);
	free(k), free(c);
}

static void test_siv_rfc5297_a1(void **state)
{
	size_t kl, al, pl, ol;
	uint8_t *k = tu_hex("fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", &kl);
	uint8_t *ad = tu_hex("101112131415161718191a1b1c1d1e1f2021222324252627", &al);
	uint8_t *p = tu_hex("112233445566778899aabbccddee", &pl);
	uint8_t *o = tu_hex("85632d07c6e8f37f950acd320a2ecc9340c02b9690c4dc04daef7f6afe5c", &ol);
	uint8_t out[64], back[64];

	(void)state;
	assert_int_equal(cipher_siv_seal(k, kl, ad, al, p, pl, out), 0);
	assert_memory_equal(out, o, ol);
	assert_int_equal(cipher_siv_open(k, kl, ad, al, out, ol, back), 0);
	assert_memory_equal(back, p, pl);
	out[ol - 1] ^= 1;
	assert_int_equal(cipher_siv_open(k, kl, ad, al, out, ol, back), -EBADMSG);
	free(k), free(ad), free(p), free(o);
}

static void test_siv_256_roundtrip_ad_binds(void **state)
{
	uint8_t key[64], out[16 + 5], back[5];

	(void)state;
	memset(key, 7, sizeof(key));
	assert_int_equal(cipher_siv_seal(key, 64, "dir1", 4, "hello", 5, out), 0);
	assert_int_equal(cipher_siv_open(key, 64, "dir1", 4, out, sizeof(out), back), 0);
	assert_memory_equal(back, "hello", 5);
	assert_int_equal(cipher_siv_open(key, 64, "dir2", 4, out, sizeof(out), back), -EBADMSG);
}

static void test_hkdf_rfc5869_tc1(void **state)
{
	size_t il, sl, nl, ol;
	uint8_t *ikm = tu_hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", &il);
	uint8_t *salt = tu_hex("000102030405060708090a0b0c", &sl);
	uint8_t *info = tu_hex("f0f1f2f3f4f5f6f7f8f9", &nl);
	uint8_t *okm = tu_hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
			      "34007208d5b887185865", &ol);
	uint8_t out[42];

	(void)state;
	assert_int_equal(cipher_hkdf_sha256(ikm, il, salt, sl, info, nl, out, sizeof(out)), 0);
	assert_memory_equal(out, okm, ol);
	free(ikm), free(salt), free(info), free(okm);
}

static void test_hmac_rfc4231_tc2(void **state)
{
	size_t ol;
	uint8_t *exp = tu_hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", &ol);
	uint8_t out[32];

	(void)state;
	assert_int_equal(cipher_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, out), 0);
	assert_memory_equal(out, exp, 32);
	free(exp);
}

/* A key set up once gives the same MACs, message after message, as the
 * one-shot call (RFC 4231 test case 2, then another message, then it again). */
static void test_hmac_kept_key(void **state)
{
	size_t ol;
	uint8_t *exp = tu_hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", &ol);
	uint8_t out[32], other[32], want[32];
	struct cipher_hmac *h = NULL;

	(void)state;
	assert_int_equal(cipher_hmac_new("Jefe", 4, &h), 0);
	assert_int_equal(cipher_hmac_run(h, "what do ya want for nothing?", 28, out), 0);
	assert_memory_equal(out, exp, 32);
	assert_int_equal(cipher_hmac_run(h, "", 0, other), 0);
	assert_int_equal(cipher_hmac_sha256("Jefe", 4, "", 0, want), 0);
	assert_memory_equal(other, want, 32);
	assert_int_equal(cipher_hmac_run(h, "what do ya want for nothing?", 28, out), 0);
	assert_memory_equal(out, exp, 32);
	cipher_hmac_free(h);
	cipher_hmac_free(NULL);
	free(exp);
}

/* Nonces from the per-thread pool never repeat: not across refills, and not
 * between a parent and the child of a fork (which drops its copy). */
static void test_nonce_pool_unique_across_fork(void **state)
{
	enum { K = 1000 };
	static uint8_t seen[K][12];
	uint8_t child[12];
	int p[2], st;
	pid_t pid;

	(void)state;
	for (int i = 0; i < K; i++) {
		assert_int_equal(cipher_nonce(seen[i], 12), 0);
		for (int j = 0; j < i; j++)
			assert_memory_not_equal(seen[i], seen[j], 12);
	}
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t n[12];

		_exit(cipher_nonce(n, 12) == 0 && write(p[1], n, 12) == 12 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(read(p[0], child, 12), 12);
	assert_int_equal(cipher_nonce(seen[0], 12), 0);   /* the parent's next one */
	assert_memory_not_equal(child, seen[0], 12);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gcm_nist_tc16),
		cmocka_unit_test(test_xts_ieee1619_v10),
		cmocka_unit_test(test_siv_rfc5297_a1),
		cmocka_unit_test(test_siv_256_roundtrip_ad_binds),
		cmocka_unit_test(test_hkdf_rfc5869_tc1),
		cmocka_unit_test(test_hmac_rfc4231_tc2),
		cmocka_unit_test(test_hmac_kept_key),
		cmocka_unit_test(test_nonce_pool_unique_across_fork),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	cipher_thread_cleanup();
	return rc;
}
