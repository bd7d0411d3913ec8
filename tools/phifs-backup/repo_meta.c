/*
 * repo_meta.c: reads and restores the extended attributes of cipher-
 * directory entries (docs/BACKUP_FORMAT.md §9.1). On a phifs volume these
 * are the encrypted `user.phifs.*` xattrs (FORMAT.md §7): ciphertext, carried
 * byte for byte. Values are base64url in the tree. Modes, owners and times
 * are plain stat fields and stay in the commands.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "b64.h"
#include "chglog_rec.h"
#include "repo_meta.h"

#define XATTR_VALUE_MAX 65536

static int add_one(int fd, const char *name, struct json_object *o, uint8_t *val, char *txt)
{
	ssize_t n;
	int ret;

	if (!strcmp(name, CHGLOG_XATTR))
		return 0;     /* the live file's change record (§7.1), not its content */
	n = fgetxattr(fd, name, val, XATTR_VALUE_MAX);
	if (n < 0)
		return errno == ENODATA ? 0 : -errno;
	ret = b64_encode(val, (size_t)n, txt, b64_encoded_len(XATTR_VALUE_MAX) + 1);
	if (!ret)
		json_object_object_add(o, name, json_object_new_string(txt));
	return ret;
}

int repo_meta_xattrs_get(int fd, struct json_object **out)
{
	char *names = NULL, *txt = NULL;
	uint8_t *val = NULL;
	struct json_object *o = NULL;
	ssize_t len;
	int ret = 0;

	*out = NULL;
	len = flistxattr(fd, NULL, 0);
	if (len <= 0)
		return len < 0 && errno != ENOTSUP ? -errno : 0;
	names = malloc((size_t)len + 1);
	val = malloc(XATTR_VALUE_MAX);
	txt = malloc(b64_encoded_len(XATTR_VALUE_MAX) + 1);
	o = json_object_new_object();
	if (!names || !val || !txt || !o) {
		ret = -ENOMEM;
		goto out;
	}
	len = flistxattr(fd, names, (size_t)len);
	if (len < 0) {
		ret = -errno;
		goto out;
	}
	for (ssize_t i = 0; i < len && !ret; i += (ssize_t)strlen(names + i) + 1)
		ret = add_one(fd, names + i, o, val, txt);
	if (!ret && json_object_object_length(o)) {
		*out = o;
		o = NULL;
	}
out:
	json_object_put(o);
	free(txt);
	free(val);
	free(names);
	return ret;
}

int repo_meta_xattrs_set(int fd, struct json_object *x)
{
	uint8_t *val;
	int ret = 0;

	if (!x)
		return 0;
	val = malloc(XATTR_VALUE_MAX);
	if (!val)
		return -ENOMEM;
	json_object_object_foreach(x, name, v) {
		const char *s = json_object_get_string(v);
		size_t n = 0;

		if (!json_object_is_type(v, json_type_string) ||
		    b64_decode(s, strlen(s), val, XATTR_VALUE_MAX, &n)) {
			ret = -EBADMSG;
			break;
		}
		if (fsetxattr(fd, name, val, n, 0) < 0) {
			ret = -errno;
			break;
		}
	}
	free(val);
	return ret;
}
