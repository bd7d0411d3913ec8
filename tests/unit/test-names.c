/*
 * test-names.c: fs/names.c against docs/FORMAT.md §6 and §7.
 *
 * Known answers computed independently (Python cryptography's AESSIV, its own
 * PKCS#7 and base64url), round trips over every name length, the binding of
 * names to their directory id, of symlink targets and xattr names to their
 * domain and of xattr values to their name, tamper detection with the exact
 * error, long names through real side files in a temporary directory, and the
 * refusal of backing entries nobody should trust (planted symlinks, fifos,
 * mismatched side files).
 */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testutil.h"
#include "b64.h"
#include "cipher.h"
#include "names.h"

#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static uint8_t key[NAMES_KEY_LEN], xkey[NAMES_KEY_LEN];
static uint8_t dirid_a[NAMES_DIRID_LEN], dirid_b[NAMES_DIRID_LEN];

static void fixtures(void)
{
	for (int i = 0; i < NAMES_KEY_LEN; i++) {
		key[i] = (uint8_t)i;
		xkey[i] = (uint8_t)(64 + i);
	}
	for (int i = 0; i < NAMES_DIRID_LEN; i++) {
		dirid_a[i] = (uint8_t)(0xa0 + i);
		dirid_b[i] = (uint8_t)(0xb0 + i);
	}
}

/* A name of len bytes that cycles through a readable alphabet. */
static void make_name(char *buf, size_t len, char first)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)(first + (char)(i % 26));
	buf[len] = '\0';
}

/* Seal arbitrary "padded" bytes as a name so decrypt's own checks can be probed. */
static void forge_name(const uint8_t *pt, size_t len, char *enc, size_t cap)
{
	uint8_t ad[1 + NAMES_DIRID_LEN], sealed[16 + 512];

	ad[0] = 'N';
	memcpy(ad + 1, dirid_a, NAMES_DIRID_LEN);
	assert_true(len <= 512);
	assert_int_equal(cipher_siv_seal(key, NAMES_KEY_LEN, ad, sizeof(ad), pt, len, sealed), 0);
	assert_int_equal(b64_encode(sealed, 16 + len, enc, cap), 0);
}

/* Expected values from Python cryptography 48 (AESSIV), see the file comment. */
static void test_known_answers(void **state)
{
	char enc[NAMES_ENC_MAX], out[PATH_MAX], back[NAME_MAX + 1], longname[201];
	uint8_t val[32];
	size_t vl, hl;
	uint8_t *xv = tu_hex("1f05fd45f14a38b9bf288f34af1dbfa10f0894c94d", &hl);
	int is_long;

	(void)state;
	assert_int_equal(names_encrypt(key, dirid_a, "hello", enc, sizeof(enc)), 0);
	assert_string_equal(enc, "Tw5ZJmNDI05wpwJ9CsjqPnEG56neYoGx8TnLaucGAwo");
	assert_int_equal(names_symlink_encrypt(key, "../target/file.txt", out, sizeof(out)), 0);
	assert_string_equal(out, "Tn7Rnbw931F9QOPvDEa6oTgeyNqJC724ySW8BpqPcX78gTbDMqJQNBtIVe_nXMap");
	assert_int_equal(names_xattr_name_encrypt(xkey, "user.comment", out, sizeof(out)), 0);
	assert_string_equal(out, "user.phifs.FtZvmR8AdGMc_bwqorjZSvuMGm1kyX5IYhd8Wc7YXFQ");
	assert_int_equal(names_xattr_value_encrypt(xkey, out, "value", 5, val, sizeof(val), &vl), 0);
	assert_int_equal(vl, hl);
	assert_memory_equal(val, xv, hl);
	memset(longname, 'L', 200);
	longname[200] = '\0';
	assert_int_equal(names_to_backing(key, dirid_a, longname, back, &is_long, enc, sizeof(enc)), 0);
	assert_int_equal(is_long, 1);
	assert_int_equal(strlen(enc), 299);
	assert_string_equal(back, "phifs.ln.8lAwZR4hd9EIOtG-U-P1-00DeOd70JzGPlzJ-HgMq_A");
	free(xv);
}

static void test_roundtrip_every_length(void **state)
{
	char name[NAME_MAX + 1], enc[NAMES_ENC_MAX], back[NAME_MAX + 1], out[NAME_MAX + 1];
	int is_long;

	(void)state;
	for (size_t len = 1; len <= NAME_MAX; len++) {
		size_t padded = len + 16 - len % 16;

		make_name(name, len, 'a');
		assert_int_equal(names_encrypt(key, dirid_a, name, enc, sizeof(enc)), 0);
		/* PKCS#7 always pads: 16 hides lengths 0..15, 256 holds 240..255. */
		assert_int_equal(strlen(enc), b64_encoded_len(16 + padded));
		assert_int_equal(names_decrypt(key, dirid_a, enc, out, sizeof(out)), 0);
		assert_string_equal(out, name);
		assert_int_equal(names_backing(enc, back, &is_long), 0);
		/* Padded 176 bytes + tag encode to 256 characters: long from 160 on. */
		assert_int_equal(is_long, len >= 160);
		assert_true(strlen(back) <= NAME_MAX);
		if (!is_long)
			assert_string_equal(back, enc);
	}
	/* Names of equal padded length encrypt to texts of equal length. */
	assert_int_equal(names_encrypt(key, dirid_a, "a", enc, sizeof(enc)), 0);
	assert_int_equal(strlen(enc), 43);
	assert_int_equal(names_encrypt(key, dirid_a, "abcdefghijklmno", enc, sizeof(enc)), 0);
	assert_int_equal(strlen(enc), 43);
}

static void test_roundtrip_odd_names(void **state)
{
	static const char *const names[] = {
		"Patient Records 2024.pdf",
		"line1\nline2",
		"tab\there",
		" leading and trailing ",
		"\xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80",
		"...",
		".hidden",
		"..x",
		"phifs.conf",
		"phifs.ln.notreally",
		"-",
		"\x01\x7f\xff",
	};
	char enc[NAMES_ENC_MAX], out[NAME_MAX + 1], all[NAME_MAX + 1];
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(names_encrypt(key, dirid_a, names[i], enc, sizeof(enc)), 0);
		assert_false(names_is_reserved(enc));
		assert_int_equal(names_decrypt(key, dirid_a, enc, out, sizeof(out)), 0);
		assert_string_equal(out, names[i]);
	}
	/* Every byte a name may hold, in one name. */
	for (int c = 1; c < 256; c++)
		if (c != '/')
			all[n++] = (char)c;
	all[n] = '\0';
	assert_int_equal(n, 254);
	assert_int_equal(names_encrypt(key, dirid_a, all, enc, sizeof(enc)), 0);
	assert_int_equal(names_decrypt(key, dirid_a, enc, out, sizeof(out)), 0);
	assert_memory_equal(out, all, n + 1);
}

static void test_deterministic_and_dir_bound(void **state)
{
	char e1[NAMES_ENC_MAX], e2[NAMES_ENC_MAX], e3[NAMES_ENC_MAX], out[NAME_MAX + 1];
	uint8_t other[NAMES_KEY_LEN];

	(void)state;
	assert_int_equal(names_encrypt(key, dirid_a, "chart.txt", e1, sizeof(e1)), 0);
	assert_int_equal(names_encrypt(key, dirid_a, "chart.txt", e2, sizeof(e2)), 0);
	assert_string_equal(e1, e2);
	assert_int_equal(names_encrypt(key, dirid_b, "chart.txt", e3, sizeof(e3)), 0);
	assert_string_not_equal(e1, e3);
	/* An entry moved to another directory does not decrypt there. */
	assert_int_equal(names_decrypt(key, dirid_b, e1, out, sizeof(out)), -EBADMSG);
	assert_int_equal(names_decrypt(key, dirid_a, e3, out, sizeof(out)), -EBADMSG);
	/* Nor under another key. */
	memcpy(other, key, sizeof(other));
	other[63] ^= 1;
	assert_int_equal(names_decrypt(other, dirid_a, e1, out, sizeof(out)), -EBADMSG);
}

static void test_alphabet_never_reserved(void **state)
{
	char name[NAME_MAX + 1], enc[NAMES_ENC_MAX];

	(void)state;
	for (size_t len = 1; len <= NAME_MAX; len += 7) {
		make_name(name, len, 'A');
		assert_int_equal(names_encrypt(key, dirid_b, name, enc, sizeof(enc)), 0);
		assert_int_equal(strspn(enc, B64URL), strlen(enc));
		assert_int_not_equal(strncmp(enc, NAMES_RESERVED_PREFIX, 6), 0);
		assert_false(names_is_reserved(enc));
		assert_false(names_is_long(enc));
	}
}

static void test_tamper_every_character(void **state)
{
	char enc[NAMES_ENC_MAX], bad[NAMES_ENC_MAX], out[NAME_MAX + 1];
	size_t n;

	(void)state;
	assert_int_equal(names_encrypt(key, dirid_a, "lab-results-2024.csv", enc, sizeof(enc)), 0);
	n = strlen(enc);
	for (size_t i = 0; i < n; i++) {
		strcpy(bad, enc);
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		assert_int_equal(names_decrypt(key, dirid_a, bad, out, sizeof(out)), -EBADMSG);
	}
	/* Truncated, extended, empty, wrong alphabet, long form. */
	strcpy(bad, enc);
	bad[n - 1] = '\0';
	assert_int_equal(names_decrypt(key, dirid_a, bad, out, sizeof(out)), -EBADMSG);
	strcpy(bad, enc);
	strcat(bad, "AAAA");
	assert_int_equal(names_decrypt(key, dirid_a, bad, out, sizeof(out)), -EBADMSG);
	assert_int_equal(names_decrypt(key, dirid_a, "", out, sizeof(out)), -EBADMSG);
	strcpy(bad, enc);
	bad[2] = '+';
	assert_int_equal(names_decrypt(key, dirid_a, bad, out, sizeof(out)), -EBADMSG);
	assert_int_equal(names_decrypt(key, dirid_a, "phifs.ln.abc", out, sizeof(out)), -EBADMSG);
	/* A tag alone (no padded block) is never a name. */
	assert_int_equal(names_decrypt(key, dirid_a, "AAAAAAAAAAAAAAAAAAAAAA", out, sizeof(out)),
			 -EBADMSG);
	/* The genuine text still opens, into an exact-size buffer but not a smaller one. */
	assert_int_equal(names_decrypt(key, dirid_a, enc, out, 21), 0);
	assert_string_equal(out, "lab-results-2024.csv");
	assert_int_equal(names_decrypt(key, dirid_a, enc, out, 20), -ENAMETOOLONG);
}

/* Authentic ciphertexts that still must not decrypt: bad padding, bad names. */
static void test_decrypt_checks_padding_and_name(void **state)
{
	char enc[NAMES_ENC_MAX], out[NAME_MAX + 1];
	uint8_t pt[512];

	(void)state;
	/* pad byte 0 */
	memset(pt, 'a', 16);
	pt[15] = 0;
	forge_name(pt, 16, enc, sizeof(enc));
	assert_int_equal(names_decrypt(key, dirid_a, enc, out, sizeof(out)), -EBADMSG);
	/* pad byte 17 */
	memset(pt, 17, 32);
	pt[0] = 'a';
	forge_name(pt, 32, enc, sizeof(enc));
	assert_int_equal(names_decrypt(key, dirid_a, enc, out, sizeof(out)), -EBADMSG);
	/* inconsistent pad bytes: ...0x02 0x03 */
	memcpy(pt, "abcdefghijklmn\x02\x03", 16);
	forge_name(pt, 16, enc, sizeof(enc));
	assert_int_equal(names_decrypt(key, dirid_a, enc, out, sizeof(out)), -EBADMSG);
	/* consistent padding of 3: the control case that must succeed */
	memcpy(pt, "abcdefghijklm\x03\x03\x03", 16);
	forge_name(pt, 16, enc, sizeof(enc));
	assert_int_equal(names_decrypt(key, dirid_a, enc, out, sizeof(out)), 0);
	assert_string_equal(out, "abcdefghijklm");
	/* not a multiple of 16 */
	memcpy(pt, "abc\x01", 4);
	forge_name(pt, 4, enc, sizeof(enc));
	assert_int_equal(names_decrypt(key, dirid_a, enc, out, sizeof(out)), -EBADMSG);
	/* empty name: a whole block of padding */
	memset(pt, 16, 16);
	forge_name(pt, 16, enc, sizeof(enc));
	assert_int_equal(names_decrypt(key, dirid_a, enc, out, sizeof(out)), -EBADMSG);
	/* ".", "..", a slash, a NUL */
	memcpy(pt, ".\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f", 16);
	forge_name(pt, 16, enc, sizeof(enc));
	assert_int_equal(names_decrypt(key, dirid_a, enc, out, sizeof(out)), -EBADMSG);
	memcpy(pt, "..\x0e\x0e\x0e\x0e\x0e\x0e\x0e\x0e\x0e\x0e\x0e\x0e\x0e\x0e", 16);
	forge_name(pt, 16, enc, sizeof(enc));
	assert_int_equal(names_decrypt(key, dirid_a, enc, out, sizeof(out)), -EBADMSG);
	memcpy(pt, "a/b\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d", 16);
	forge_name(pt, 16, enc, sizeof(enc));
	assert_int_equal(names_decrypt(key, dirid_a, enc, out, sizeof(out)), -EBADMSG);
	memcpy(pt, "a\0b\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d\x0d", 16);
	forge_name(pt, 16, enc, sizeof(enc));
	assert_int_equal(names_decrypt(key, dirid_a, enc, out, sizeof(out)), -EBADMSG);
	/* 256 bytes of name + 16 of padding: longer than NAME_MAX */
	memset(pt, 'a', 256);
	memset(pt + 256, 16, 16);
	forge_name(pt, 272, enc, sizeof(enc));
	assert_int_equal(names_decrypt(key, dirid_a, enc, out, sizeof(out)), -EBADMSG);
}

static void test_encrypt_refuses_bad_names(void **state)
{
	char enc[NAMES_ENC_MAX], name[NAME_MAX + 2];

	(void)state;
	assert_int_equal(names_encrypt(key, dirid_a, "", enc, sizeof(enc)), -EINVAL);
	assert_int_equal(names_encrypt(key, dirid_a, ".", enc, sizeof(enc)), -EINVAL);
	assert_int_equal(names_encrypt(key, dirid_a, "..", enc, sizeof(enc)), -EINVAL);
	assert_int_equal(names_encrypt(key, dirid_a, "a/b", enc, sizeof(enc)), -EINVAL);
	assert_int_equal(names_encrypt(key, dirid_a, "/", enc, sizeof(enc)), -EINVAL);
	make_name(name, NAME_MAX + 1, 'a');
	assert_int_equal(names_encrypt(key, dirid_a, name, enc, sizeof(enc)), -ENAMETOOLONG);
	make_name(name, NAME_MAX, 'a');
	assert_int_equal(names_encrypt(key, dirid_a, name, enc, sizeof(enc)), 0);
	/* A buffer one short of the text and its NUL. */
	assert_int_equal(names_encrypt(key, dirid_a, "x", enc, 43), -ENAMETOOLONG);
	assert_int_equal(names_encrypt(key, dirid_a, "x", enc, 44), 0);
}

/* A temporary backing directory, opened; removed (flat) by rmtemp. */
static int mktemp_dir(char *path, size_t cap)
{
	int fd;

	assert_true(snprintf(path, cap, "%s/phifs-names-XXXXXX",
			     getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") < (int)cap);
	assert_non_null(mkdtemp(path));
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void rmtemp(const char *path, int fd)
{
	DIR *d = opendir(path);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			assert_int_equal(unlinkat(fd, de->d_name, 0), 0);
	closedir(d);
	close(fd);
	assert_int_equal(rmdir(path), 0);
}

static void write_file(int dirfd, const char *name, const void *data, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_dirid(void **state)
{
	char p1[PATH_MAX], p2[PATH_MAX];
	uint8_t id1[NAMES_DIRID_LEN], id2[NAMES_DIRID_LEN], raw[64];
	int d1 = mktemp_dir(p1, sizeof(p1)), d2 = mktemp_dir(p2, sizeof(p2));
	struct stat st;

	(void)state;
	assert_int_equal(names_dirid_read(d1, id1), -ENOENT);
	assert_int_equal(names_dirid_create(d1), 0);
	assert_int_equal(names_dirid_create(d1), -EEXIST);
	assert_int_equal(names_dirid_create(d2), 0);
	assert_int_equal(names_dirid_read(d1, id1), 0);
	assert_int_equal(names_dirid_read(d2, id2), 0);
	assert_memory_not_equal(id1, id2, NAMES_DIRID_LEN);
	/* The file holds exactly the id, readable only by its owner. */
	assert_int_equal(tu_read_file(d1, NAMES_DIRID_FILE, raw, sizeof(raw)), NAMES_DIRID_LEN);
	assert_memory_equal(raw, id1, NAMES_DIRID_LEN);
	assert_int_equal(fstatat(d1, NAMES_DIRID_FILE, &st, 0), 0);
	assert_int_equal(st.st_mode & 0077, 0);
	/* Too long, too short, a symlink, a fifo: corrupt, never followed or waited on. */
	write_file(d2, NAMES_DIRID_FILE, "0123456789abcdefX", 17);
	assert_int_equal(names_dirid_read(d2, id2), -EBADMSG);
	write_file(d2, NAMES_DIRID_FILE, "0123456789abcde", 15);
	assert_int_equal(names_dirid_read(d2, id2), -EBADMSG);
	assert_int_equal(unlinkat(d2, NAMES_DIRID_FILE, 0), 0);
	write_file(d2, "elsewhere", "0123456789abcdef", 16);
	assert_int_equal(symlinkat("elsewhere", d2, NAMES_DIRID_FILE), 0);
	assert_int_equal(names_dirid_read(d2, id2), -EBADMSG);
	assert_int_equal(unlinkat(d2, NAMES_DIRID_FILE, 0), 0);
	assert_int_equal(mkfifoat(d2, NAMES_DIRID_FILE, 0600), 0);
	assert_int_equal(names_dirid_read(d2, id2), -EBADMSG);
	rmtemp(p1, d1);
	rmtemp(p2, d2);
}

static void test_long_names_side_file(void **state)
{
	char path[PATH_MAX], name[NAME_MAX + 1], enc[NAMES_ENC_MAX], back[NAME_MAX + 1];
	char side[NAME_MAX + 8], got[NAMES_ENC_MAX], out[NAME_MAX + 1];
	int dfd = mktemp_dir(path, sizeof(path)), fd, is_long;
	uint8_t dirid[NAMES_DIRID_LEN];
	struct stat st;

	(void)state;
	assert_int_equal(names_dirid_create(dfd), 0);
	assert_int_equal(names_dirid_read(dfd, dirid), 0);
	make_name(name, 230, 'a');
	assert_int_equal(names_to_backing(key, dirid, name, back, &is_long, enc, sizeof(enc)), 0);
	assert_int_equal(is_long, 1);
	assert_true(strlen(enc) > NAME_MAX);
	assert_int_equal(strlen(back), strlen(NAMES_LONG_PREFIX) + 43);
	assert_int_equal(strncmp(back, NAMES_LONG_PREFIX, strlen(NAMES_LONG_PREFIX)), 0);
	assert_true(names_is_long(back));
	assert_true(names_is_reserved(back));
	snprintf(side, sizeof(side), "%s%s", back, NAMES_LONG_SUFFIX);
	assert_false(names_is_long(side));
	assert_true(names_is_reserved(side));

	/* §6.3 order: side file, then entry. */
	assert_int_equal(names_longside_write(dfd, back, enc), 0);
	fd = openat(dfd, back, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(tu_read_file(dfd, side, got, sizeof(got)), strlen(enc));
	assert_memory_equal(got, enc, strlen(enc));
	assert_int_equal(names_longside_read(dfd, back, got, sizeof(got)), 0);
	assert_string_equal(got, enc);
	assert_int_equal(names_from_backing(key, dfd, dirid, back, out, sizeof(out)), 0);
	assert_string_equal(out, name);
	assert_int_equal(names_from_backing(key, dfd, dirid, side, out, sizeof(out)), -ENOENT);
	/* The same entry under another directory id does not decrypt. */
	assert_int_equal(names_from_backing(key, dfd, dirid_b, back, out, sizeof(out)), -EBADMSG);

	/* Rewriting in place keeps exact content and drops trailing junk. */
	write_file(dfd, side, "junkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunk"
			      "junkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunk"
			      "junkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunk"
			      "junkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunk"
			      "junkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunk"
			      "junkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunk"
			      "junkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunkjunk", 364);
	assert_int_equal(names_longside_write(dfd, back, enc), 0);
	assert_int_equal(fstatat(dfd, side, &st, 0), 0);
	assert_int_equal(st.st_size, strlen(enc));
	assert_int_equal(names_from_backing(key, dfd, dirid, back, out, sizeof(out)), 0);
	assert_string_equal(out, name);

	/* Only a long entry's own text may be written to its side file. */
	assert_int_equal(names_longside_write(dfd, back, "AAAA"), -EINVAL);
	make_name(name, 231, 'a');
	assert_int_equal(names_encrypt(key, dirid, name, got, sizeof(got)), 0);
	assert_int_equal(names_longside_write(dfd, back, got), -EINVAL);
	assert_int_equal(names_longside_write(dfd, "phifs.conf", enc), -EINVAL);
	assert_int_equal(names_longside_write(dfd, "../x", enc), -EINVAL);
	assert_int_equal(names_longside_read(dfd, "phifs.ln.short", got, sizeof(got)), -EINVAL);

	/* A side file holding another (authentic) long name: hash mismatch. */
	write_file(dfd, side, got, strlen(got));
	assert_int_equal(names_from_backing(key, dfd, dirid, back, out, sizeof(out)), -EBADMSG);
	/* Truncated side file. */
	write_file(dfd, side, enc, strlen(enc) - 1);
	assert_int_equal(names_from_backing(key, dfd, dirid, back, out, sizeof(out)), -EBADMSG);
	/* Empty and oversized side files. */
	write_file(dfd, side, "", 0);
	assert_int_equal(names_from_backing(key, dfd, dirid, back, out, sizeof(out)), -EBADMSG);
	{
		char big[NAMES_ENC_MAX + 10];

		memset(big, 'A', sizeof(big));
		write_file(dfd, side, big, sizeof(big));
		assert_int_equal(names_longside_read(dfd, back, got, sizeof(got)), -EBADMSG);
		assert_int_equal(names_from_backing(key, dfd, dirid, back, out, sizeof(out)),
				 -EBADMSG);
	}
	/* Missing side file: corrupt, not silently skipped. */
	assert_int_equal(names_longside_remove(dfd, back), 0);
	assert_int_equal(names_longside_remove(dfd, back), 0);
	assert_int_equal(faccessat(dfd, side, F_OK, 0), -1);
	assert_int_equal(names_longside_read(dfd, back, got, sizeof(got)), -ENOENT);
	assert_int_equal(names_from_backing(key, dfd, dirid, back, out, sizeof(out)), -EBADMSG);
	/* Planted symlink or fifo in place of the side file. */
	write_file(dfd, "elsewhere", enc, strlen(enc));
	assert_int_equal(symlinkat("elsewhere", dfd, side), 0);
	assert_int_equal(names_from_backing(key, dfd, dirid, back, out, sizeof(out)), -EBADMSG);
	assert_int_equal(unlinkat(dfd, side, 0), 0);
	assert_int_equal(mkfifoat(dfd, side, 0600), 0);
	assert_int_equal(names_from_backing(key, dfd, dirid, back, out, sizeof(out)), -EBADMSG);
	assert_int_equal(unlinkat(dfd, side, 0), 0);

	/* Recreated, it reads back again. */
	assert_int_equal(names_longside_write(dfd, back, enc), 0);
	assert_int_equal(names_from_backing(key, dfd, dirid, back, out, sizeof(out)), 0);
	make_name(name, 230, 'a');
	assert_string_equal(out, name);
	rmtemp(path, dfd);
}

/*
 * A long-form entry whose side file holds a short text would be a second
 * backing entry for a name that has a short one: refused even though the
 * hash matches.
 */
/* A side file that cannot be written (a full disk; here RLIMIT_FSIZE) is not
 * left behind for an entry that was never made; one that names an existing
 * entry is kept. */
static void test_long_side_file_failed_write(void **state)
{
	char path[PATH_MAX], name[NAME_MAX + 1], enc[NAMES_ENC_MAX], back[NAME_MAX + 1];
	char side[NAME_MAX + 8];
	int dfd = mktemp_dir(path, sizeof(path)), fd, is_long;
	uint8_t dirid[NAMES_DIRID_LEN];
	struct rlimit lim, old_lim;

	(void)state;
	assert_int_equal(names_dirid_create(dfd), 0);
	assert_int_equal(names_dirid_read(dfd, dirid), 0);
	make_name(name, 230, 'q');
	assert_int_equal(names_to_backing(key, dirid, name, back, &is_long, enc, sizeof(enc)), 0);
	snprintf(side, sizeof(side), "%s%s", back, NAMES_LONG_SUFFIX);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_lim), 0);
	lim = old_lim;
	lim.rlim_cur = 16;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(names_longside_write(dfd, back, enc), -EFBIG);
	assert_int_equal(faccessat(dfd, side, F_OK, 0), -1);
	/* The entry exists (a create that raced to EEXIST): its side file stays. */
	fd = openat(dfd, back, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(names_longside_write(dfd, back, enc), -EFBIG);
	assert_int_equal(faccessat(dfd, side, F_OK, 0), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old_lim), 0);
	rmtemp(path, dfd);
}

static void test_long_form_of_short_name_refused(void **state)
{
	char path[PATH_MAX], enc[NAMES_ENC_MAX], back[NAME_MAX + 1], side[NAME_MAX + 8];
	char out[NAME_MAX + 1];
	int dfd = mktemp_dir(path, sizeof(path));
	uint8_t hash[32];

	(void)state;
	assert_int_equal(names_encrypt(key, dirid_a, "short", enc, sizeof(enc)), 0);
	assert_int_equal(cipher_sha256(enc, strlen(enc), hash), 0);
	strcpy(back, NAMES_LONG_PREFIX);
	assert_int_equal(b64_encode(hash, 32, back + strlen(back), sizeof(back) - strlen(back)), 0);
	assert_true(names_is_long(back));
	snprintf(side, sizeof(side), "%s%s", back, NAMES_LONG_SUFFIX);
	write_file(dfd, side, enc, strlen(enc));
	assert_int_equal(names_from_backing(key, dfd, dirid_a, back, out, sizeof(out)), -EBADMSG);
	assert_int_equal(names_longside_write(dfd, back, enc), -EINVAL);
	/* The short entry itself decrypts. */
	assert_int_equal(names_from_backing(key, dfd, dirid_a, enc, out, sizeof(out)), 0);
	assert_string_equal(out, "short");
	rmtemp(path, dfd);
}

static void test_reserved_skipped(void **state)
{
	static const char *const skip[] = {
		"phifs.dirid", "phifs.conf", "phifs.conf.tmp", "phifs.ln.short", "phifs.",
		"phifs.ln.8lAwZR4hd9EIOtG-U-P1-00DeOd70JzGPlzJ-HgMq_A.name",
		"phifs.ln.8lAwZR4hd9EIOtG-U-P1-00DeOd70JzGPlzJ-HgMq_Ax",
		".", "..",
	};
	char out[NAME_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
		assert_false(names_is_long(skip[i]));
		assert_int_equal(names_from_backing(key, -1, dirid_a, skip[i], out, sizeof(out)),
				 -ENOENT);
	}
	assert_true(names_is_reserved("phifs.anything"));
	assert_false(names_is_reserved("phifs"));
	assert_false(names_is_reserved("Phifs.conf"));
	/* Non-canonical trailing bits in the hash text: not a long entry. */
	assert_false(names_is_long("phifs.ln.8lAwZR4hd9EIOtG-U-P1-00DeOd70JzGPlzJ-HgMq_B"));
	assert_true(names_is_long("phifs.ln.8lAwZR4hd9EIOtG-U-P1-00DeOd70JzGPlzJ-HgMq_A"));
	/* Foreign files that are not reserved fail to authenticate rather than vanish. */
	assert_int_equal(names_from_backing(key, -1, dirid_a, "notes.txt", out, sizeof(out)),
			 -EBADMSG);
	assert_int_equal(names_from_backing(key, -1, dirid_a, "Tw5ZJmNDI05wpwJ9CsjqPnEG56neYoGx8TnLaucGAwo",
					    out, sizeof(out)), 0);
	assert_string_equal(out, "hello");
}

static void test_symlink_targets(void **state)
{
	static char target[PATH_MAX + 1], enc[8192], out[PATH_MAX + 1];
	static const size_t lens[] = { 1, 15, 16, 17, 100, 3039, 3040, 4095 };
	char name_out[NAME_MAX + 1];

	(void)state;
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		size_t len = lens[k];

		for (size_t i = 0; i < len; i++)
			target[i] = "PHI-MARKER/"[i % 11];
		target[len] = '\0';
		assert_int_equal(names_symlink_encrypt(key, target, enc, sizeof(enc)), 0);
		assert_int_equal(strlen(enc), b64_encoded_len(16 + len + 16 - len % 16));
		assert_int_equal(strspn(enc, B64URL), strlen(enc));
		assert_null(strstr(enc, "PHI"));
		assert_int_equal(names_symlink_decrypt(key, enc, out, sizeof(out)), 0);
		assert_string_equal(out, target);
		/*
		 * A backing symlink holds at most PATH_MAX - 1 characters: with a
		 * PATH_MAX buffer, targets up to 3039 bytes fit and longer ones are
		 * refused before reaching symlinkat.
		 */
		assert_int_equal(names_symlink_encrypt(key, target, enc, PATH_MAX),
				 len <= 3039 ? 0 : -ENAMETOOLONG);
	}
	memset(target, 'x', PATH_MAX);
	target[PATH_MAX] = '\0';
	assert_int_equal(names_symlink_encrypt(key, target, enc, sizeof(enc)), -ENAMETOOLONG);
	assert_int_equal(names_symlink_encrypt(key, "", enc, sizeof(enc)), -ENOENT);

	/* Tampering, and domain separation from names (AD "L" vs "N" ‖ dirid). */
	assert_int_equal(names_symlink_encrypt(key, "/srv/phi/a", enc, sizeof(enc)), 0);
	assert_int_equal(names_decrypt(key, dirid_a, enc, name_out, sizeof(name_out)), -EBADMSG);
	enc[5] = enc[5] == 'A' ? 'B' : 'A';
	assert_int_equal(names_symlink_decrypt(key, enc, out, sizeof(out)), -EBADMSG);
	assert_int_equal(names_encrypt(key, dirid_a, "a", enc, sizeof(enc)), 0);
	assert_int_equal(names_symlink_decrypt(key, enc, out, sizeof(out)), -EBADMSG);
	assert_int_equal(names_symlink_decrypt(key, "/etc/passwd", out, sizeof(out)), -EBADMSG);
	assert_int_equal(names_symlink_decrypt(key, "", out, sizeof(out)), -EBADMSG);
}

static void test_xattr_names(void **state)
{
	char enc[NAME_MAX + 1], out[NAME_MAX + 1], name[NAME_MAX + 2];

	(void)state;
	assert_int_equal(names_xattr_name_encrypt(xkey, "user.mime_type", enc, sizeof(enc)), 0);
	assert_int_equal(strncmp(enc, "user.phifs.", 11), 0);
	assert_int_equal(strspn(enc + 11, B64URL), strlen(enc + 11));
	assert_null(strstr(enc, "mime"));
	assert_int_equal(names_xattr_name_decrypt(xkey, enc, out, sizeof(out)), 0);
	assert_string_equal(out, "user.mime_type");
	/* Domain separation: the names key and AD "N" do not open it. */
	assert_int_equal(names_decrypt(xkey, dirid_a, enc + 11, out, sizeof(out)), -EBADMSG);
	assert_int_equal(names_xattr_name_decrypt(key, enc, out, sizeof(out)), -EBADMSG);
	enc[20] = enc[20] == 'A' ? 'B' : 'A';
	assert_int_equal(names_xattr_name_decrypt(xkey, enc, out, sizeof(out)), -EBADMSG);

	/* Other namespaces refused; on the way back, not ours. */
	assert_int_equal(names_xattr_name_encrypt(xkey, "security.selinux", enc, sizeof(enc)),
			 -EOPNOTSUPP);
	assert_int_equal(names_xattr_name_encrypt(xkey, "trusted.x", enc, sizeof(enc)), -EOPNOTSUPP);
	assert_int_equal(names_xattr_name_encrypt(xkey, "system.posix_acl_access", enc,
						  sizeof(enc)), -EOPNOTSUPP);
	assert_int_equal(names_xattr_name_encrypt(xkey, "USER.x", enc, sizeof(enc)), -EOPNOTSUPP);
	assert_int_equal(names_xattr_name_encrypt(xkey, "user.", enc, sizeof(enc)), -EINVAL);
	assert_int_equal(names_xattr_name_decrypt(xkey, "security.selinux", out, sizeof(out)),
			 -ENOENT);
	assert_int_equal(names_xattr_name_decrypt(xkey, "user.other_tool", out, sizeof(out)),
			 -ENOENT);
	assert_int_equal(names_xattr_name_decrypt(xkey, "user.phifs.garbage", out, sizeof(out)),
			 -EBADMSG);
	/* Authentic under the xattr key, but not a user.* name (or a bare "user."). */
	{
		static const char *const forged[] = { "trusted.evil", "user.", "usr.x" };

		for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
			uint8_t pt[32], sealed[48];
			size_t len = strlen(forged[i]), p = 16 - len % 16;

			memcpy(pt, forged[i], len);
			memset(pt + len, (int)p, p);
			assert_int_equal(cipher_siv_seal(xkey, NAMES_KEY_LEN, "XN", 2, pt, len + p,
							 sealed), 0);
			strcpy(enc, "user.phifs.");
			assert_int_equal(b64_encode(sealed, 16 + len + p, enc + 11,
						    sizeof(enc) - 11), 0);
			assert_int_equal(names_xattr_name_decrypt(xkey, enc, out, sizeof(out)),
					 -EBADMSG);
		}
	}

	/* Backing names must fit XATTR_NAME_MAX: 159 plaintext bytes do, 160 not. */
	memcpy(name, "user.", 5);
	memset(name + 5, 'k', 154);
	name[159] = '\0';
	assert_int_equal(names_xattr_name_encrypt(xkey, name, enc, sizeof(enc)), 0);
	assert_true(strlen(enc) <= 255);
	assert_int_equal(names_xattr_name_decrypt(xkey, enc, out, sizeof(out)), 0);
	assert_string_equal(out, name);
	assert_int_equal(names_xattr_name_decrypt(xkey, enc, out, 159), -ERANGE);
	name[159] = 'k';
	name[160] = '\0';
	assert_int_equal(names_xattr_name_encrypt(xkey, name, enc, sizeof(enc)), -ERANGE);
	assert_int_equal(names_xattr_name_encrypt(xkey, "user.a", enc, 20), -ERANGE);
}

static void test_xattr_values(void **state)
{
	char n1[NAME_MAX + 1], n2[NAME_MAX + 1];
	uint8_t val[1100], ct[1200], back[1100];
	size_t ctl, bl;

	(void)state;
	assert_int_equal(names_xattr_name_encrypt(xkey, "user.a", n1, sizeof(n1)), 0);
	assert_int_equal(names_xattr_name_encrypt(xkey, "user.b", n2, sizeof(n2)), 0);
	for (size_t len = 1; len <= sizeof(val); len += 99) {
		for (size_t i = 0; i < len; i++)
			val[i] = (uint8_t)(i * 7 + len);
		assert_int_equal(names_xattr_value_encrypt(xkey, n1, val, len, ct, sizeof(ct), &ctl),
				 0);
		assert_int_equal(ctl, len + 16);
		assert_int_equal(names_xattr_value_decrypt(xkey, n1, ct, ctl, back, len, &bl), 0);
		assert_int_equal(bl, len);
		assert_memory_equal(back, val, len);
	}
	memcpy(val, "diagnosis: PHI-MARKER", 21);
	assert_int_equal(names_xattr_value_encrypt(xkey, n1, val, 21, ct, sizeof(ct), &ctl), 0);
	assert_null(memmem(ct, ctl, "PHI", 3));
	/* A value moved to another attribute name does not open there. */
	assert_int_equal(names_xattr_value_decrypt(xkey, n2, ct, ctl, back, sizeof(back), &bl),
			 -EBADMSG);
	ct[ctl - 1] ^= 1;
	assert_int_equal(names_xattr_value_decrypt(xkey, n1, ct, ctl, back, sizeof(back), &bl),
			 -EBADMSG);
	ct[ctl - 1] ^= 1;
	ct[0] ^= 0x80;
	assert_int_equal(names_xattr_value_decrypt(xkey, n1, ct, ctl, back, sizeof(back), &bl),
			 -EBADMSG);
	ct[0] ^= 0x80;
	assert_int_equal(names_xattr_value_decrypt(xkey, n1, ct, ctl - 1, back, sizeof(back), &bl),
			 -EBADMSG);
	assert_int_equal(names_xattr_value_decrypt(xkey, n1, ct, 15, back, sizeof(back), &bl),
			 -EBADMSG);
	/* Buffers too small are ERANGE, as getxattr/setxattr callers expect. */
	assert_int_equal(names_xattr_value_decrypt(xkey, n1, ct, ctl, back, 20, &bl), -ERANGE);
	assert_int_equal(names_xattr_value_decrypt(xkey, n1, ct, ctl, back, 21, &bl), 0);
	assert_memory_equal(back, "diagnosis: PHI-MARKER", 21);
	assert_int_equal(names_xattr_value_encrypt(xkey, n1, val, 21, ct, 36, &ctl), -ERANGE);
	assert_int_equal(names_xattr_value_encrypt(xkey, n1, val, 65536 - 15, ct, sizeof(ct), &ctl),
			 -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_roundtrip_every_length),
		cmocka_unit_test(test_roundtrip_odd_names),
		cmocka_unit_test(test_deterministic_and_dir_bound),
		cmocka_unit_test(test_alphabet_never_reserved),
		cmocka_unit_test(test_tamper_every_character),
		cmocka_unit_test(test_decrypt_checks_padding_and_name),
		cmocka_unit_test(test_encrypt_refuses_bad_names),
		cmocka_unit_test(test_dirid),
		cmocka_unit_test(test_long_names_side_file),
		cmocka_unit_test(test_long_side_file_failed_write),
		cmocka_unit_test(test_long_form_of_short_name_refused),
		cmocka_unit_test(test_reserved_skipped),
		cmocka_unit_test(test_symlink_targets),
		cmocka_unit_test(test_xattr_names),
		cmocka_unit_test(test_xattr_values),
	};
	int rc;

	fixtures();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	cipher_thread_cleanup();
	return rc;
}
