/*
 * test-keytab.c: the key table of docs/FORMAT.md §12 — header layout and
 * strict decoding (§12.1), page sealing and its AAD (§12.2), the DK
 * derivation of a KEYTAB header (§12.5, through keys.c with a stand-in
 * table), and a real table in a temp dir with a local KEK: batch reservation
 * (§12.3), shredding into a new epoch and the old epoch's KEK destroyed (§12.4).
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include "testutil.h"
#include "cipher.h"
#include "format.h"
#include "keys.h"
#include "keytab.h"
#include "keytab_format.h"
#include "secmem.h"

static void sample_header(struct keytab_header *h)
{
	memset(h, 0, sizeof(*h));
	h->pages = 3;
	h->epoch = 0x0102030405060708ull;
	h->next_free = 300;
	h->destroyed = 2;
	for (int i = 0; i < FORMAT_ID_LEN; i++)
		h->volume_id[i] = (uint8_t)(0xa0 + i);
	snprintf(h->kek_id, sizeof(h->kek_id), "local:0011223344556677");
	h->blob_len = 60;
	memset(h->blob, 0x5a, h->blob_len);
	memset(h->mac, 0xee, sizeof(h->mac));
}

static void test_header_layout(void **state)
{
	struct keytab_header h, d;
	uint8_t enc[KEYTAB_HDR_LEN];

	(void)state;
	sample_header(&h);
	assert_int_equal(keytab_header_encode(&h, enc), 0);
	assert_memory_equal(enc, "PHIFSKT1\x01\x00\x80\x00\x03\x00\x00\x00", 16);
	assert_memory_equal(enc + 16, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
	assert_memory_equal(enc + 24, "\x2c\x01\x00\x00\x02\x00\x00\x00", 8);
	assert_int_equal(enc[32], 0xa0);
	assert_int_equal(enc[48], 22);
	assert_memory_equal(enc + 50, "local:0011223344556677", 22);
	assert_int_equal(enc[178], 60);
	assert_int_equal(enc[180], 0x5a);
	assert_int_equal(enc[180 + 60], 0);
	assert_int_equal(enc[1248], 0xee);
	assert_int_equal(keytab_header_decode(enc, sizeof(enc), &d), 0);
	assert_int_equal(d.epoch, h.epoch);
	assert_int_equal(d.next_free, 300);
	assert_string_equal(d.kek_id, h.kek_id);
	assert_memory_equal(d.blob, h.blob, 60);
}

/* One byte changed at off (xor v) must give want. */
static void poke_expect(size_t off, uint8_t v, int want)
{
	struct keytab_header h, d;
	uint8_t enc[KEYTAB_HDR_LEN];

	sample_header(&h);
	assert_int_equal(keytab_header_encode(&h, enc), 0);
	enc[off] ^= v;
	if (keytab_header_decode(enc, sizeof(enc), &d) != want)
		fail_msg("byte %zu ^ %#x: want %d", off, v, want);
	if (want)
		assert_int_equal(d.epoch, 0);   /* a failed decode leaves nothing */
}

static void test_header_strict(void **state)
{
	struct keytab_header h, d;
	uint8_t enc[KEYTAB_HDR_LEN + 1];

	(void)state;
	poke_expect(0, 1, -EBADMSG);             /* magic */
	poke_expect(8, 3, -EPROTO);              /* version 2 */
	poke_expect(10, 0x80 | 0x40, -EPROTO);   /* 64 slots per page */
	poke_expect(12, 3, -EBADMSG);            /* 0 pages: next_free 300 too many */
	poke_expect(25, 0x01, 0);                /* next_free 44: still >= destroyed */
	poke_expect(29, 0x02, -EBADMSG);         /* destroyed 514 > next_free 300 */
	poke_expect(26, 0x01, -EBADMSG);         /* next_free past 3 pages */
	poke_expect(48, 22, -EBADMSG);           /* KEK id length 0 */
	poke_expect(49, 1, -EBADMSG);            /* KEK id length 278 */
	poke_expect(50 + 22, 'x', -EBADMSG);     /* KEK id padding */
	poke_expect(50, 'l' ^ ' ', -EBADMSG);    /* space in the KEK id */
	poke_expect(178, 60, -EBADMSG);          /* blob length 0 */
	poke_expect(179, 0x04, -EBADMSG);        /* blob length 1084 */
	poke_expect(180 + 60, 1, -EBADMSG);      /* blob padding */
	for (size_t off = 1204; off < 1248; off++)
		poke_expect(off, 1, -EBADMSG);   /* reserved */
	poke_expect(1248, 1, 0);                 /* the MAC is not checked here */
	sample_header(&h);
	h.epoch = 0;
	assert_int_equal(keytab_header_encode(&h, enc), -EINVAL);
	sample_header(&h);
	assert_int_equal(keytab_header_encode(&h, enc), 0);
	assert_int_equal(keytab_header_decode(enc, KEYTAB_HDR_LEN - 1, &d), -EBADMSG);
	assert_int_equal(keytab_header_decode(enc, KEYTAB_HDR_LEN + 1, &d), -EBADMSG);
	h.epoch = 1;
	assert_int_equal(keytab_header_encode(&h, enc), 0);
	enc[16] = 0;                             /* epoch 0 */
	assert_int_equal(keytab_header_decode(enc, KEYTAB_HDR_LEN, &d), -EBADMSG);
}

static void test_page_aad(void **state)
{
	uint8_t key[32], vid[16], plain[KEYTAB_PAGE_PLAIN], back[KEYTAB_PAGE_PLAIN];
	uint8_t sealed[KEYTAB_PAGE_LEN], aad[64];

	(void)state;
	memset(key, 7, sizeof(key));
	memset(vid, 9, sizeof(vid));
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)i;
	assert_int_equal(keytab_page_seal(key, vid, 4, 2, plain, sealed), 0);
	assert_int_equal(keytab_page_open(key, vid, 4, 2, sealed, back), 0);
	assert_memory_equal(plain, back, sizeof(plain));
	assert_int_equal(keytab_page_open(key, vid, 5, 2, sealed, back), -EBADMSG);  /* epoch */
	assert_int_equal(keytab_page_open(key, vid, 4, 3, sealed, back), -EBADMSG);  /* page */
	vid[0] ^= 1;
	assert_int_equal(keytab_page_open(key, vid, 4, 2, sealed, back), -EBADMSG);  /* volume */
	vid[0] ^= 1;
	sealed[100] ^= 1;
	assert_int_equal(keytab_page_open(key, vid, 4, 2, sealed, back), -EBADMSG);
	assert_int_equal(keytab_page_off(0), 1280);
	assert_int_equal(keytab_page_off(2), 1280 + 2 * 4124);
	assert_int_equal(keytab_tk_aad(vid, 0x0201, aad), 19 + 16 + 8);
	assert_memory_equal(aad, "phifs/v1/keytab-key", 19);
	assert_memory_equal(aad + 35, "\x01\x02\0\0\0\0\0\0", 8);
}

/* ---- keys.c with a stand-in table (§12.5) -------------------------------- */

static uint8_t fake_secret[32];
static int fake_revoked;

static int fake_reserve(void *arg, uint32_t *slot)
{
	(void)arg;
	*slot = 0x01020304;
	return 0;
}

static int fake_get(void *arg, uint32_t slot, uint8_t out[KEYS_SLOT_LEN])
{
	(void)arg;
	if (slot != 0x01020304)
		return -EBADMSG;
	if (fake_revoked)
		return -EKEYREVOKED;
	memcpy(out, fake_secret, KEYS_SLOT_LEN);
	return 0;
}

static const struct keys_keytab_ops fake_ops = { fake_reserve, fake_get };

static void test_keys_mix(void **state)
{
	static const char info[] = "phifs/v1/keytab-data-key";
	struct keys_volume *kv = NULL;
	struct keys_file *fk = NULL, *fk2 = NULL;
	struct format_header h, h2;
	uint8_t vk[32] = { 1 }, vid[16] = { 2 }, enc[FORMAT_HEADER_LEN], ikm[64], want[32];

	(void)state;
	memset(fake_secret, 0x60, sizeof(fake_secret));
	fake_revoked = 0;
	assert_int_equal(keys_volume_new(vid, &kv), 0);
	assert_int_equal(keys_volume_add(kv, 1, vk), 0);
	assert_int_equal(keys_volume_set_primary(kv, 1), 0);
	keys_volume_set_keytab(kv, &fake_ops, NULL);
	assert_int_equal(keys_file_create(kv, FORMAT_CIPHER_GCM, &h, &fk), 0);
	assert_true(h.flags & FORMAT_HDR_KEYTAB);
	assert_int_equal(h.keytab_slot, 0x01020304);
	/* DK = HKDF(HK ‖ S, salt = file id, info), the context spelled out here. */
	memcpy(ikm, fk->hk, 32);
	memcpy(ikm + 32, fake_secret, 32);
	assert_int_equal(cipher_hkdf_sha256(ikm, 64, fk->file_id, 16, info, sizeof(info) - 1,
					    want, 32), 0);
	assert_memory_equal(fk->dk, want, 32);
	assert_memory_not_equal(fk->dk, fk->hk, 32);
	assert_int_equal(keys_header_seal(fk, &h, enc), 0);
	assert_memory_equal(enc + 42, "\x04\x03\x02\x01", 4);
	assert_int_equal(keys_file_open(kv, enc, sizeof(enc), &h2, &fk2), 0);
	assert_memory_equal(fk2->dk, fk->dk, 32);
	keys_file_free(fk2);
	fk2 = NULL;
	fake_secret[0] ^= 1;           /* another secret: the header MAC fails */
	assert_int_equal(keys_file_open(kv, enc, sizeof(enc), &h2, &fk2), -EBADMSG);
	fake_secret[0] ^= 1;
	fake_revoked = 1;              /* shredded */
	assert_int_equal(keys_file_open(kv, enc, sizeof(enc), &h2, &fk2), -EKEYREVOKED);
	fake_revoked = 0;
	enc[28] &= (uint8_t)~FORMAT_HDR_KEYTAB;   /* flag cleared: not a valid header */
	assert_int_not_equal(keys_file_open(kv, enc, sizeof(enc), &h2, &fk2), 0);
	keys_volume_set_keytab(kv, NULL, NULL);
	enc[28] |= FORMAT_HDR_KEYTAB;             /* no table: cannot open */
	assert_int_equal(keys_file_open(kv, enc, sizeof(enc), &h2, &fk2), -ENOKEY);
	keys_file_free(fk);
	keys_volume_free(kv);
}

/* ---- a real table with a local KEK (§12.3, §12.4) ------------------------- */

static char dir[64], uri[128];
static uint8_t vid[FORMAT_ID_LEN] = { 0x11, 0x22 };

static int setup_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/phifs-keytab.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(uri, sizeof(uri), "local:%s/kek.bin", dir);
	/* The volume's own KEK: shredding must never touch it. */
	snprintf(cmd, sizeof(cmd), "head -c 32 /dev/urandom > %s/kek.bin", dir);
	return system(cmd);
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int exists(const char *name)
{
	char p[160];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return stat(p, &st) == 0;
}

static void cp(const char *from, const char *to)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "cp %s/%s %s/%s", dir, from, dir, to);
	assert_int_equal(system(cmd), 0);
}

static void test_table_life(void **state)
{
	struct keytab *kt = NULL, *old = NULL;
	struct keytab_shred_result r;
	struct keytab_header h;
	uint8_t s5[32], s6[32], x[32];
	uint32_t slot, shred[2];
	char err[512];
	int rootfd, olddir;

	(void)state;
	assert_int_equal(secmem_init(), 0);
	rootfd = open(dir, O_PATH | O_DIRECTORY);
	assert_true(rootfd >= 0);
	assert_int_equal(keytab_create(rootfd, uri, vid, err, sizeof(err)), 0);
	assert_int_equal(keytab_create(rootfd, uri, vid, err, sizeof(err)), -EEXIST);
	assert_true(exists("kek.bin.keytab.1"));
	assert_int_equal(keytab_open(rootfd, uri, vid, &kt, err, sizeof(err)), 0);
	/* Slots come in order, never twice; a batch is durable before use. */
	for (uint32_t i = 0; i < KEYTAB_BATCH + 10; i++) {
		assert_int_equal(keytab_ops.reserve(kt, &slot), 0);
		assert_int_equal(slot, i);
	}
	assert_int_equal(keytab_header_get(kt, &h), 0);
	assert_int_equal(h.next_free, 2 * KEYTAB_BATCH);
	assert_int_equal(h.pages, 2 * KEYTAB_BATCH / KEYTAB_PER_PAGE);
	assert_int_equal(keytab_ops.secret(kt, 5, s5), 0);
	assert_int_equal(keytab_ops.secret(kt, 6, s6), 0);
	assert_memory_not_equal(s5, s6, 32);
	assert_int_equal(keytab_ops.secret(kt, 2 * KEYTAB_BATCH, x), -EBADMSG);
	cp("phifs.keytab", "old.keytab");
	/* Shred slot 5 (twice in the list, as for two hard links). */
	shred[0] = shred[1] = 5;
	assert_int_equal(keytab_shred(rootfd, uri, vid, shred, 2, &r, err, sizeof(err)), 0);
	assert_int_equal(r.old_epoch, 1);
	assert_int_equal(r.new_epoch, 2);
	assert_int_equal(r.newly_destroyed, 1);
	assert_int_equal(r.keks_destroyed, 1);
	assert_false(exists("kek.bin.keytab.1"));
	assert_true(exists("kek.bin.keytab.2"));
	assert_true(exists("kek.bin"));     /* the volume's KEK stays */
	/* The open table notices the new epoch. */
	assert_int_equal(keytab_ops.secret(kt, 5, x), -EKEYREVOKED);
	assert_int_equal(keytab_ops.secret(kt, 6, x), 0);
	assert_memory_equal(x, s6, 32);
	assert_int_equal(keytab_slot_state(kt, 5), -EKEYREVOKED);
	/* Reservation goes on after the shred, from the reserved range. */
	assert_int_equal(keytab_ops.reserve(kt, &slot), 0);
	assert_int_equal(slot, KEYTAB_BATCH + 10);
	assert_int_equal(keytab_header_get(kt, &h), 0);
	assert_int_equal(h.epoch, 2);
	assert_int_equal(h.destroyed, 1);
	/* Rerun: nothing left to zero, no new epoch. */
	assert_int_equal(keytab_shred(rootfd, uri, vid, shred, 1, &r, err, sizeof(err)), 0);
	assert_int_equal(r.new_epoch, 2);
	assert_int_equal(r.newly_destroyed, 0);
	/* The old copy is useless: its epoch's KEK is gone. */
	assert_int_equal(mkdirat(rootfd, "old", 0700), 0);
	cp("old.keytab", "old/phifs.keytab");
	olddir = openat(rootfd, "old", O_PATH | O_DIRECTORY);
	assert_true(olddir >= 0);
	err[0] = '\0';
	assert_int_equal(keytab_open(olddir, uri, vid, &old, err, sizeof(err)), -EKEYREVOKED);
	assert_non_null(strstr(err, "destroyed"));
	/* Another volume's id refuses the table. */
	vid[0] ^= 1;
	assert_int_equal(keytab_open(rootfd, uri, vid, &old, err, sizeof(err)), -EBADMSG);
	vid[0] ^= 1;
	close(olddir);
	keytab_close(kt);
	close(rootfd);
}

static void test_table_providers(void **state)
{
	char out[64], err[256];

	(void)state;
	assert_int_equal(keytab_kek_uri("local:/k", 3, out, sizeof(out)), 0);
	assert_string_equal(out, "local:/k.keytab.3");
	assert_int_equal(keytab_kek_uri("passphrase", 1, out, sizeof(out)), -EOPNOTSUPP);
	assert_int_equal(keytab_kek_uri("kmip://h:1/n?ca=c&cert=d&key=k", 12, out, sizeof(out)), 0);
	assert_string_equal(out, "kmip://h:1/n.keytab.12?ca=c&cert=d&key=k");
	assert_int_equal(keytab_kek_uri("kmip://h:1/n", 2, out, sizeof(out)), 0);
	assert_string_equal(out, "kmip://h:1/n.keytab.2");
	assert_int_equal(keytab_kek_uri("pkcs11:token=t;object=kek?module-path=m", 3, out,
					sizeof(out)), 0);
	assert_string_equal(out, "pkcs11:token=t;object=kek.keytab.3?module-path=m");
	assert_int_equal(keytab_kek_uri("pkcs11:object=k;token=t?x=y", 4, out, sizeof(out)), 0);
	assert_string_equal(out, "pkcs11:object=k.keytab.4;token=t?x=y");
	assert_int_equal(keytab_kek_uri("pkcs11:token=t?object=k", 4, out, sizeof(out)),
			 -EOPNOTSUPP);
	assert_int_equal(keytab_kek_uri("local:/k", 1, out, 10), -ENAMETOOLONG);
	/* Refused before anything is written: not even the lock file. */
	assert_int_equal(keytab_create(AT_FDCWD, "passphrase", vid, err, sizeof(err)), -EOPNOTSUPP);
	assert_int_not_equal(access(KEYTAB_LOCK, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_layout),
		cmocka_unit_test(test_header_strict),
		cmocka_unit_test(test_page_aad),
		cmocka_unit_test(test_keys_mix),
		cmocka_unit_test_setup_teardown(test_table_life, setup_dir, teardown_dir),
		cmocka_unit_test(test_table_providers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
