/*
 * names.c: encrypted names (docs/FORMAT.md §6.2), long names and their side
 * files (§6.3), directory ids (§6.1), symlink targets (§6.4) and xattr names
 * and values (§7).
 *
 * Every text here is AES-256-SIV over PKCS#7-padded plaintext, in strict
 * base64url: deterministic, so a lookup encrypts the name and opens the
 * backing entry directly, and canonical, so each plaintext has exactly one
 * backing form (decoding refuses every other text that would authenticate).
 * Backing names are attacker-controlled input: everything read from the
 * backing directory is authenticated before it is trusted, and side files and
 * dirid files are opened without following symlinks or blocking on fifos.
 *
 * It deliberately does not choose keys (keys.c), nor order the side-file and
 * entry operations of a create/rename/unlink (the callers do, per §6.3), nor
 * fsync directories (the caller knows which directory fds it holds).
 * Plaintext is never logged.
 */
#include "config.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b64.h"
#include "cipher.h"
#include "fdio.h"
#include "names.h"
#include "secmem.h"

#ifndef XATTR_NAME_MAX
#define XATTR_NAME_MAX 255
#endif
#ifndef XATTR_SIZE_MAX
#define XATTR_SIZE_MAX 65536
#endif

#define PAD_UNIT 16
#define TAG_LEN CIPHER_SIV_TAG_LEN
/* Largest padded plaintexts: a 255-byte name, a 4095-byte symlink target. */
#define NAME_PAD_MAX (NAME_MAX + 1)
#define LINK_PAD_MAX PATH_MAX
#define HASH_LEN 32
#define HASH_TEXT_LEN 43 /* base64url of 32 bytes */

#define XATTR_USER "user."
#define XATTR_USER_LEN (sizeof(XATTR_USER) - 1)
#define XATTR_BACKING "user.phifs."
#define XATTR_BACKING_LEN (sizeof(XATTR_BACKING) - 1)

static_assert(NAME_PAD_MAX % PAD_UNIT == 0 && LINK_PAD_MAX % PAD_UNIT == 0,
	      "padded maxima are whole pad units");
static_assert(NAMES_ENC_MAX > (NAME_PAD_MAX + TAG_LEN + 2) / 3 * 4,
	      "NAMES_ENC_MAX holds the longest encrypted name");

/* PKCS#7: always 1..16 bytes, so the padded length hides the exact one. */
static size_t pad16(const char *pt, size_t len, uint8_t *out)
{
	size_t p = PAD_UNIT - len % PAD_UNIT;

	memcpy(out, pt, len);
	memset(out + len, (int)p, p);
	return len + p;
}

/*
 * SIV has already authenticated buf, so this only has to be exact, not secret;
 * it still reads every pad byte so the timing does not depend on where a
 * mismatch sits.
 */
static int unpad16(const uint8_t *buf, size_t len, size_t *out_len)
{
	unsigned int p, bad = 0;
	size_t i;

	if (len < PAD_UNIT || len % PAD_UNIT)
		return -EBADMSG;
	p = buf[len - 1];
	if (p < 1 || p > PAD_UNIT)
		return -EBADMSG;
	for (i = 0; i < PAD_UNIT; i++)
		bad |= (i < p) & (buf[len - 1 - i] != p);
	if (bad)
		return -EBADMSG;
	*out_len = len - p;
	return 0;
}

/* text = base64url(SIV(key, ad, pad16(pt))); len + 1..16 must fit LINK_PAD_MAX. */
static int seal_text(const uint8_t key[NAMES_KEY_LEN], const void *ad, size_t ad_len,
		     const char *pt, size_t len, char *out, size_t cap)
{
	uint8_t padded[LINK_PAD_MAX], sealed[TAG_LEN + LINK_PAD_MAX];
	size_t plen = 0;
	int ret = -ENAMETOOLONG;

	if (len >= LINK_PAD_MAX)
		goto out;
	plen = pad16(pt, len, padded);
	ret = cipher_siv_seal(key, NAMES_KEY_LEN, ad, ad_len, padded, plen, sealed);
	if (ret)
		goto out;
	ret = b64_encode(sealed, TAG_LEN + plen, out, cap);
out:
	secmem_wipe(padded, plen);
	return ret;
}

/*
 * Inverse of seal_text for untrusted text: at most pad_max padded bytes, and
 * the plaintext must have no NUL (it becomes a C string). Every failure of
 * the input itself is -EBADMSG; a short out is -ENAMETOOLONG.
 */
static int open_text(const uint8_t key[NAMES_KEY_LEN], const void *ad, size_t ad_len,
		     const char *in, size_t pad_max, char *out, size_t cap, size_t *out_len)
{
	uint8_t sealed[TAG_LEN + LINK_PAD_MAX], padded[LINK_PAD_MAX];
	size_t max_text = b64_encoded_len(TAG_LEN + pad_max);
	size_t n = strnlen(in, max_text + 1), slen, plen = 0, tlen;
	int ret = -EBADMSG;

	if (n > max_text)
		goto out;
	if (b64_decode(in, n, sealed, TAG_LEN + pad_max, &slen))
		goto out;
	if (slen < TAG_LEN + PAD_UNIT || (slen - TAG_LEN) % PAD_UNIT)
		goto out;
	plen = slen - TAG_LEN;
	ret = cipher_siv_open(key, NAMES_KEY_LEN, ad, ad_len, sealed, slen, padded);
	if (ret)
		goto out;
	ret = unpad16(padded, plen, &tlen);
	if (ret)
		goto out;
	ret = -EBADMSG;
	if (memchr(padded, '\0', tlen))
		goto out;
	ret = -ENAMETOOLONG;
	if (cap < tlen + 1)
		goto out;
	memcpy(out, padded, tlen);
	out[tlen] = '\0';
	*out_len = tlen;
	ret = 0;
out:
	secmem_wipe(padded, plen);
	return ret;
}

/* §6.2: 1..255 bytes, no '/', not "." or ".." (NUL cannot occur in a C string). */
static int name_valid(const char *name, size_t len)
{
	if (len == 0 || len > NAME_MAX)
		return 0;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	return memchr(name, '/', len) == NULL;
}

static void name_ad(const uint8_t dirid[NAMES_DIRID_LEN], uint8_t ad[1 + NAMES_DIRID_LEN])
{
	ad[0] = 'N';
	memcpy(ad + 1, dirid, NAMES_DIRID_LEN);
}

int names_encrypt(const uint8_t key[NAMES_KEY_LEN], const uint8_t dirid[NAMES_DIRID_LEN],
		  const char *name, char *enc, size_t cap)
{
	uint8_t ad[1 + NAMES_DIRID_LEN];
	size_t len = strnlen(name, NAME_MAX + 1);

	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	if (!name_valid(name, len))
		return -EINVAL;
	name_ad(dirid, ad);
	return seal_text(key, ad, sizeof(ad), name, len, enc, cap);
}

int names_decrypt(const uint8_t key[NAMES_KEY_LEN], const uint8_t dirid[NAMES_DIRID_LEN],
		  const char *enc, char *name, size_t cap)
{
	uint8_t ad[1 + NAMES_DIRID_LEN];
	size_t len;
	int ret;

	name_ad(dirid, ad);
	ret = open_text(key, ad, sizeof(ad), enc, NAME_PAD_MAX, name, cap, &len);
	if (ret)
		goto out;
	/* Authentic but not a name we would ever have written: still corrupt. */
	if (!name_valid(name, len)) {
		secmem_wipe(name, len);
		ret = -EBADMSG;
	}
out:
	return ret;
}

int names_is_reserved(const char *backing)
{
	return strncmp(backing, NAMES_RESERVED_PREFIX, sizeof(NAMES_RESERVED_PREFIX) - 1) == 0;
}

/* Exactly phifs.ln. followed by the canonical text of a SHA-256, nothing more. */
int names_is_long(const char *backing)
{
	const size_t plen = sizeof(NAMES_LONG_PREFIX) - 1;
	uint8_t hash[HASH_LEN];
	size_t n;

	if (strncmp(backing, NAMES_LONG_PREFIX, plen))
		return 0;
	if (strnlen(backing + plen, HASH_TEXT_LEN + 1) != HASH_TEXT_LEN)
		return 0;
	if (b64_decode(backing + plen, HASH_TEXT_LEN, hash, sizeof(hash), &n) || n != HASH_LEN)
		return 0;
	return 1;
}

int names_backing(const char *enc, char out[NAME_MAX + 1], int *is_long)
{
	const size_t plen = sizeof(NAMES_LONG_PREFIX) - 1;
	uint8_t hash[HASH_LEN];
	size_t n = strnlen(enc, NAMES_ENC_MAX);
	int ret = -EINVAL;

	if (n == 0 || n >= NAMES_ENC_MAX)
		goto out;
	if (n <= NAME_MAX) {
		memcpy(out, enc, n + 1);
		*is_long = 0;
		ret = 0;
		goto out;
	}
	ret = cipher_sha256(enc, n, hash);
	if (ret)
		goto out;
	memcpy(out, NAMES_LONG_PREFIX, plen);
	ret = b64_encode(hash, sizeof(hash), out + plen, NAME_MAX + 1 - plen);
	if (ret)
		goto out;
	*is_long = 1;
out:
	return ret;
}

int names_to_backing(const uint8_t key[NAMES_KEY_LEN], const uint8_t dirid[NAMES_DIRID_LEN],
		     const char *name, char out[NAME_MAX + 1], int *is_long,
		     char *enc, size_t enc_cap)
{
	char local[NAMES_ENC_MAX];
	int ret;

	/* enc is optional: callers that never write a side file do not need it. */
	if (!enc) {
		enc = local;
		enc_cap = sizeof(local);
	}
	ret = names_encrypt(key, dirid, name, enc, enc_cap);
	if (ret)
		goto out;
	ret = names_backing(enc, out, is_long);
out:
	return ret;
}

/* Side file of a long entry; refuses anything else so no caller builds a path. */
static int side_name(const char *backing, char out[NAME_MAX + 1])
{
	int n;

	if (!names_is_long(backing))
		return -EINVAL;
	n = snprintf(out, NAME_MAX + 1, "%s%s", backing, NAMES_LONG_SUFFIX);
	if (n < 0 || n > NAME_MAX)
		return -EINVAL;
	return 0;
}

/*
 * Opens a small metadata file for reading. O_NOFOLLOW and O_NONBLOCK because
 * an attacker with write access to the backing directory could plant a
 * symlink (reading elsewhere) or a fifo (hanging the daemon) in its place;
 * both, and any other non-regular file, are corruption (-EBADMSG).
 */
static int open_meta(int dirfd, const char *file, int *fd_out)
{
	struct stat st;
	int fd, ret;

	fd = openat(dirfd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ret = errno == ELOOP ? -EBADMSG : -errno;
		goto out;
	}
	ret = fstat(fd, &st) ? -errno : 0;
	if (!ret && !S_ISREG(st.st_mode))
		ret = -EBADMSG;
	if (ret) {
		close(fd);
		goto out;
	}
	*fd_out = fd;
out:
	return ret;
}

/*
 * No O_TRUNC: the content is a function of the entry name, so rewriting an
 * existing side file in place writes the same bytes, and a crash part-way
 * leaves it intact instead of empty under an entry that needs it.
 */
int names_longside_write(int dirfd, const char *backing, const char *enc)
{
	char side[NAME_MAX + 1], check[NAME_MAX + 1];
	size_t n = strnlen(enc, NAMES_ENC_MAX);
	struct stat st;
	int fd = -1, is_long, ret;

	ret = side_name(backing, side);
	if (ret)
		goto out;
	/* The side file must hash to its entry, or the entry would not read back. */
	ret = names_backing(enc, check, &is_long);
	if (!ret && (!is_long || strcmp(check, backing)))
		ret = -EINVAL;
	if (ret)
		goto out;
	fd = openat(dirfd, side, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = fstat(fd, &st) ? -errno : 0;
	if (!ret && !S_ISREG(st.st_mode))
		ret = -EIO;
	if (!ret)
		ret = fdio_pwrite(fd, enc, n, 0);
	if (!ret && ftruncate(fd, (off_t)n))
		ret = -errno;
	if (!ret && fsync(fd))
		ret = -errno;
out:
	if (fd >= 0 && close(fd) && !ret)
		ret = -errno;
	/* A side file that could not be written (a full disk) must not stay
	 * behind an entry that was never made: fsck would call it orphaned. */
	if (ret && fd >= 0 && faccessat(dirfd, backing, F_OK, AT_SYMLINK_NOFOLLOW) != 0)
		(void)unlinkat(dirfd, side, 0);
	return ret;
}

int names_longside_read(int dirfd, const char *backing, char *enc, size_t cap)
{
	char side[NAME_MAX + 1], extra;
	size_t got = 0, more = 0;
	int fd = -1, ret;

	if (cap < 2)
		return -ENAMETOOLONG;
	ret = side_name(backing, side);
	if (ret)
		goto out;
	ret = open_meta(dirfd, side, &fd);
	if (ret)
		goto out;
	ret = fdio_read(fd, enc, cap - 1, &got);
	if (!ret && got == cap - 1)
		ret = fdio_read(fd, &extra, 1, &more);
	if (ret)
		goto out;
	/* Empty, oversized or NUL-bearing content was never written by us. */
	ret = -EBADMSG;
	if (got == 0 || more || memchr(enc, '\0', got))
		goto out;
	enc[got] = '\0';
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

int names_longside_remove(int dirfd, const char *backing)
{
	char side[NAME_MAX + 1];
	int ret;

	ret = side_name(backing, side);
	if (ret)
		goto out;
	if (unlinkat(dirfd, side, 0) && errno != ENOENT)
		ret = -errno;
out:
	return ret;
}

/*
 * A long entry is trusted only if its side file hashes to its name and is
 * canonical (longer than 255 characters): otherwise an attacker could make a
 * second, long-form entry for a name that already has a short one.
 */
static int long_from_backing(const uint8_t key[NAMES_KEY_LEN], int dirfd,
			     const uint8_t dirid[NAMES_DIRID_LEN], const char *backing,
			     char *name, size_t cap)
{
	char enc[NAMES_ENC_MAX], check[NAME_MAX + 1];
	int is_long, ret;

	ret = names_longside_read(dirfd, backing, enc, sizeof(enc));
	/* The side file outlives its entry (§6.3): missing means corrupt, not skip. */
	if (ret == -ENOENT)
		ret = -EBADMSG;
	if (ret)
		goto out;
	ret = names_backing(enc, check, &is_long);
	if (ret || !is_long || strcmp(check, backing)) {
		ret = -EBADMSG;
		goto out;
	}
	ret = names_decrypt(key, dirid, enc, name, cap);
out:
	return ret;
}

int names_from_backing(const uint8_t key[NAMES_KEY_LEN], int dirfd,
		       const uint8_t dirid[NAMES_DIRID_LEN], const char *backing,
		       char *name, size_t cap)
{
	/* "." and ".." are the caller's to synthesise; skip them like reserved names. */
	if (!strcmp(backing, ".") || !strcmp(backing, ".."))
		return -ENOENT;
	if (names_is_long(backing))
		return long_from_backing(key, dirfd, dirid, backing, name, cap);
	if (names_is_reserved(backing))
		return -ENOENT;
	return names_decrypt(key, dirid, backing, name, cap);
}

int names_dirid_create(int dirfd)
{
	uint8_t id[NAMES_DIRID_LEN];
	int fd = -1, created = 0, ret;

	ret = cipher_random(id, sizeof(id));
	if (ret)
		goto out;
	/* O_EXCL: an existing id is never replaced, or every name under it is lost. */
	fd = openat(dirfd, NAMES_DIRID_FILE,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	created = 1;
	ret = fdio_pwrite(fd, id, sizeof(id), 0);
	if (!ret && fsync(fd))
		ret = -errno;
out:
	if (fd >= 0 && close(fd) && !ret)
		ret = -errno;
	/* A half-written id would make the directory unreadable; let a retry start over. */
	if (ret && created)
		(void)unlinkat(dirfd, NAMES_DIRID_FILE, 0);
	return ret;
}

int names_dir_empty(int dirfd)
{
	struct dirent *e;
	DIR *d;
	int ret = fdio_opendir(dirfd, &d);

	if (ret)
		return ret;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (!names_is_reserved(e->d_name) || names_is_long(e->d_name)) {
			ret = -ENOTEMPTY;
			break;
		}
	}
	closedir(d);
	return ret;
}

/*
 * §6.1: a rename over an empty directory removes the target's id just before
 * the rename; a crash in between leaves that empty directory without one. It
 * holds no name an old id could decrypt, so it gets a new id; a directory
 * with entries and no id stays an error (-ENOENT): its names are lost.
 */
int names_dirid_heal(int dirfd)
{
	int ret = names_dir_empty(dirfd);

	if (ret)
		return ret == -ENOTEMPTY ? -ENOENT : ret;
	ret = names_dirid_create(dirfd);
	return ret == -EEXIST ? 0 : ret;
}

int names_dirid_read(int dirfd, uint8_t dirid[NAMES_DIRID_LEN])
{
	uint8_t buf[NAMES_DIRID_LEN + 1];
	size_t got = 0;
	int fd = -1, ret;

	ret = open_meta(dirfd, NAMES_DIRID_FILE, &fd);
	if (ret)
		goto out;
	/* One byte more than an id, to see a file that is too long. */
	ret = fdio_read(fd, buf, sizeof(buf), &got);
	if (ret)
		goto out;
	if (got != NAMES_DIRID_LEN) {
		ret = -EBADMSG;
		goto out;
	}
	memcpy(dirid, buf, NAMES_DIRID_LEN);
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* §6.4: targets of 1..4095 bytes, as symlink(2) takes them. */
int names_symlink_encrypt(const uint8_t key[NAMES_KEY_LEN], const char *target, char *out,
			  size_t cap)
{
	size_t len = strnlen(target, PATH_MAX);

	if (len == 0)
		return -ENOENT; /* what symlink(2) says to an empty target */
	if (len >= PATH_MAX)
		return -ENAMETOOLONG;
	return seal_text(key, "L", 1, target, len, out, cap);
}

int names_symlink_decrypt(const uint8_t key[NAMES_KEY_LEN], const char *enc, char *out,
			  size_t cap)
{
	size_t len;
	int ret;

	ret = open_text(key, "L", 1, enc, LINK_PAD_MAX, out, cap, &len);
	if (!ret && len == 0)
		ret = -EBADMSG;
	return ret;
}

/*
 * §7: the whole name, "user." included, is sealed; the backing name must
 * itself fit XATTR_NAME_MAX, which limits plaintext names to 159 bytes.
 */
int names_xattr_name_encrypt(const uint8_t key[NAMES_KEY_LEN], const char *name, char *out,
			     size_t cap)
{
	size_t len = strnlen(name, XATTR_NAME_MAX + 1), text;

	if (strncmp(name, XATTR_USER, XATTR_USER_LEN))
		return -EOPNOTSUPP;
	if (len == XATTR_USER_LEN)
		return -EINVAL; /* as the kernel says to a bare "user." */
	if (len > XATTR_NAME_MAX)
		return -ERANGE;
	text = b64_encoded_len(TAG_LEN + len + PAD_UNIT - len % PAD_UNIT);
	if (XATTR_BACKING_LEN + text > XATTR_NAME_MAX)
		return -ERANGE;
	if (cap < XATTR_BACKING_LEN + text + 1)
		return -ERANGE;
	memcpy(out, XATTR_BACKING, XATTR_BACKING_LEN);
	return seal_text(key, "XN", 2, name, len, out + XATTR_BACKING_LEN,
			 cap - XATTR_BACKING_LEN);
}

int names_xattr_name_decrypt(const uint8_t key[NAMES_KEY_LEN], const char *backing, char *out,
			     size_t cap)
{
	size_t len;
	int ret;

	/* Other namespaces and other tools' user.* names are not ours to show. */
	if (strncmp(backing, XATTR_BACKING, XATTR_BACKING_LEN))
		return -ENOENT;
	ret = open_text(key, "XN", 2, backing + XATTR_BACKING_LEN, NAME_PAD_MAX, out, cap, &len);
	if (ret == -ENAMETOOLONG)
		ret = -ERANGE;
	if (ret)
		goto out;
	if (len <= XATTR_USER_LEN || strncmp(out, XATTR_USER, XATTR_USER_LEN)) {
		secmem_wipe(out, len);
		ret = -EBADMSG;
	}
out:
	return ret;
}

/* AD = "XV" ‖ backing name: a value copied under another name does not open. */
static int value_ad(const char *backing_name, uint8_t ad[2 + XATTR_NAME_MAX], size_t *ad_len)
{
	size_t n = strnlen(backing_name, XATTR_NAME_MAX + 1);

	if (n == 0 || n > XATTR_NAME_MAX)
		return -EINVAL;
	ad[0] = 'X';
	ad[1] = 'V';
	memcpy(ad + 2, backing_name, n);
	*ad_len = 2 + n;
	return 0;
}

int names_xattr_value_encrypt(const uint8_t key[NAMES_KEY_LEN], const char *backing_name,
			      const void *val, size_t len, uint8_t *out, size_t cap,
			      size_t *out_len)
{
	uint8_t ad[2 + XATTR_NAME_MAX];
	size_t ad_len;
	int ret;

	ret = value_ad(backing_name, ad, &ad_len);
	if (ret)
		goto out;
	ret = -E2BIG; /* the backing value must still fit XATTR_SIZE_MAX */
	if (len > XATTR_SIZE_MAX - TAG_LEN)
		goto out;
	ret = -ERANGE;
	if (cap < len + TAG_LEN)
		goto out;
	ret = cipher_siv_seal(key, NAMES_KEY_LEN, ad, ad_len, val, len, out);
	if (ret)
		goto out;
	*out_len = len + TAG_LEN;
out:
	return ret;
}

int names_xattr_value_decrypt(const uint8_t key[NAMES_KEY_LEN], const char *backing_name,
			      const uint8_t *in, size_t len, void *out, size_t cap,
			      size_t *out_len)
{
	uint8_t ad[2 + XATTR_NAME_MAX];
	size_t ad_len;
	int ret;

	ret = value_ad(backing_name, ad, &ad_len);
	if (ret)
		goto out;
	ret = -EBADMSG;
	if (len < TAG_LEN)
		goto out;
	ret = -ERANGE;
	if (cap < len - TAG_LEN)
		goto out;
	ret = cipher_siv_open(key, NAMES_KEY_LEN, ad, ad_len, in, len, out);
	if (ret)
		goto out;
	*out_len = len - TAG_LEN;
out:
	return ret;
}
