/*
 * keytab_enable.c: turning crypto-shredding on for a volume (docs/FORMAT.md
 * §12.5): the key table at epoch 1 first, then the KEYTAB incompat flag in
 * the config (MAC'd under the primary VK) — in that order, so that a crash
 * between leaves an unused table and a volume that reads as before. Shared by
 * `phifs init --shred` and `phifs-keys enable-shred`.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "hook.h"
#include "errmsg.h"
#include "keytab.h"
#include "volume.h"

int keytab_enable(struct volume *v, const char *kms_override, char *err, size_t errcap)
{
	const char *uri = kms_override ? kms_override : v->cfg->kms_uri;
	int dfd, ret;

	if (v->cfg->incompat_flags & FORMAT_INCOMPAT_KEYTAB)
		return -EALREADY;
	ret = keytab_create(v->rootfd, uri, v->cfg->volume_id, err, errcap);
	if (ret && ret != -EEXIST)
		goto out;
	v->cfg->incompat_flags |= FORMAT_INCOMPAT_KEYTAB;
	dfd = openat(v->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);   /* fsync needs one */
	ret = dfd < 0 ? -errno : volume_config_write(dfd, v->cfg, v->keys);
	if (dfd >= 0)
		close(dfd);
	if (ret) {
		v->cfg->incompat_flags &= ~FORMAT_INCOMPAT_KEYTAB;
		errmsg_set(err, errcap, "cannot write the config: %s", strerror(-ret));
	}
out:
	hook_key_op("enable-shred", NULL, ret ? NULL : "keytab:1", ret);
	return ret;
}
