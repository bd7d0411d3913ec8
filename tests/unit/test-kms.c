/*
 * test-kms.c: the KMS client (kms-client/) through its public header, kms.h:
 * the local key-file provider and the passphrase provider of docs/FORMAT.md §8,
 * URI dispatch and errors. Blob layouts are checked byte for byte by opening
 * them with the primitives directly (cipher_gcm_open, crypto_pwhash).
 * Everything happens in a private temporary directory.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "testutil.h"
#include "cipher.h"
#include "kms.h"

static char tmpdir[256];

static const char *tpath(char *buf, size_t cap, const char *name)
{
	int n = snprintf(buf, cap, "%s/%s", tmpdir, name);

	assert_true(n > 0 && (size_t)n < cap);
	return buf;
}

static const char *local_uri(char *buf, size_t cap, const char *name)
{
	int n = snprintf(buf, cap, "local:%s/%s", tmpdir, name);

	assert_true(n > 0 && (size_t)n < cap);
	return buf;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static int open_local(const char *name, int create, struct kms **k)
{
	struct kms_opts o = { .create = create };
	char uri[512];

	return kms_open(local_uri(uri, sizeof(uri), name), &o, k);
}

/* A passphrase handle reading `content` from a fresh passfile. */
static int open_pass(const char *content, size_t len, struct kms **k)
{
	char pf[512];
	struct kms_opts o = { .passfile = tpath(pf, sizeof(pf), "passfile") };

	write_file(pf, content, len, 0600);
	return kms_open("passphrase", &o, k);
}

static int open_extpass(const char *cmd, struct kms **k)
{
	struct kms_opts o = { .extpass = cmd };

	return kms_open("passphrase", &o, k);
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + 7 * i);
}

static int is_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

/* FORMAT.md §3.2's AAD shape, so the tests wrap what the volume code will. */
static size_t vk_aad(uint8_t *aad, uint32_t version)
{
	static const char ctx[] = "phifs/v1/volume-key";
	size_t n = sizeof(ctx) - 1;

	memcpy(aad, ctx, n);
	fill(aad + n, 16, 0x40);
	n += 16;
	aad[n++] = (uint8_t)version;
	aad[n++] = (uint8_t)(version >> 8);
	aad[n++] = (uint8_t)(version >> 16);
	aad[n++] = (uint8_t)(version >> 24);
	return n;
}

static uint32_t u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void hexid(const char *prefix, const uint8_t *b, size_t n, char *out, size_t cap)
{
	size_t off = (size_t)snprintf(out, cap, "%s", prefix);

	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(out + off, cap - off, "%02x", b[i]);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static int group_setup(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/phifs-test-kms-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	if (sodium_init() < 0)
		return -1;
	return setenv("PHIFS_TEST_FAST_KDF", "1", 1);
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- local provider ---------------------------------------------------- */

static void test_local_create_mode_size_id(void **state)
{
	char p[512], want[64];
	uint8_t key[64], mac[CIPHER_HMAC_LEN];
	struct kms *k = NULL;
	struct stat st;
	mode_t old;

	(void)state;
	/* A restrictive umask must not change the mode the file is created with. */
	old = umask(0277);
	assert_int_equal(open_local("create.key", 1, &k), 0);
	umask(old);
	assert_int_equal(stat(tpath(p, sizeof(p), "create.key"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(st.st_uid, geteuid());
	assert_string_equal(kms_provider_name(k), "local");

	/* Key id = "local:" ‖ hex(HMAC-SHA256(file bytes, "phifs local key id")[0..8)). */
	assert_int_equal(tu_read_file(AT_FDCWD, p, key, sizeof(key)), 32);
	assert_false(is_zero(key, 32));
	assert_int_equal(cipher_hmac_sha256(key, 32, "phifs local key id", 18, mac), 0);
	hexid("local:", mac, 8, want, sizeof(want));
	assert_string_equal(kms_key_id(k), want);
	assert_int_equal(strlen(kms_key_id(k)), 6 + 16);
	kms_close(k);
}

static void test_local_lifecycle(void **state)
{
	struct kms_key_info info;
	struct kms *k = NULL;
	char id[KMS_KEY_ID_MAX];
	time_t now = time(NULL);

	(void)state;
	assert_int_equal(open_local("life.key", 1, &k), 0);
	assert_int_equal(kms_describe(k, NULL, &info), 0);
	assert_string_equal(info.id, kms_key_id(k));
	assert_string_equal(info.state, "active");
	assert_true(info.created > now - 60 && info.created <= now + 1);
	assert_int_equal(kms_describe(k, "local:0000000000000000", &info), -ENOKEY);
	assert_int_equal(kms_health(k), 0);
	/* A local KEK is a key file: a new one is a new URI, not a version. */
	assert_int_equal(kms_create_key(k, id, sizeof(id)), -EOPNOTSUPP);
	assert_int_equal(kms_retire_key(k, kms_key_id(k)), -EOPNOTSUPP);
	kms_close(k);
}

static void test_local_roundtrip_layout(void **state)
{
	uint8_t aad[64], vk[32], blob[KMS_BLOB_MAX], blob2[KMS_BLOB_MAX], out[32], key[32];
	size_t alen = vk_aad(aad, 1), blen = sizeof(blob), blen2 = sizeof(blob2);
	struct kms *k = NULL;
	char p[512];

	(void)state;
	fill(vk, sizeof(vk), 1);
	assert_int_equal(open_local("rt.key", 1, &k), 0);
	assert_int_equal(kms_wrap(k, aad, alen, vk, 32, blob, &blen), 0);
	assert_int_equal(blen, 60);
	assert_int_equal(kms_unwrap(k, aad, alen, blob, blen, out, 32), 0);
	assert_memory_equal(out, vk, 32);

	/* §8 layout: nonce(12) ‖ GCM(KEK = the file's 32 bytes, AAD) ‖ tag(16). */
	assert_int_equal(tu_read_file(AT_FDCWD, tpath(p, sizeof(p), "rt.key"), key, sizeof(key)), 32);
	memset(out, 0, sizeof(out));
	assert_int_equal(cipher_gcm_open(key, blob, aad, alen, blob + 12, 32, blob + 44, out), 0);
	assert_memory_equal(out, vk, 32);

	/* Fresh nonce per wrap. */
	assert_int_equal(kms_wrap(k, aad, alen, vk, 32, blob2, &blen2), 0);
	assert_int_equal(blen2, 60);
	assert_memory_not_equal(blob, blob2, 12);

	/* No AAD at all is allowed, and is not the same as some AAD. */
	blen2 = sizeof(blob2);
	assert_int_equal(kms_wrap(k, NULL, 0, vk, 32, blob2, &blen2), 0);
	assert_int_equal(kms_unwrap(k, NULL, 0, blob2, blen2, out, 32), 0);
	assert_memory_equal(out, vk, 32);
	assert_int_equal(kms_unwrap(k, aad, alen, blob2, blen2, out, 32), -EKEYREJECTED);

	/* Too small an output buffer. */
	blen2 = 59;
	assert_int_equal(kms_wrap(k, aad, alen, vk, 32, blob2, &blen2), -EINVAL);
	kms_close(k);
}

static void test_local_tamper_rejected(void **state)
{
	uint8_t aad[64], vk[32], blob[KMS_BLOB_MAX], out[32];
	size_t alen = vk_aad(aad, 1), blen = sizeof(blob);
	struct kms *k = NULL;

	(void)state;
	fill(vk, sizeof(vk), 2);
	assert_int_equal(open_local("tamper.key", 1, &k), 0);
	assert_int_equal(kms_wrap(k, aad, alen, vk, 32, blob, &blen), 0);

	/* Wrong AAD: another key version, another volume id. */
	vk_aad(aad, 2);
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(kms_unwrap(k, aad, alen, blob, blen, out, 32), -EKEYREJECTED);
	assert_true(is_zero(out, 32));
	vk_aad(aad, 1);
	aad[20] ^= 1;
	assert_int_equal(kms_unwrap(k, aad, alen, blob, blen, out, 32), -EKEYREJECTED);
	aad[20] ^= 1;

	/* Any flipped bit: nonce, ciphertext, tag. */
	for (size_t i = 0; i < blen; i += 11) {
		blob[i] ^= 0x10;
		assert_int_equal(kms_unwrap(k, aad, alen, blob, blen, out, 32), -EKEYREJECTED);
		blob[i] ^= 0x10;
	}
	/* Truncated or extended blob. */
	assert_int_equal(kms_unwrap(k, aad, alen, blob, blen - 1, out, 32), -EKEYREJECTED);
	assert_int_equal(kms_unwrap(k, aad, alen, blob, blen + 1, out, 32), -EKEYREJECTED);
	assert_int_equal(kms_unwrap(k, aad, alen, blob, blen, out, 32), 0);
	assert_memory_equal(out, vk, 32);
	kms_close(k);
}

static void test_local_other_key_and_ids(void **state)
{
	uint8_t aad[64], vk[32], blob[KMS_BLOB_MAX], out[32], before[32], after[32];
	size_t alen = vk_aad(aad, 1), blen = sizeof(blob);
	struct kms *a = NULL, *b = NULL, *a2 = NULL;
	char id_a[KMS_KEY_ID_MAX], p[512];

	(void)state;
	fill(vk, sizeof(vk), 3);
	assert_int_equal(open_local("a.key", 1, &a), 0);
	assert_int_equal(open_local("b.key", 1, &b), 0);
	assert_string_not_equal(kms_key_id(a), kms_key_id(b));
	assert_int_equal(kms_wrap(a, aad, alen, vk, 32, blob, &blen), 0);
	assert_int_equal(kms_unwrap(b, aad, alen, blob, blen, out, 32), -EKEYREJECTED);
	snprintf(id_a, sizeof(id_a), "%s", kms_key_id(a));
	kms_close(a);

	/* Re-open (create=1 on an existing file must not replace it). */
	assert_int_equal(tu_read_file(AT_FDCWD, tpath(p, sizeof(p), "a.key"), before, 32), 32);
	assert_int_equal(open_local("a.key", 1, &a2), 0);
	assert_int_equal(tu_read_file(AT_FDCWD, p, after, 32), 32);
	assert_memory_equal(before, after, 32);
	assert_string_equal(kms_key_id(a2), id_a);
	assert_int_equal(kms_unwrap(a2, aad, alen, blob, blen, out, 32), 0);
	assert_memory_equal(out, vk, 32);
	kms_close(a2);
	assert_int_equal(open_local("a.key", 0, &a2), 0);
	assert_string_equal(kms_key_id(a2), id_a);
	kms_close(a2);
	kms_close(b);
}

static void test_local_refuse_permissions(void **state)
{
	static const mode_t bad[] = { 0644, 0640, 0604, 0660, 0602, 0620, 0700 | 0010 };
	uint8_t key[32];
	struct kms *k = NULL;
	char p[512];

	(void)state;
	fill(key, sizeof(key), 4);
	tpath(p, sizeof(p), "perm.key");
	write_file(p, key, 32, 0600);
	assert_int_equal(open_local("perm.key", 0, &k), 0);
	kms_close(k);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		k = (struct kms *)&k;
		assert_int_equal(chmod(p, bad[i]), 0);
		assert_int_equal(open_local("perm.key", 0, &k), -EACCES);
		assert_null(k);
		/* create=1 must not "repair" it either. */
		assert_int_equal(open_local("perm.key", 1, &k), -EACCES);
	}
	/* Stricter than 0600 is fine. */
	assert_int_equal(chmod(p, 0400), 0);
	assert_int_equal(open_local("perm.key", 0, &k), 0);
	kms_close(k);
}

static void test_local_refuse_symlink(void **state)
{
	uint8_t key[32], now[32];
	struct kms *k = NULL;
	char p[512], l[512];

	(void)state;
	fill(key, sizeof(key), 5);
	write_file(tpath(p, sizeof(p), "target.key"), key, 32, 0600);
	assert_int_equal(symlink(p, tpath(l, sizeof(l), "link.key")), 0);
	assert_int_equal(open_local("target.key", 0, &k), 0);
	kms_close(k);
	assert_int_equal(open_local("link.key", 0, &k), -EACCES);
	assert_int_equal(open_local("link.key", 1, &k), -EACCES);
	/* A dangling symlink is not "absent": create=1 must not write through it. */
	assert_int_equal(symlink(tpath(p, sizeof(p), "nowhere.key"), tpath(l, sizeof(l), "dangle.key")), 0);
	assert_int_equal(open_local("dangle.key", 1, &k), -EACCES);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(tu_read_file(AT_FDCWD, tpath(p, sizeof(p), "target.key"), now, 32), 32);
	assert_memory_equal(now, key, 32);
}

static void test_local_refuse_size(void **state)
{
	uint8_t key[33];
	struct kms *k = NULL;
	char p[512];

	(void)state;
	fill(key, sizeof(key), 6);
	write_file(tpath(p, sizeof(p), "short.key"), key, 31, 0600);
	assert_int_equal(open_local("short.key", 0, &k), -EACCES);
	assert_int_equal(open_local("short.key", 1, &k), -EACCES);
	write_file(tpath(p, sizeof(p), "long.key"), key, 33, 0600);
	assert_int_equal(open_local("long.key", 0, &k), -EACCES);
	write_file(tpath(p, sizeof(p), "empty.key"), key, 0, 0600);
	assert_int_equal(open_local("empty.key", 0, &k), -EACCES);
}

static void test_local_refuse_not_regular(void **state)
{
	struct kms *k = NULL;
	char p[512];

	(void)state;
	assert_int_equal(mkdir(tpath(p, sizeof(p), "dir.key"), 0700), 0);
	assert_int_equal(open_local("dir.key", 0, &k), -EACCES);
	/* A fifo must be refused, not block the open. */
	assert_int_equal(mkfifo(tpath(p, sizeof(p), "fifo.key"), 0600), 0);
	assert_int_equal(open_local("fifo.key", 0, &k), -EACCES);
}

static void test_local_refuse_foreign_owner(void **state)
{
	uint8_t key[32];
	struct kms *k = NULL;
	char p[512];

	(void)state;
	/* Only root can give a file away; cmocka's skip() would read as a
	 * failure under Automake's TAP driver, so a non-root run checks nothing. */
	if (geteuid() != 0)
		return;
	fill(key, sizeof(key), 7);
	write_file(tpath(p, sizeof(p), "owner.key"), key, 32, 0600);
	assert_int_equal(chown(p, 12345, 12345), 0);
	assert_int_equal(open_local("owner.key", 0, &k), -EACCES);
}

static void test_local_missing(void **state)
{
	struct kms *k = NULL;
	char p[512];

	(void)state;
	assert_int_equal(open_local("missing.key", 0, &k), -ENOENT);
	assert_int_equal(access(tpath(p, sizeof(p), "missing.key"), F_OK), -1);
	assert_int_equal(open_local("no-such-dir/x.key", 1, &k), -ENOENT);
	assert_int_equal(access(tpath(p, sizeof(p), "no-such-dir"), F_OK), -1);
}

static void test_local_blob_key_id_unknown(void **state)
{
	uint8_t vk[32], blob[KMS_BLOB_MAX];
	size_t blen = sizeof(blob);
	struct kms *k = NULL;
	char id[KMS_KEY_ID_MAX] = "x";

	(void)state;
	fill(vk, sizeof(vk), 8);
	assert_int_equal(open_local("bid.key", 1, &k), 0);
	assert_int_equal(kms_wrap(k, NULL, 0, vk, 32, blob, &blen), 0);
	assert_int_equal(kms_blob_key_id(k, blob, blen, id, sizeof(id)), -ENODATA);
	assert_string_equal(id, "");
	kms_close(k);
}

/* ---- URIs and arguments ------------------------------------------------ */

static void test_uri_errors(void **state)
{
	static const struct { const char *uri; int err; } cases[] = {
		{ "", -EINVAL },
		{ "local", -EINVAL },
		{ "local:", -EINVAL },
		{ "local:relative/k.key", -EINVAL },
		{ "local:/tmp/", -EINVAL },
		{ "local:/tmp/a\nb", -EINVAL },
		{ "passphrase:", -EINVAL },
		{ "passphrase:x", -EINVAL },
		{ ":/etc/k", -EINVAL },
		{ "1local:/etc/k", -EINVAL },
		{ "lo cal:/etc/k", -EINVAL },
		{ "/etc/phifs/kek.bin", -EINVAL },
		{ "kmip2://kms.example:5696", -EPROTONOSUPPORT },
		{ "file:/etc/k", -EPROTONOSUPPORT },
		{ "LOCAL:/etc/k", -EPROTONOSUPPORT },
		{ "passphrases", -EPROTONOSUPPORT },
	};
	struct kms_opts o = { .extpass = "printf 'secret\\n'" };
	char big[1100];
	struct kms *k;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		k = (struct kms *)&k;
		assert_int_equal(kms_open(cases[i].uri, &o, &k), cases[i].err);
		assert_null(k);
	}
	assert_int_equal(kms_open(NULL, &o, &k), -EINVAL);
	assert_int_equal(kms_open("passphrase", &o, NULL), -EINVAL);
	/* FORMAT.md §3: at most 1024 URI bytes. */
	memcpy(big, "local:/", 7);
	memset(big + 7, 'a', sizeof(big) - 8);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(kms_open(big, &o, &k), -EINVAL);
}

static void test_argument_checks(void **state)
{
	uint8_t vk[32], blob[KMS_BLOB_MAX], out[32];
	size_t blen = sizeof(blob);
	struct kms *k = NULL;

	(void)state;
	fill(vk, sizeof(vk), 9);
	kms_close(NULL);
	assert_null(kms_key_id(NULL));
	assert_null(kms_provider_name(NULL));
	assert_int_equal(open_local("args.key", 1, &k), 0);
	assert_int_equal(kms_wrap(NULL, NULL, 0, vk, 32, blob, &blen), -EINVAL);
	assert_int_equal(kms_wrap(k, NULL, 5, vk, 32, blob, &blen), -EINVAL);
	assert_int_equal(kms_wrap(k, NULL, 0, vk, 0, blob, &blen), -EINVAL);
	assert_int_equal(kms_wrap(k, NULL, 0, vk, 32, blob, NULL), -EINVAL);
	assert_int_equal(kms_wrap(k, NULL, 0, NULL, 32, blob, &blen), -EINVAL);
	assert_int_equal(kms_unwrap(k, NULL, 0, blob, 60, NULL, 32), -EINVAL);
	assert_int_equal(kms_unwrap(k, "x", 1, NULL, 60, out, 32), -EINVAL);
	kms_close(k);
}

/* ---- passphrase provider ----------------------------------------------- */

static void test_pp_passfile_roundtrip_layout(void **state)
{
	uint8_t aad[64], vk[32], blob[KMS_BLOB_MAX], blob2[KMS_BLOB_MAX], out[32], kek[32];
	size_t alen = vk_aad(aad, 1), blen = sizeof(blob), blen2 = sizeof(blob2);
	char want[KMS_KEY_ID_MAX], got[KMS_KEY_ID_MAX];
	struct kms *k = NULL, *k2 = NULL;

	(void)state;
	fill(vk, sizeof(vk), 10);
	assert_int_equal(open_pass("secret\n", 7, &k), 0);
	assert_string_equal(kms_provider_name(k), "passphrase");
	assert_null(kms_key_id(k));   /* no blob seen yet */
	assert_int_equal(kms_wrap(k, aad, alen, vk, 32, blob, &blen), 0);
	assert_int_equal(blen, 84);
	/* PHIFS_TEST_FAST_KDF=1 records the minimum parameters in the blob. */
	assert_int_equal(u32le(blob + 16), crypto_pwhash_argon2id_OPSLIMIT_MIN);
	assert_int_equal(u32le(blob + 20), crypto_pwhash_argon2id_MEMLIMIT_MIN / 1024);
	hexid("passphrase:", blob, 8, want, sizeof(want));
	assert_string_equal(kms_key_id(k), want);
	assert_int_equal(kms_blob_key_id(k, blob, blen, got, sizeof(got)), 0);
	assert_string_equal(got, want);
	assert_int_equal(kms_blob_key_id(k, blob, blen, got, 12), -ERANGE);

	/* §8 layout: KEK = Argon2id13("secret", salt, ops, mem); then nonce ‖ ct ‖ tag. */
	assert_int_equal(crypto_pwhash(kek, 32, "secret", 6, blob, u32le(blob + 16),
				       (size_t)u32le(blob + 20) * 1024, crypto_pwhash_ALG_ARGON2ID13), 0);
	assert_int_equal(cipher_gcm_open(kek, blob + 24, aad, alen, blob + 36, 32, blob + 68, out), 0);
	assert_memory_equal(out, vk, 32);

	memset(out, 0, sizeof(out));
	assert_int_equal(kms_unwrap(k, aad, alen, blob, blen, out, 32), 0);
	assert_memory_equal(out, vk, 32);

	/* A new salt per wrap; the key id follows the last blob used. */
	assert_int_equal(kms_wrap(k, aad, alen, vk, 32, blob2, &blen2), 0);
	assert_memory_not_equal(blob, blob2, 16);
	assert_string_not_equal(kms_key_id(k), want);
	assert_int_equal(kms_unwrap(k, aad, alen, blob, blen, out, 32), 0);
	assert_string_equal(kms_key_id(k), want);
	kms_close(k);

	/* A fresh handle (the mount after init). */
	assert_int_equal(open_pass("secret\n", 7, &k2), 0);
	memset(out, 0, sizeof(out));
	assert_int_equal(kms_unwrap(k2, aad, alen, blob, blen, out, 32), 0);
	assert_memory_equal(out, vk, 32);
	assert_string_equal(kms_key_id(k2), want);
	kms_close(k2);
}

static void test_pp_wrong_passphrase(void **state)
{
	uint8_t aad[64], vk[32], blob[KMS_BLOB_MAX], out[32];
	size_t alen = vk_aad(aad, 1), blen = sizeof(blob);
	struct kms *k = NULL;

	(void)state;
	fill(vk, sizeof(vk), 11);
	assert_int_equal(open_pass("secret\n", 7, &k), 0);
	assert_int_equal(kms_wrap(k, aad, alen, vk, 32, blob, &blen), 0);
	kms_close(k);
	assert_int_equal(open_pass("Secret\n", 7, &k), 0);
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(kms_unwrap(k, aad, alen, blob, blen, out, 32), -EKEYREJECTED);
	assert_true(is_zero(out, 32));
	assert_null(kms_key_id(k));
	kms_close(k);
	/* A prefix of the passphrase is a different passphrase. */
	assert_int_equal(open_pass("secre\n", 6, &k), 0);
	assert_int_equal(kms_unwrap(k, aad, alen, blob, blen, out, 32), -EKEYREJECTED);
	kms_close(k);
	/* Right passphrase, wrong AAD. */
	assert_int_equal(open_pass("secret\n", 7, &k), 0);
	vk_aad(aad, 2);
	assert_int_equal(kms_unwrap(k, aad, alen, blob, blen, out, 32), -EKEYREJECTED);
	kms_close(k);
}

static void test_pp_extpass_equals_passfile(void **state)
{
	static const struct { const char *text; size_t len; } files[] = {
		{ "secret\n", 7 },
		{ "secret", 6 },                    /* no newline */
		{ "secret\nsecond line\n", 19 },    /* only the first line counts */
	};
	uint8_t aad[64], vk[32], blob[KMS_BLOB_MAX], out[32];
	size_t alen = vk_aad(aad, 1), blen = sizeof(blob);
	struct kms *k = NULL;

	(void)state;
	fill(vk, sizeof(vk), 12);
	assert_int_equal(open_extpass("printf 'secret\\n'", &k), 0);
	assert_int_equal(kms_wrap(k, aad, alen, vk, 32, blob, &blen), 0);
	kms_close(k);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		memset(out, 0, sizeof(out));
		assert_int_equal(open_pass(files[i].text, files[i].len, &k), 0);
		assert_int_equal(kms_unwrap(k, aad, alen, blob, blen, out, 32), 0);
		assert_memory_equal(out, vk, 32);
		kms_close(k);
	}
	/* And the other way round, with output lacking the newline. */
	blen = sizeof(blob);
	assert_int_equal(open_pass("secret\n", 7, &k), 0);
	assert_int_equal(kms_wrap(k, aad, alen, vk, 32, blob, &blen), 0);
	kms_close(k);
	assert_int_equal(open_extpass("printf secret", &k), 0);
	assert_int_equal(kms_unwrap(k, aad, alen, blob, blen, out, 32), 0);
	assert_memory_equal(out, vk, 32);
	kms_close(k);
}

static void test_pp_extpass_failure(void **state)
{
	struct kms *k = NULL;

	(void)state;
	assert_int_equal(open_extpass("exit 3", &k), -EIO);
	assert_null(k);
	/* Output does not count when the command failed. */
	assert_int_equal(open_extpass("printf 'secret\\n'; exit 1", &k), -EIO);
	assert_int_equal(open_extpass("kill -9 $$", &k), -EIO);
	assert_int_equal(open_extpass("/nonexistent/phifs-askpass", &k), -EIO);
}

static void test_pp_empty_refused(void **state)
{
	struct kms *k = NULL;

	(void)state;
	assert_int_equal(open_pass("", 0, &k), -EINVAL);
	assert_int_equal(open_pass("\n", 1, &k), -EINVAL);
	assert_int_equal(open_pass("\nsecret\n", 8, &k), -EINVAL);
	assert_int_equal(open_extpass("true", &k), -EINVAL);
	assert_int_equal(open_extpass("printf '\\n'", &k), -EINVAL);
	assert_null(k);
}

static void test_pp_length_bound(void **state)
{
	static char text[1100];
	uint8_t vk[32], blob[KMS_BLOB_MAX], out[32];
	size_t blen = sizeof(blob);
	struct kms *k = NULL;

	(void)state;
	fill(vk, sizeof(vk), 13);
	memset(text, 'a', sizeof(text));
	text[1024] = '\n';
	assert_int_equal(open_pass(text, 1025, &k), 0);   /* exactly 1024 bytes */
	assert_int_equal(kms_wrap(k, NULL, 0, vk, 32, blob, &blen), 0);
	kms_close(k);
	assert_int_equal(open_pass(text, 1024, &k), 0);   /* same, no newline */
	assert_int_equal(kms_unwrap(k, NULL, 0, blob, blen, out, 32), 0);
	assert_memory_equal(out, vk, 32);
	kms_close(k);
	text[1024] = 'a';
	text[1025] = '\n';
	assert_int_equal(open_pass(text, 1026, &k), -EINVAL);   /* 1025: refused, not cut */
	assert_int_equal(open_pass(text, sizeof(text), &k), -EINVAL);
	assert_int_equal(open_extpass("head -c 1025 /dev/zero | tr '\\0' a", &k), -EINVAL);
}

static void test_pp_source_errors(void **state)
{
	struct kms_opts both = { .passfile = "/dev/null", .extpass = "printf x" };
	struct kms_opts missing;
	struct kms *k = NULL;
	char p[512];

	(void)state;
	assert_int_equal(kms_open("passphrase", &both, &k), -EINVAL);
	memset(&missing, 0, sizeof(missing));
	missing.passfile = tpath(p, sizeof(p), "no-passfile");
	assert_int_equal(kms_open("passphrase", &missing, &k), -ENOENT);
	assert_null(k);
}

/* Init wraps, then mounts unwrap: the operator is asked once per handle. */
static void test_pp_asks_once(void **state)
{
	uint8_t vk[32], blob[KMS_BLOB_MAX], out[32], count[16];
	size_t blen = sizeof(blob);
	char cmd[700], cp[512];
	struct kms *k = NULL;

	(void)state;
	fill(vk, sizeof(vk), 14);
	snprintf(cmd, sizeof(cmd), "echo x >> '%s'; printf 'secret\\n'",
		 tpath(cp, sizeof(cp), "asked"));
	assert_int_equal(open_extpass(cmd, &k), 0);
	assert_int_equal(kms_wrap(k, NULL, 0, vk, 32, blob, &blen), 0);
	assert_int_equal(kms_unwrap(k, NULL, 0, blob, blen, out, 32), 0);
	assert_int_equal(kms_unwrap(k, NULL, 0, blob, blen, out, 32), 0);
	assert_memory_equal(out, vk, 32);
	kms_close(k);
	assert_int_equal(tu_read_file(AT_FDCWD, cp, count, sizeof(count)), 2);
	assert_memory_equal(count, "x\n", 2);
}

static void put_u32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void test_pp_blob_tamper(void **state)
{
	uint8_t vk[32], blob[KMS_BLOB_MAX], t[KMS_BLOB_MAX], out[32];
	size_t blen = sizeof(blob);
	char id[KMS_KEY_ID_MAX];
	struct kms *k = NULL;

	(void)state;
	fill(vk, sizeof(vk), 15);
	assert_int_equal(open_pass("secret\n", 7, &k), 0);
	assert_int_equal(kms_wrap(k, NULL, 0, vk, 32, blob, &blen), 0);

	/* Absurd Argon2 parameters are refused before any work. */
	static const struct { size_t off; uint32_t v; } absurd[] = {
		{ 16, 65 }, { 16, 0 }, { 16, UINT32_MAX },
		{ 20, 4 * 1024 * 1024 + 1 }, { 20, UINT32_MAX }, { 20, 0 }, { 20, 7 },
	};
	for (size_t i = 0; i < sizeof(absurd) / sizeof(absurd[0]); i++) {
		memcpy(t, blob, blen);
		put_u32le(t + absurd[i].off, absurd[i].v);
		assert_int_equal(kms_unwrap(k, NULL, 0, t, blen, out, 32), -EINVAL);
	}
	/* Sane but different parameters give a different KEK. */
	memcpy(t, blob, blen);
	put_u32le(t + 16, 2);
	assert_int_equal(kms_unwrap(k, NULL, 0, t, blen, out, 32), -EKEYREJECTED);
	/* Salt, nonce, ciphertext, tag. */
	static const size_t offs[] = { 0, 15, 24, 35, 36, 67, 68, 83 };
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		memcpy(t, blob, blen);
		t[offs[i]] ^= 0x01;
		assert_int_equal(kms_unwrap(k, NULL, 0, t, blen, out, 32), -EKEYREJECTED);
	}
	assert_int_equal(kms_unwrap(k, NULL, 0, blob, blen - 1, out, 32), -EKEYREJECTED);
	assert_int_equal(kms_blob_key_id(k, blob, 40, id, sizeof(id)), -EINVAL);
	assert_int_equal(kms_unwrap(k, NULL, 0, blob, blen, out, 32), 0);
	assert_memory_equal(out, vk, 32);
	kms_close(k);
}

/* Unwrap must use the parameters recorded in the blob, not today's defaults. */
static void test_pp_params_from_blob(void **state)
{
	uint8_t vk[32], blob[KMS_BLOB_MAX], out[32];
	size_t blen = sizeof(blob);
	struct kms *k = NULL;

	(void)state;
	fill(vk, sizeof(vk), 16);
	assert_int_equal(open_pass("secret\n", 7, &k), 0);
	assert_int_equal(kms_wrap(k, NULL, 0, vk, 32, blob, &blen), 0);
	kms_close(k);
	assert_int_equal(unsetenv("PHIFS_TEST_FAST_KDF"), 0);
	assert_int_equal(open_pass("secret\n", 7, &k), 0);
	assert_int_equal(kms_unwrap(k, NULL, 0, blob, blen, out, 32), 0);
	assert_memory_equal(out, vk, 32);
	kms_close(k);
	assert_int_equal(setenv("PHIFS_TEST_FAST_KDF", "1", 1), 0);
}

/* Without the test knob, wrap uses libsodium's moderate preset (slow, 256 MiB). */
static void test_pp_default_params(void **state)
{
	uint8_t vk[32], blob[KMS_BLOB_MAX], out[32];
	size_t blen = sizeof(blob);
	struct kms *k = NULL;

	(void)state;
	fill(vk, sizeof(vk), 17);
	assert_int_equal(setenv("PHIFS_TEST_FAST_KDF", "0", 1), 0);
	assert_int_equal(open_pass("secret\n", 7, &k), 0);
	assert_int_equal(kms_wrap(k, NULL, 0, vk, 32, blob, &blen), 0);
	assert_int_equal(u32le(blob + 16), crypto_pwhash_argon2id_OPSLIMIT_MODERATE);
	assert_int_equal(u32le(blob + 20), crypto_pwhash_argon2id_MEMLIMIT_MODERATE / 1024);
	assert_int_equal(kms_unwrap(k, NULL, 0, blob, blen, out, 32), 0);
	assert_memory_equal(out, vk, 32);
	kms_close(k);
	assert_int_equal(setenv("PHIFS_TEST_FAST_KDF", "1", 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_create_mode_size_id),
		cmocka_unit_test(test_local_roundtrip_layout),
		cmocka_unit_test(test_local_tamper_rejected),
		cmocka_unit_test(test_local_other_key_and_ids),
		cmocka_unit_test(test_local_refuse_permissions),
		cmocka_unit_test(test_local_refuse_symlink),
		cmocka_unit_test(test_local_refuse_size),
		cmocka_unit_test(test_local_refuse_not_regular),
		cmocka_unit_test(test_local_refuse_foreign_owner),
		cmocka_unit_test(test_local_missing),
		cmocka_unit_test(test_local_blob_key_id_unknown),
		cmocka_unit_test(test_uri_errors),
		cmocka_unit_test(test_argument_checks),
		cmocka_unit_test(test_local_lifecycle),
		cmocka_unit_test(test_pp_passfile_roundtrip_layout),
		cmocka_unit_test(test_pp_wrong_passphrase),
		cmocka_unit_test(test_pp_extpass_equals_passfile),
		cmocka_unit_test(test_pp_extpass_failure),
		cmocka_unit_test(test_pp_empty_refused),
		cmocka_unit_test(test_pp_length_bound),
		cmocka_unit_test(test_pp_source_errors),
		cmocka_unit_test(test_pp_asks_once),
		cmocka_unit_test(test_pp_blob_tamper),
		cmocka_unit_test(test_pp_params_from_blob),
		cmocka_unit_test(test_pp_default_params),
	};
	int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);

	cipher_thread_cleanup();
	return rc;
}
