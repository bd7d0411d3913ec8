/*
 * test-filekms.c: per-file KMS mode's pure parts (docs/FORMAT.md §3.3, §4.4):
 * the header's wrapped field (format byte ‖ compact blob), the AAD, the
 * config's KEK table (encode/decode, rules), the local provider's compact
 * wrap through kms.h, and the unwrapped-key cache (fs/filekms_cache.c).
 * The KMIP and PKCS#11 compact forms need their peers: tests/sh/filekms.sh.
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <unistd.h>

#include "testutil.h"
#include "filekms.h"
#include "filekms_cache.h"
#include "format.h"
#include "kms.h"
#include "secmem.h"

static void test_blob_field(void **state)
{
	uint8_t body[95], wrapped[FORMAT_HEADER_WRAPPED_MAX];
	const uint8_t *b = NULL;
	size_t blen = 0;
	uint16_t len = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(filekms_blob_encode(body, 60, wrapped, sizeof(wrapped), &len), 0);
	assert_int_equal(len, 61);
	assert_int_equal(wrapped[0], FILEKMS_BLOB_FORMAT);
	assert_int_equal(filekms_blob_decode(wrapped, len, &b, &blen), 0);
	assert_ptr_equal(b, wrapped + 1);
	assert_int_equal(blen, 60);
	assert_memory_equal(b, body, 60);
	/* 95 body bytes fill the 96-byte field exactly; 96 do not fit. */
	assert_int_equal(filekms_blob_encode(body, 95, wrapped, sizeof(wrapped), &len), 0);
	assert_int_equal(len, 96);
	assert_int_equal(filekms_blob_encode(body, 96, wrapped, 200, &len), -EMSGSIZE);
	assert_int_equal(filekms_blob_encode(body, 0, wrapped, sizeof(wrapped), &len), -EMSGSIZE);
	assert_int_equal(filekms_blob_encode(body, 60, wrapped, 60, &len), -EMSGSIZE);
	/* Refused: too short, an unknown format byte, longer than the field. */
	assert_int_equal(filekms_blob_decode(wrapped, 0, &b, &blen), -EBADMSG);
	assert_int_equal(filekms_blob_decode(wrapped, 1, &b, &blen), -EBADMSG);
	assert_int_equal(filekms_blob_decode(wrapped, 97, &b, &blen), -EBADMSG);
	wrapped[0] = 2;
	assert_int_equal(filekms_blob_decode(wrapped, 61, &b, &blen), -EBADMSG);
}

static void test_aad(void **state)
{
	uint8_t vid[16], fid[16], aad[FILEKMS_AAD_LEN];

	(void)state;
	memset(vid, 0x11, sizeof(vid));
	memset(fid, 0x22, sizeof(fid));
	assert_int_equal(filekms_aad(vid, fid, 2, aad), 50);
	assert_memory_equal(aad, "phifs/v1/file-key", 17);
	assert_memory_equal(aad + 17, vid, 16);
	assert_memory_equal(aad + 33, fid, 16);
	assert_int_equal(aad[49], 2);
}

/* A valid wrap mode 2 config: one slot, KEK table of n entries. */
static void cfg_mode2(struct format_config *c, unsigned n)
{
	memset(c, 0, sizeof(*c));
	c->version = 1, c->cipher = 1, c->block_size = 4096, c->name_scheme = 1;
	c->wrap_mode = FORMAT_WRAP_KMS;
	memset(c->volume_id, 0x5a, 16);
	c->primary_version = c->names_version = 1;
	strcpy(c->kms_uri, "local:/k");
	c->n_slots = 1;
	c->slots[0].version = 1;
	c->slots[0].state = FORMAT_SLOT_ACTIVE;
	strcpy(c->slots[0].kek_id, "local:ab");
	c->slots[0].wrapped_len = 3;
	c->n_keks = (uint16_t)n;
	for (unsigned i = 0; i < n; i++) {
		c->keks[i].ref = 10 * (i + 1);
		snprintf(c->keks[i].id, sizeof(c->keks[i].id), "kmip:%u", 100 + i);
	}
}

static void test_config_kek_table(void **state)
{
	static struct format_config c, back;
	static uint8_t buf[FORMAT_CONFIG_MAX];
	size_t len = 0;

	(void)state;
	cfg_mode2(&c, 3);
	assert_int_equal(format_config_encode(&c, buf, sizeof(buf), &len), 0);
	assert_int_equal(format_config_decode(buf, len, &back), 0);
	assert_int_equal(back.wrap_mode, FORMAT_WRAP_KMS);
	assert_int_equal(back.n_keks, 3);
	assert_int_equal(back.keks[2].ref, 30);
	assert_string_equal(back.keks[1].id, "kmip:101");
	assert_ptr_equal(format_config_kek_current(&back), &back.keks[2]);
	assert_ptr_equal(format_config_kek(&back, 20), &back.keks[1]);
	assert_null(format_config_kek(&back, 21));
	assert_ptr_equal(format_config_kek_by_id(&back, "kmip:100"), &back.keks[0]);
	assert_null(format_config_kek_by_id(&back, "kmip:1"));
	/* The table sits just before the MAC: u16 n, then u32 ref ‖ u16 len ‖ id each. */
	assert_memory_equal(buf + len - 32 - 8, "kmip:102", 8);
	assert_int_equal(buf[len - 32 - 8 - 2], 8);
	assert_int_equal(buf[len - 32 - 8 - 6], 30);
	/* Every prefix is refused (the table is not optional in mode 2). */
	for (size_t cut = 1; cut < 40; cut++) {
		memmove(buf + len - 32 - cut, buf + len - 32, 32);
		assert_int_equal(format_config_decode(buf, len - cut, &back), -EBADMSG);
		assert_int_equal(format_config_encode(&c, buf, sizeof(buf), &len), 0);
	}
	/* Rules: 1..16 entries, unique refs, printable ids; mode 1 has none. */
	cfg_mode2(&c, 0);
	assert_int_equal(format_config_encode(&c, buf, sizeof(buf), &len), -EINVAL);
	cfg_mode2(&c, FORMAT_MAX_KEKS);
	assert_int_equal(format_config_encode(&c, buf, sizeof(buf), &len), 0);
	assert_int_equal(format_config_decode(buf, len, &back), 0);
	cfg_mode2(&c, 2);
	c.keks[1].ref = c.keks[0].ref;
	assert_int_equal(format_config_encode(&c, buf, sizeof(buf), &len), -EINVAL);
	cfg_mode2(&c, 1);
	c.keks[0].id[0] = '\0';
	assert_int_equal(format_config_encode(&c, buf, sizeof(buf), &len), -EINVAL);
	cfg_mode2(&c, 1);
	c.wrap_mode = FORMAT_WRAP_VOLUME;
	assert_int_equal(format_config_encode(&c, buf, sizeof(buf), &len), -EINVAL);
	c.n_keks = 0;
	assert_int_equal(format_config_encode(&c, buf, sizeof(buf), &len), 0);
	assert_int_equal(format_config_decode(buf, len, &back), 0);
	assert_int_equal(back.n_keks, 0);
}

static char tmpdir[128];

static int rm_one(const char *p, const struct stat *sb, int t, struct FTW *f)
{
	(void)sb, (void)t, (void)f;
	return remove(p);
}

static void test_local_compact(void **state)
{
	char uri[256], kek_id[KMS_KEY_ID_MAX + 1];
	struct kms_opts ko = { .create = 1 };
	struct kms *k = NULL;
	uint8_t dk[32], back[32], blob[KMS_BLOB_MAX], full[KMS_BLOB_MAX];
	uint8_t aad[FILEKMS_AAD_LEN], vid[16] = { 1 }, fid[16] = { 2 };
	size_t blen = sizeof(blob), flen = sizeof(full);
	unsigned long ops;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-filekms.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(uri, sizeof(uri), "local:%s/kek", tmpdir);
	assert_int_equal(kms_open(uri, &ko, &k), 0);
	assert_true(kms_has_compact(k));
	memset(dk, 0x42, sizeof(dk));
	filekms_aad(vid, fid, 1, aad);
	ops = kms_op_count();
	assert_int_equal(kms_wrap_compact(k, aad, sizeof(aad), dk, 32, blob, &blen, kek_id,
					  sizeof(kek_id)), 0);
	assert_int_equal(kms_op_count(), ops + 1);
	assert_int_equal(blen, 60);                  /* fits the header with its format byte */
	assert_string_equal(kek_id, kms_key_id(k));
	assert_int_equal(kms_unwrap_compact(k, kek_id, aad, sizeof(aad), blob, blen, back, 32), 0);
	assert_memory_equal(back, dk, 32);
	/* Another file's AAD, another KEK id, a flipped byte: refused. */
	aad[40] ^= 1;
	assert_int_equal(kms_unwrap_compact(k, kek_id, aad, sizeof(aad), blob, blen, back, 32),
			 -EKEYREJECTED);
	aad[40] ^= 1;
	assert_int_equal(kms_unwrap_compact(k, "local:0000000000000000", aad, sizeof(aad), blob,
					    blen, back, 32), -EKEYREJECTED);
	blob[20] ^= 1;
	assert_int_equal(kms_unwrap_compact(k, kek_id, aad, sizeof(aad), blob, blen, back, 32),
			 -EKEYREJECTED);
	/* Local blobs name no key: compact and full forms are the same bytes. */
	assert_int_equal(kms_blob_expand(k, kek_id, blob, blen, full, &flen), 0);
	assert_int_equal(flen, blen);
	assert_memory_equal(full, blob, blen);
	kms_close(k);
	nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void test_cache_lru(void **state)
{
	struct filekms_cache *c = NULL;
	uint8_t id[9][16], w[8] = "wrapped", dk[32], got[32];

	(void)state;
	assert_int_equal(filekms_cache_new(8, &c), 0);     /* one set of 8 */
	for (int i = 0; i < 9; i++) {
		memset(id[i], 0, 16);
		id[i][15] = (uint8_t)i;                  /* same set: bytes 0..3 equal */
	}
	for (int i = 0; i < 8; i++) {
		memset(dk, i, sizeof(dk));
		filekms_cache_put(c, id[i], w, sizeof(w), dk);
	}
	assert_int_equal(filekms_cache_get(c, id[0], w, sizeof(w), got), 0);   /* 0 now recent */
	assert_int_equal(got[0], 0);
	memset(dk, 8, sizeof(dk));
	filekms_cache_put(c, id[8], w, sizeof(w), dk);                   /* evicts 1, the LRU */
	assert_int_equal(filekms_cache_get(c, id[1], w, sizeof(w), got), -ENOENT);
	assert_int_equal(filekms_cache_get(c, id[0], w, sizeof(w), got), 0);
	assert_int_equal(filekms_cache_get(c, id[8], w, sizeof(w), got), 0);
	assert_int_equal(got[31], 8);
	/* Same file, other wrapped bytes (re-wrapped or rekeyed): a miss. */
	w[0] ^= 1;
	assert_int_equal(filekms_cache_get(c, id[8], w, sizeof(w), got), -ENOENT);
	memset(dk, 9, sizeof(dk));
	filekms_cache_put(c, id[8], w, sizeof(w), dk);                   /* replaces in place */
	assert_int_equal(filekms_cache_get(c, id[0], w, sizeof(w), got), -ENOENT);
	w[0] ^= 1;
	assert_int_equal(filekms_cache_get(c, id[0], w, sizeof(w), got), 0);
	assert_int_equal(filekms_cache_get(c, id[8], w, sizeof(w), got), -ENOENT);
	filekms_cache_clear(c);
	for (int i = 0; i < 9; i++)
		assert_int_equal(filekms_cache_get(c, id[i], w, sizeof(w), got), -ENOENT);
	filekms_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blob_field),
		cmocka_unit_test(test_aad),
		cmocka_unit_test(test_config_kek_table),
		cmocka_unit_test(test_local_compact),
		cmocka_unit_test(test_cache_lru),
	};

	assert_int_equal(secmem_init(), 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
