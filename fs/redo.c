/*
 * redo.c: see redo.h; the record is specified in docs/FORMAT.md §5.7. Unlike
 * the undo journal (journal.c), a rekey cannot be undone — the copy in place
 * overwrites the old ciphertext — so it is finished instead: the complete new
 * copy waits in phifs.journal/ until the original holds its bytes.
 *
 * The original is reached through a hard link in phifs.journal/ made before
 * the record, not through its path: a rename while the daemon copies (rename
 * does not take the file's lock) cannot send the replay to the wrong file.
 * The record is MACed under the copy's header-MAC key, which only the volume
 * keys unwrap, so a forged record cannot make replay copy anything.
 * This file owns the journal entries rk.*; it knows no plaintext.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cipher.h"
#include "fdio.h"
#include "hdrlock.h"
#include "journal.h"
#include "log.h"
#include "redo.h"
#include "secmem.h"

#define REDO_COPY_BUF (1u << 20)

static const char *const redo_suffix[] = {
	[REDO_COPY] = "new", [REDO_LINK] = "orig", [REDO_RECORD] = "redo",
};

void redo_name(const uint8_t id[FORMAT_ID_LEN], enum redo_part part, char out[REDO_NAME_MAX])
{
	int n = snprintf(out, REDO_NAME_MAX, "rk.");

	for (int i = 0; i < FORMAT_ID_LEN; i++)
		n += snprintf(out + n, (size_t)(REDO_NAME_MAX - n), "%02x", id[i]);
	snprintf(out + n, (size_t)(REDO_NAME_MAX - n), ".%s", redo_suffix[part]);
}

/* ---- the record --------------------------------------------------------- */

int redo_encode(const struct keys_file *fk, uint64_t copy_len, uint8_t out[REDO_REC_LEN])
{
	uint8_t *p = out + 4 + FORMAT_ID_LEN;

	memcpy(out, REDO_MAGIC, 4);
	memcpy(out + 4, fk->file_id, FORMAT_ID_LEN);
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(copy_len >> (8 * i));
	return cipher_hmac_sha256(fk->header_mac_key, sizeof(fk->header_mac_key), out,
				  REDO_REC_LEN - CIPHER_HMAC_LEN, out + REDO_REC_LEN - CIPHER_HMAC_LEN);
}

int redo_parse(const uint8_t *rec, size_t n, const struct keys_file *fk, uint64_t *copy_len)
{
	uint8_t mac[CIPHER_HMAC_LEN];
	const uint8_t *p = rec + 4 + FORMAT_ID_LEN;
	uint64_t len = 0;
	int ret;

	if (n < 4 || memcmp(rec, REDO_MAGIC, 4) != 0)
		return -ENODATA;
	if (n != REDO_REC_LEN || !secmem_equal(rec + 4, fk->file_id, FORMAT_ID_LEN))
		return -EBADMSG;
	ret = cipher_hmac_sha256(fk->header_mac_key, sizeof(fk->header_mac_key), rec,
				 REDO_REC_LEN - CIPHER_HMAC_LEN, mac);
	if (ret)
		return ret;
	if (!secmem_equal(mac, rec + REDO_REC_LEN - CIPHER_HMAC_LEN, CIPHER_HMAC_LEN))
		return -EBADMSG;
	for (int i = 7; i >= 0; i--)
		len = len << 8 | p[i];
	if (len < FORMAT_HEADER_LEN)
		return -EBADMSG;
	*copy_len = len;
	return 0;
}

int redo_record_write(int dirfd, const struct keys_file *fk, uint64_t copy_len)
{
	uint8_t rec[REDO_REC_LEN];
	char name[REDO_NAME_MAX];
	int fd = -1, ret;

	redo_name(fk->file_id, REDO_RECORD, name);
	ret = redo_encode(fk, copy_len, rec);
	if (ret)
		goto out;
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = fdio_pwrite(fd, rec, sizeof(rec), 0);
	if (!ret && (fsync(fd) < 0 || fsync(dirfd) < 0))
		ret = -errno;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* ---- the copy in place -------------------------------------------------- */

static int copy_range(int dst, int src, uint64_t from, uint64_t to, uint8_t *buf)
{
	while (from < to) {
		size_t n = to - from < REDO_COPY_BUF ? (size_t)(to - from) : REDO_COPY_BUF, got;
		int ret = fdio_pread(src, buf, n, from, &got);

		if (!ret && got != n)
			ret = -EIO;
		if (!ret)
			ret = fdio_pwrite(dst, buf, n, from);
		if (ret)
			return ret;
		from += n;
	}
	return 0;
}

/* A hole of the copy is a hole of the original too (du, SEEK_HOLE): punched,
 * or zeros where the backing filesystem cannot punch. */
static int hole_range(int dst, uint64_t from, uint64_t to, uint8_t *buf)
{
	if (from >= to)
		return 0;
	if (fallocate(dst, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)from,
		      (off_t)(to - from)) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	memset(buf, 0, REDO_COPY_BUF);
	while (from < to) {
		size_t n = to - from < REDO_COPY_BUF ? (size_t)(to - from) : REDO_COPY_BUF;
		int ret = fdio_pwrite(dst, buf, n, from);

		if (ret)
			return ret;
		from += n;
	}
	return 0;
}

/* One data run of src at or after pos: [*d, *h); *d == len when none. */
static int next_run(int src, uint64_t pos, uint64_t len, uint64_t *d, uint64_t *h)
{
	off_t o = lseek(src, (off_t)pos, SEEK_DATA);

	if (o < 0 && errno != ENXIO)
		return -errno;
	*d = o < 0 || (uint64_t)o > len ? len : (uint64_t)o;
	if (*d == len)
		return 0;
	o = lseek(src, (off_t)*d, SEEK_HOLE);
	if (o < 0)
		return -errno;
	*h = (uint64_t)o > len ? len : (uint64_t)o;
	return 0;
}

int redo_apply(int dst, int src, uint64_t len)
{
	uint8_t *buf = malloc(REDO_COPY_BUF);
	uint64_t pos = 0, d = 0, h = 0;
	int ret, locked = 0;

	if (!buf)
		return -ENOMEM;
	/* phifs-keys rotate-volume-key rewrites headers under this lock. */
	ret = hdrlock_acquire(dst);
	if (ret)
		goto out;
	locked = 1;
	while (pos < len) {
		ret = next_run(src, pos, len, &d, &h);
		if (!ret)
			ret = hole_range(dst, pos, d, buf);
		if (!ret && d < len)
			ret = copy_range(dst, src, d, h, buf);
		if (ret)
			goto out;
		pos = d < len ? h : len;
	}
	if (ftruncate(dst, (off_t)len) < 0 || fsync(dst) < 0)
		ret = -errno;
out:
	if (locked)
		hdrlock_release(dst);
	free(buf);
	return ret;
}

int redo_clear(int dirfd, const uint8_t id[FORMAT_ID_LEN])
{
	static const enum redo_part order[] = { REDO_RECORD, REDO_LINK, REDO_COPY };
	char name[REDO_NAME_MAX];
	int ret = 0;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		redo_name(id, order[i], name);
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT && !ret)
			ret = -errno;
		if (ret)
			break;      /* never drop the copy while its record may stay */
	}
	return ret;
}

/* ---- replay ------------------------------------------------------------- */

static int parse_id(const char *name, uint8_t id[FORMAT_ID_LEN])
{
	unsigned v;

	if (strncmp(name, "rk.", 3) != 0 || strlen(name) < 3 + 2 * FORMAT_ID_LEN + 1 ||
	    name[3 + 2 * FORMAT_ID_LEN] != '.')
		return -EINVAL;
	for (int i = 0; i < FORMAT_ID_LEN; i++) {
		if (sscanf(name + 3 + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		id[i] = (uint8_t)v;
	}
	return 0;
}

/* Opens part of rekey id in dirfd and reads its first n bytes. */
static int read_part(int dirfd, const uint8_t id[FORMAT_ID_LEN], enum redo_part part, int flags,
		     uint8_t *buf, size_t n, int *fd_out)
{
	char name[REDO_NAME_MAX];
	size_t got = 0;
	int fd, ret;

	redo_name(id, part, name);
	fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = fdio_pread(fd, buf, n, 0, &got);
	if (!ret && got != n)
		ret = -EBADMSG;
	if (ret || !fd_out)
		close(fd);
	else
		*fd_out = fd;
	return ret;
}

/* 1 finished, 0 nothing to finish (discard), -errno keep everything. */
static int replay_one(const struct keys_volume *kv, int dirfd, const uint8_t id[FORMAT_ID_LEN])
{
	uint8_t hdr[FORMAT_HEADER_LEN], rec[REDO_REC_LEN + 1], orig_hdr[FORMAT_HEADER_LEN];
	struct keys_file *fk = NULL;
	struct format_header h;
	uint64_t len = 0;
	struct stat st;
	int cfd = -1, ofd = -1, ret;

	ret = read_part(dirfd, id, REDO_RECORD, O_RDONLY, rec, REDO_REC_LEN, NULL);
	if (ret)
		goto out;
	ret = read_part(dirfd, id, REDO_COPY, O_RDONLY, hdr, sizeof(hdr), &cfd);
	if (!ret)
		ret = keys_file_open(kv, hdr, sizeof(hdr), &h, &fk);
	if (!ret)
		ret = redo_parse(rec, REDO_REC_LEN, fk, &len);
	if (!ret && (fstat(cfd, &st) < 0 || (uint64_t)st.st_size != len))
		ret = -EBADMSG;   /* the copy is fsynced before its record: not ours */
	if (!ret)
		ret = read_part(dirfd, id, REDO_LINK, O_RDWR, orig_hdr, sizeof(orig_hdr), &ofd);
	/* The original's header is old or new: either carries the file id. */
	if (!ret && memcmp(orig_hdr + 8, id, FORMAT_ID_LEN) != 0)
		ret = -EBADMSG;
	if (!ret)
		ret = redo_apply(ofd, cfd, len);
	if (!ret)
		ret = 1;
out:
	if (ret == -ENOENT || ret == -ENODATA || ret == -EBADMSG)
		ret = 0;
	keys_file_free(fk);
	if (cfd >= 0)
		close(cfd);
	if (ofd >= 0)
		close(ofd);
	return ret;
}

/* Every rk.* entry: the records first (finish or discard), then leftovers
 * of rekeys that stopped before their record (the original is intact). */
static int replay_pass(const struct keys_volume *kv, int dirfd, DIR *d, int records)
{
	int done = 0, ret = 0;
	struct dirent *e;
	uint8_t id[FORMAT_ID_LEN];

	rewinddir(d);
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		int r;

		if (parse_id(e->d_name, id) != 0)
			continue;
		if (!records) {
			(void)unlinkat(dirfd, e->d_name, 0);
			continue;
		}
		if (n < 5 || strcmp(e->d_name + n - 5, ".redo") != 0)
			continue;
		r = replay_one(kv, dirfd, id);
		if (r < 0) {
			log_msg(LOG_ERR, "rekey redo record %s: %s", e->d_name, strerror(-r));
			return r;
		}
		ret = redo_clear(dirfd, id);
		if (ret)
			return ret;
		done += r;
	}
	return done;
}

int redo_replay_all(const struct keys_volume *kv)
{
	int dirfd = journal_dirfd(), done, ret;
	DIR *d = NULL;

	if (dirfd < 0)
		return 0;
	ret = fdio_opendir(dirfd, &d);
	if (ret)
		return ret;
	done = replay_pass(kv, dirfd, d, 1);
	if (done >= 0)
		ret = replay_pass(kv, dirfd, d, 0);
	closedir(d);
	if (done < 0)
		return done;
	if (ret < 0)
		return ret;
	if (fsync(dirfd) < 0)
		return -errno;
	return done;
}
