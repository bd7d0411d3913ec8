/*
 * repo_plainpath.c: maps a plaintext path to its backing path in a cipher
 * directory (docs/FORMAT.md §6: each name encrypted under the names key with
 * its directory's id), for `restore --path`. Needs the volume key; the
 * plaintext path is never printed or logged (it may be PHI).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"
#include "names.h"
#include "repo_plainpath.h"
#include "volume.h"

int repo_plainpath_map(struct volume *v, const char *path, char *out, size_t cap)
{
	char comp[NAME_MAX + 1], backing[NAME_MAX + 1], enc[NAMES_ENC_MAX];
	uint8_t dirid[NAMES_DIRID_LEN];
	const char *p = path;
	size_t len = 0;
	int dirfd = openat(v->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret = 0, is_long;

	if (dirfd < 0)
		return -errno;
	out[0] = '\0';
	while (!ret && *p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || n > NAME_MAX) {
			ret = n ? -EINVAL : 0;
			p += n ? n : 1;
			continue;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		p += n;
		ret = names_dirid_read(dirfd, dirid);
		if (!ret)
			ret = names_to_backing(keys_names_key(v->keys), dirid, comp, backing, &is_long,
					       enc, sizeof(enc));
		if (!ret && len + strlen(backing) + 2 > cap)
			ret = -ENAMETOOLONG;
		if (ret)
			break;
		len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "/" : "", backing);
		if (*p) {               /* a directory on the way */
			int next = openat(dirfd, backing, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (next < 0)
				ret = -errno;
			close(dirfd);
			dirfd = next;
		}
	}
	if (dirfd >= 0)
		close(dirfd);
	if (!ret && !len)
		ret = -EINVAL;
	return ret;
}
