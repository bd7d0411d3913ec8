/*
 * xattr.c: extended attributes of docs/FORMAT.md §7 on backing inodes. Only the
 * user. namespace is stored, encrypted (name and value); other namespaces read
 * as absent (ENODATA) so tools that probe security.* or ACLs stay quiet, and
 * cannot be set (EOPNOTSUPP). The O_PATH fds of inode.c cannot do xattr calls,
 * so the /proc/self/fd path is used.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "names.h"
#include "xattr.h"

#define XATTR_BACKING_MAX 256              /* backing xattr name, incl. NUL */
#define XATTR_VALUE_MAX (64 * 1024)        /* Linux limit on a value */

static int backing_name(struct volume *v, const char *name, char out[XATTR_BACKING_MAX])
{
	return names_xattr_name_encrypt(keys_xattr_key(v->keys), name, out, XATTR_BACKING_MAX);
}

int xattr_set(struct volume *v, struct inode *i, const char *name, const void *value,
	      size_t size, int flags)
{
	char bname[XATTR_BACKING_MAX], path[64];
	uint8_t *enc = NULL;
	size_t elen = 0;
	int ret;

	ret = backing_name(v, name, bname);
	if (ret)
		return ret;
	if (size > XATTR_VALUE_MAX - 16)
		return -E2BIG;
	enc = malloc(size + 16);
	if (!enc)
		return -ENOMEM;
	ret = names_xattr_value_encrypt(keys_xattr_key(v->keys), bname, value, size, enc,
					size + 16, &elen);
	if (ret)
		goto out;
	inode_procpath(i, path);
	if (setxattr(path, bname, enc, elen, flags) < 0)
		ret = -errno;
out:
	free(enc);
	return ret;
}

ssize_t xattr_get(struct volume *v, struct inode *i, const char *name, void *buf, size_t size)
{
	char bname[XATTR_BACKING_MAX], path[64];
	uint8_t *enc = NULL;
	uint8_t *plain = NULL;
	ssize_t n;
	size_t plen = 0;
	int ret;

	/* Other namespaces first: the kernel asks for security.capability
	 * before every write(2) (docs/PERFORMANCE.md). */
	ret = backing_name(v, name, bname);
	if (ret)
		return ret == -EOPNOTSUPP ? -ENODATA : ret;
	enc = malloc(XATTR_VALUE_MAX);
	if (!enc)
		return -ENOMEM;
	inode_procpath(i, path);
	n = getxattr(path, bname, enc, XATTR_VALUE_MAX);
	if (n < 0) {
		n = -errno;
		goto out;
	}
	plain = malloc((size_t)n + 1);
	if (!plain) {
		n = -ENOMEM;
		goto out;
	}
	ret = names_xattr_value_decrypt(keys_xattr_key(v->keys), bname, enc, (size_t)n, plain,
					(size_t)n + 1, &plen);
	if (ret) {
		n = ret == -EBADMSG ? -EIO : ret;
		goto out;
	}
	n = (ssize_t)plen;
	if (size) {
		if (plen > size)
			n = -ERANGE;
		else
			memcpy(buf, plain, plen);
	}
out:
	free(plain);
	free(enc);
	return n;
}

/* Appends one plaintext name to the list; returns bytes it needs. */
static size_t list_add(struct volume *v, const char *bname, char *buf, size_t size, size_t used)
{
	char plain[XATTR_BACKING_MAX];
	size_t len;

	if (names_xattr_name_decrypt(keys_xattr_key(v->keys), bname, plain, sizeof(plain)))
		return 0;   /* not ours, or undecryptable: not listed */
	len = strlen(plain) + 1;
	if (size && used + len <= size)
		memcpy(buf + used, plain, len);
	return len;
}

ssize_t xattr_list(struct volume *v, struct inode *i, char *buf, size_t size)
{
	char path[64];
	char *names = NULL;
	ssize_t n;
	size_t used = 0;

	inode_procpath(i, path);
	n = listxattr(path, NULL, 0);
	if (n <= 0)
		return n < 0 ? -errno : 0;
	names = malloc((size_t)n);
	if (!names)
		return -ENOMEM;
	n = listxattr(path, names, (size_t)n);
	if (n < 0) {
		n = -errno;
		goto out;
	}
	for (char *p = names; p < names + n; p += strlen(p) + 1)
		used += list_add(v, p, buf, size, used);
	n = size && used > size ? -ERANGE : (ssize_t)used;
out:
	free(names);
	return n;
}

int xattr_remove(struct volume *v, struct inode *i, const char *name)
{
	char bname[XATTR_BACKING_MAX], path[64];
	int ret = backing_name(v, name, bname);

	if (ret)
		return ret == -EOPNOTSUPP ? -ENODATA : ret;
	inode_procpath(i, path);
	return removexattr(path, bname) < 0 ? -errno : 0;
}
