/*
 * rewrap.c: re-wrapping one file's data key (rewrap.h). Reads the header
 * under the header lock — the daemon of a mounted volume takes the same lock
 * for its own header writes — so flags it set a moment ago (TRUNC_PENDING, a
 * crash-recovery intent) are carried over, never overwritten. The same lock
 * lets the file's change record say "only the header changed" (chglog.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "chglog.h"
#include "fdio.h"
#include "format.h"
#include "hdrlock.h"
#include "rewrap.h"

/* kind: the wrap kind to move (the other is left alone); version: the VK
 * version (kind 1) or KEK table ref (kind 2) it goes to. A kind 2 header
 * already there is not unwrapped (that would be a KMS call per file). */
static int rewrap_fd(int fd, const struct keys_volume *kv, uint8_t kind, uint32_t version,
		     enum rewrap_result *res)
{
	uint8_t enc[FORMAT_HEADER_LEN];
	struct format_header h;
	struct keys_file *fk = NULL;
	struct chglog_rec *chg;
	size_t got = 0;
	int ret;

	ret = fdio_pread(fd, enc, sizeof(enc), 0, &got);
	if (!ret && got != sizeof(enc))
		ret = -EBADMSG;
	if (!ret)
		ret = format_header_decode(enc, sizeof(enc), &h);
	if (ret)
		goto out;
	if (h.wrap_kind != kind || (kind == FORMAT_WRAP_KMS && h.wrap_key_version == version)) {
		*res = REWRAP_ALREADY;
		goto out;
	}
	ret = keys_file_open(kv, enc, sizeof(enc), &h, &fk);
	if (ret)
		goto out;
	if (h.wrap_key_version == version) {
		*res = REWRAP_ALREADY;
		goto out;
	}
	ret = keys_file_rewrap(kv, version, fk, &h);
	if (!ret)
		ret = keys_header_seal(fk, &h, enc);
	if (ret)
		goto out;
	/* Only the header changes: the change record may say so (chglog.h). */
	chg = chglog_hdr_prepare(fd);
	ret = fdio_pwrite(fd, enc, sizeof(enc), 0);
	chglog_hdr_commit(fd, chg, !ret);
	if (!ret)
		*res = REWRAP_DONE;
out:
	keys_file_free(fk);
	return ret;
}

static int rewrap_path(const char *path, const struct keys_volume *kv, uint8_t kind,
		       uint32_t version, enum rewrap_result *res)
{
	int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY), ret;

	if (fd < 0)
		return -errno;
	ret = hdrlock_acquire(fd);
	if (!ret) {
		ret = rewrap_fd(fd, kv, kind, version, res);
		hdrlock_release(fd);
	}
	close(fd);
	return ret;
}

int rewrap_file(const char *path, const struct keys_volume *kv, uint32_t version,
		enum rewrap_result *res)
{
	return rewrap_path(path, kv, FORMAT_WRAP_VOLUME, version, res);
}

int rewrap_file_kms(const char *path, const struct keys_volume *kv, uint32_t ref,
		    enum rewrap_result *res)
{
	return rewrap_path(path, kv, FORMAT_WRAP_KMS, ref, res);
}
