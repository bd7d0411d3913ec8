/*
 * local.c: the `local:/path/keyfile` provider (docs/FORMAT.md §8).
 *
 * Owns the key file: creating it (32 random bytes, mode 0600, fsynced with its
 * directory), refusing it when it is not a plain file that only its owner can
 * read (a KEK others can read protects nothing), and holding the KEK in a
 * secret buffer for the handle's life. The blob is the envelope of
 * envelope.c; this file does not know what it wraps.
 *
 * Key file paths are operator configuration, not PHI, so messages name them.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cipher.h"
#include "envelope.h"
#include "fdio.h"
#include "provider.h"
#include "secmem.h"

#define LOCAL_KEY_LEN CIPHER_KEY_LEN            /* the file is exactly this many bytes */
#define LOCAL_ID_CONTEXT "phifs local key id"
#define LOCAL_ID_PREFIX "local:"
#define LOCAL_ID_BYTES 8                        /* of the HMAC, shown as 16 hex */

struct local {
	uint8_t *kek;   /* LOCAL_KEY_LEN bytes, secmem */
	char key_id[sizeof(LOCAL_ID_PREFIX) + 2 * LOCAL_ID_BYTES];
	int64_t created;   /* the key file's mtime: when it was written */
	char *path;        /* the key file (destroy_key) */
};

/* Absolute (the daemon's cwd is not the operator's), and printable so that an
 * unauthenticated config cannot put terminal control bytes in our messages. */
static int path_check(const char *path)
{
	size_t len;

	if (!path || path[0] != '/') {
		kms_warn("local: the key file must be an absolute path (local:/path/to/keyfile)");
		return -EINVAL;
	}
	len = strnlen(path, PATH_MAX);
	if (len >= PATH_MAX || path[len - 1] == '/') {
		kms_warn("local: the key file path is too long or names a directory");
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f) {
			kms_warn("local: the key file path contains control characters");
			return -EINVAL;
		}
	}
	return 0;
}

/* Exactly len bytes or -EIO. */
static int read_exact(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	int ret = fdio_read(fd, buf, len, &got);

	return ret ? ret : (got == len ? 0 : -EIO);
}

static int errno_to_ret(int e)
{
	if (e == ENOENT || e == ENOTDIR)
		return -ENOENT;
	if (e == EACCES || e == EPERM)
		return -EACCES;
	return -EIO;
}

/* Opens the key file's directory; *base points into `path` at the last component. */
static int dir_open(const char *path, const char **base)
{
	char dir[PATH_MAX];
	char *slash;
	int fd;

	memcpy(dir, path, strlen(path) + 1);   /* path_check bounded it by PATH_MAX */
	slash = strrchr(dir, '/');
	*base = path + (slash - dir) + 1;
	slash[slash == dir ? 1 : 0] = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		kms_warn("local: cannot create key file %s: its directory: %s", path, strerror(e));
		return errno_to_ret(e);
	}
	return fd;
}

static int key_write(int fd)
{
	uint8_t *key = secmem_alloc(LOCAL_KEY_LEN);
	int ret = -ENOMEM;

	if (!key)
		goto out;
	ret = cipher_random(key, LOCAL_KEY_LEN);
	if (ret)
		goto out;
	ret = fdio_write(fd, key, LOCAL_KEY_LEN);
	if (!ret && fsync(fd) != 0)
		ret = -EIO;
out:
	secmem_free(key);
	return ret;
}

/*
 * O_EXCL: never overwrite a key (that would orphan every volume it wraps). An
 * existing file, or a symlink in its place, is left to keyfile_load's checks.
 * The directory is fsynced so that a crash after init cannot lose the key.
 */
static int keyfile_create(const char *path)
{
	const char *base = NULL;
	int dfd = -1, fd = -1, created = 0, ret;

	ret = dir_open(path, &base);
	if (ret < 0)
		goto out;
	dfd = ret;
	fd = openat(dfd, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;

		ret = e == EEXIST ? 0 : errno_to_ret(e);
		if (ret)
			kms_warn("local: cannot create key file %s: %s", path, strerror(e));
		goto out;
	}
	created = 1;
	/* The umask may have taken bits away; the result must be exactly 0600. */
	ret = fchmod(fd, 0600) == 0 ? 0 : -EIO;
	if (!ret)
		ret = key_write(fd);
	if (close(fd) != 0 && !ret)
		ret = -EIO;
	fd = -1;
	if (!ret && fsync(dfd) != 0)
		ret = -EIO;
	if (ret)
		kms_warn("local: cannot write key file %s", path);
out:
	/* A short or unsynced key file would only be refused later; no volume
	 * uses it yet, so removing it is safe. */
	if (ret && created)
		(void)unlinkat(dfd, base, 0);
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return ret;
}

static int open_error(const char *path, int e)
{
	if (e == ENOENT)
		kms_warn("local: key file %s does not exist", path);
	else if (e == ELOOP)
		kms_warn("local: key file %s is a symbolic link; refusing to follow it", path);
	else
		kms_warn("local: cannot open key file %s: %s", path, strerror(e));
	return e == ELOOP ? -EACCES : errno_to_ret(e);
}

/* Owner root is accepted too: root-owned keys under /etc read by root tools. */
static int keyfile_check(const char *path, const struct stat *st)
{
	uid_t euid = geteuid();

	if (!S_ISREG(st->st_mode)) {
		kms_warn("local: key file %s is not a regular file", path);
		return -EACCES;
	}
	if (st->st_uid != euid && st->st_uid != 0) {
		kms_warn("local: key file %s is owned by uid %u, not by uid %u or root", path,
			 (unsigned)st->st_uid, (unsigned)euid);
		return -EACCES;
	}
	if (st->st_mode & 077) {
		kms_warn("local: key file %s has mode %04o; group and others must have no access "
			 "(chmod 600)", path, (unsigned)(st->st_mode & 07777));
		return -EACCES;
	}
	if (st->st_size != LOCAL_KEY_LEN) {
		kms_warn("local: key file %s is %jd bytes; a key file is exactly %d bytes", path,
			 (intmax_t)st->st_size, LOCAL_KEY_LEN);
		return -EACCES;
	}
	return 0;
}

/* O_NONBLOCK: a fifo planted at the path must not hang us before fstat refuses it. */
static int keyfile_load(const char *path, uint8_t *kek, int64_t *mtime)
{
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return open_error(path, errno);
	ret = fstat(fd, &st) == 0 ? 0 : -EIO;
	if (!ret)
		ret = keyfile_check(path, &st);
	if (!ret)
		*mtime = (int64_t)st.st_mtime;
	if (!ret) {
		ret = read_exact(fd, kek, LOCAL_KEY_LEN);
		if (ret)
			kms_warn("local: cannot read key file %s", path);
	}
	close(fd);
	return ret;
}

static int key_id_compute(struct local *l)
{
	uint8_t mac[CIPHER_HMAC_LEN];
	int ret;

	ret = cipher_hmac_sha256(l->kek, LOCAL_KEY_LEN, LOCAL_ID_CONTEXT,
				 sizeof(LOCAL_ID_CONTEXT) - 1, mac);
	if (!ret)
		ret = kms_id_format(LOCAL_ID_PREFIX, mac, LOCAL_ID_BYTES, l->key_id,
				    sizeof(l->key_id));
	secmem_wipe(mac, sizeof(mac));
	return ret ? -EIO : 0;
}

static void local_close(void *state)
{
	struct local *l = state;

	if (!l)
		return;
	secmem_free(l->kek);
	free(l->path);
	free(l);
}

static int local_open(const char *arg, const struct kms_opts *opts, void **state)
{
	struct local *l = NULL;
	int ret;

	ret = path_check(arg);
	if (ret)
		goto out;
	ret = -ENOMEM;
	l = calloc(1, sizeof(*l));
	if (!l)
		goto out;
	l->kek = secmem_alloc(LOCAL_KEY_LEN);
	l->path = strdup(arg);
	if (!l->kek || !l->path)
		goto out;
	if (opts->create) {
		ret = keyfile_create(arg);
		if (ret)
			goto out;
	}
	ret = keyfile_load(arg, l->kek, &l->created);
	if (ret)
		goto out;
	ret = key_id_compute(l);
	if (ret)
		goto out;
	*state = l;
	l = NULL;
out:
	local_close(l);
	return ret;
}

static int local_wrap(void *state, const void *aad, size_t aad_len, const uint8_t *secret,
		      size_t len, uint8_t *blob, size_t *blob_len)
{
	struct local *l = state;
	size_t need = len + ENVELOPE_OVERHEAD;
	int ret;

	if (*blob_len < need)
		return -EINVAL;
	ret = envelope_seal(l->kek, aad, aad_len, secret, len, blob);
	if (!ret)
		*blob_len = need;
	return ret;
}

/* A blob of the wrong length for `len` is a tampered (or foreign) blob. */
static int local_unwrap(void *state, const void *aad, size_t aad_len, const uint8_t *blob,
			size_t blob_len, uint8_t *secret, size_t len)
{
	struct local *l = state;

	if (blob_len != len + ENVELOPE_OVERHEAD)
		return -EKEYREJECTED;
	return envelope_open(l->kek, aad, aad_len, blob, secret, len);
}

static const char *local_key_id(const void *state)
{
	const struct local *l = state;

	return l->key_id;
}

/* A local blob names no key: its compact form is itself. Expanding checks
 * the KEK id, so a blob of another key file is refused by name. */
static int local_compact(const void *state, const uint8_t *blob, size_t blob_len, uint8_t *out,
			 size_t *out_len)
{
	(void)state;
	if (*out_len < blob_len)
		return -EINVAL;
	memcpy(out, blob, blob_len);
	*out_len = blob_len;
	return 0;
}

static int local_expand(const void *state, const char *kek_id, const uint8_t *in, size_t in_len,
			uint8_t *blob, size_t *blob_len)
{
	const struct local *l = state;

	if (strcmp(kek_id, l->key_id) != 0)
		return -EKEYREJECTED;
	return local_compact(state, in, in_len, blob, blob_len);
}

/* One key per file: only the current one can be described. */
static int local_describe(void *state, const char *id, struct kms_key_info *info)
{
	const struct local *l = state;

	if (id && strcmp(id, l->key_id) != 0)
		return -ENOKEY;
	snprintf(info->id, sizeof(info->id), "%s", l->key_id);
	snprintf(info->state, sizeof(info->state), "active");
	info->created = l->created;
	return 0;
}

/*
 * Crypto-shredding (FORMAT.md §12.4): the key file is overwritten with random
 * bytes and fsynced before it is unlinked and its directory fsynced, so that
 * neither the name nor (on a file system that overwrites in place) the blocks
 * keep the KEK. Flash remapping may still keep old blocks: THREAT_MODEL.md.
 * Only the key this handle holds can be destroyed (id must match).
 */
static int local_destroy_key(void *state, const char *id)
{
	struct local *l = state;
	const char *base = NULL;
	int dfd = -1, fd = -1, ret;

	if (strcmp(id, l->key_id) != 0)
		return -ENOKEY;
	ret = dir_open(l->path, &base);
	if (ret < 0)
		goto out;
	dfd = ret;
	fd = openat(dfd, base, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ret = errno_to_ret(errno);
		goto out;
	}
	ret = key_write(fd);
	if (ret)
		goto out;
	if (unlinkat(dfd, base, 0) != 0 || fsync(dfd) != 0) {
		ret = errno_to_ret(errno);
		goto out;
	}
	secmem_wipe(l->kek, LOCAL_KEY_LEN);
out:
	if (ret)
		kms_warn("local: cannot destroy key file %s: %s", l->path, strerror(-ret));
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return ret;
}

const struct kms_provider_ops kms_local_ops = {
	.name = "local",
	.open = local_open,
	.close = local_close,
	.wrap = local_wrap,
	.unwrap = local_unwrap,
	.key_id = local_key_id,
	.blob_key_id = NULL,   /* a local blob does not say which key wrapped it */
	.describe = local_describe,
	.compact = local_compact,
	.expand = local_expand,
	.destroy_key = local_destroy_key,
	/* no create_key: a new local KEK is a new key file (rotate-kms --to) */
};
