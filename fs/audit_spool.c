/*
 * audit_spool.c: the local spool sink of one audit stream — append-only
 * files in a directory outside the cipher dir, named by the seq of their first
 * record so that a rotated file that goes missing leaves a visible hole, and
 * so the chain continues across files (the first record of a new file chains
 * to the last of the previous one: the chain is per stream, not per file).
 * Owns: file naming, finding the tail to continue from, O_APPEND writes,
 * batched fdatasync, `chattr +a`, rotation. Records are gathered in memory
 * and written with one write(2) per batch (audit_spool_flush_due: the
 * daemon's writer flushes once AUDIT_SPOOL_FLUSH_BYTES have gathered or the
 * oldest waiting line is AUDIT_SPOOL_FLUSH_MS old, in practice at its
 * once-a-second sync; sync, rotation and close flush first): a write per
 * record cost the untar benchmark a third of its time on the spool's file
 * system journal, and a write per 10 ms batch still about 1.5 points
 * (docs/PERFORMANCE.md "Audit cost", fourth pass; a write per 100 ms did not
 * help). Syslog sinks still get each record as it is sealed. It does not
 * know about MACs or checkpoints (audit_log.c decides when to rotate and
 * seals every line).
 * Spec: docs/AUDIT_FORMAT.md "Files and rotation".
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "audit_spool.h"
#include "fdio.h"
#include "log.h"

struct audit_spool {
	int dirfd;
	int fd;                      /* current file, -1 between files */
	char stream[AUDIT_STREAM_MAX + 1];
	uint64_t size;               /* bytes in the current file */
	uint64_t opened_ms;          /* when this writer opened the current file */
	uint64_t rotate_bytes;
	uint64_t rotate_ms;
	int dirty;                   /* written since the last fdatasync */
	int append_only_warned;      /* chattr +a failure logged once */
	char *buf;                   /* whole lines not yet written */
	size_t blen, bcap;
	uint64_t bseq;               /* seq of buf's first line */
	uint64_t bfirst_ms;          /* when buf's first line was taken */
	uint64_t now_ms;             /* of the latest write, for a file flush opens */
	int failed;                  /* the last flush failed: take no line unflushed */
};

#define AUDIT_SPOOL_BUF_MAX (1u << 20)   /* flushed before it grows past this */

int audit_spool_name_parse(const char *name, char stream[AUDIT_STREAM_MAX + 1], uint64_t *first)
{
	size_t n = strlen(name), sl;
	uint64_t v = 0;

	if (n < 1 + 1 + 20 + 4 || strcmp(name + n - 4, ".log") != 0 || name[n - 25] != '.')
		return -EINVAL;
	for (size_t i = n - 24; i < n - 4; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	sl = n - 25;
	if (sl > AUDIT_STREAM_MAX)
		return -EINVAL;
	memcpy(stream, name, sl);
	stream[sl] = '\0';
	if (!audit_stream_valid(stream) || v == 0)
		return -EINVAL;
	*first = v;
	return 0;
}

/* The highest first-seq among the stream's files below `below`; 0 if none. */
static int last_file(int dirfd, const char *stream, uint64_t below, uint64_t *first)
{
	char st[AUDIT_STREAM_MAX + 1];
	struct dirent *e;
	DIR *d = NULL;
	uint64_t v, best = 0;
	int r = fdio_opendir(dirfd, &d);

	if (r < 0)
		return r;
	while ((e = readdir(d))) {
		if (audit_spool_name_parse(e->d_name, st, &v) == 0 && strcmp(st, stream) == 0 &&
		    v < below && v > best)
			best = v;
	}
	closedir(d);
	*first = best;
	return 0;
}

static void file_name(const char *stream, uint64_t first, char out[AUDIT_SPOOL_NAME_MAX])
{
	snprintf(out, AUDIT_SPOOL_NAME_MAX, "%s.%020" PRIu64 ".log", stream, first);
}

/* The tail of one file: the last complete line's seq and hash. *found = 0
 * when the file holds no complete line; *torn = 1 when it ends mid-line. */
static int file_tail(int dirfd, const char *name, struct audit_tail *t, int *found, int *torn)
{
	size_t cap = AUDIT_LINE_MAX + 2, got = 0, end, start;
	char *buf = NULL;
	struct json_object *o = NULL, *seq;
	struct stat st;
	uint64_t off;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC), r;

	*found = 0;
	*torn = 0;
	if (fd < 0)
		return -errno;
	r = fstat(fd, &st) < 0 ? -errno : 0;
	if (r < 0)
		goto out;
	buf = malloc(cap);
	r = buf ? 0 : -ENOMEM;
	if (r < 0)
		goto out;
	off = (uint64_t)st.st_size > cap ? (uint64_t)st.st_size - cap : 0;
	r = fdio_pread(fd, buf, cap, off, &got);
	if (r < 0 || got == 0)
		goto out;
	*torn = buf[got - 1] != '\n';
	end = got;
	while (end > 0 && buf[end - 1] != '\n')
		end--;
	if (end == 0)
		goto out;   /* no complete line (or a line longer than the limit) */
	end--;
	start = end;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	buf[end] = '\0';
	o = json_tokener_parse(buf + start);
	if (!o || !json_object_object_get_ex(o, "seq", &seq) || !json_object_is_type(seq, json_type_int) ||
	    json_object_get_int64(seq) <= 0) {
		r = -EBADMSG;   /* the writer never leaves such a line: refuse to guess */
		goto out;
	}
	t->seq = (uint64_t)json_object_get_int64(seq);
	r = audit_chain_hash(buf + start, end - start, t->head);
	*found = r == 0;
out:
	json_object_put(o);
	free(buf);
	close(fd);
	return r;
}

/* Walks back from the newest file to the newest complete line. A torn or
 * empty newest file is never appended to again: the next record starts a new
 * file, so a crash's torn fragment stays the last bytes of its file. */
static int find_tail(struct audit_spool *s, struct audit_tail *t, int *reuse, char name[AUDIT_SPOOL_NAME_MAX])
{
	uint64_t first = UINT64_MAX;
	int found = 0, torn = 0, newest = 1, r;

	t->seq = 0;
	memcpy(t->head, AUDIT_ZERO_HEAD, sizeof(t->head));
	*reuse = 0;
	for (;;) {
		r = last_file(s->dirfd, s->stream, first, &first);
		if (r < 0 || first == 0)
			return r;
		file_name(s->stream, first, name);
		r = file_tail(s->dirfd, name, t, &found, &torn);
		if (r < 0)
			return r;
		if (found) {
			*reuse = newest && !torn;
			return 0;
		}
		newest = 0;
	}
}

static void try_append_only(struct audit_spool *s, int fd)
{
	int flags = 0;

	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
		flags |= FS_APPEND_FL;
		if (ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0)
			return;
	}
	if (!s->append_only_warned)
		log_msg(LOG_NOTICE, "audit spool: chattr +a not available here (%s); "
			"relying on O_APPEND and the hash chain", strerror(errno));
	s->append_only_warned = 1;
}

static int open_file(struct audit_spool *s, const char *name, int create, uint64_t now_ms)
{
	struct stat st;
	int fd, r;

	fd = openat(s->dirfd, name, O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (create) {
		/* The new name must survive a crash, or the chain has a hole. */
		if (fsync(s->dirfd) < 0) {
			r = -errno;
			close(fd);
			return r;
		}
	}
	s->fd = fd;
	s->size = (uint64_t)st.st_size;
	s->opened_ms = now_ms;
	return 0;
}

int audit_spool_open(const char *dir, const char *stream, uint64_t rotate_bytes, uint64_t rotate_ms,
		     uint64_t now_ms, struct audit_spool **out, struct audit_tail *tail)
{
	char name[AUDIT_SPOOL_NAME_MAX];
	struct audit_spool *s = NULL;
	int reuse = 0, r;

	if (!audit_stream_valid(stream))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = -1;
	s->dirfd = -1;
	snprintf(s->stream, sizeof(s->stream), "%s", stream);
	s->rotate_bytes = rotate_bytes;
	s->rotate_ms = rotate_ms;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		goto out;
	}
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = s->dirfd < 0 ? -errno : 0;
	if (r < 0)
		goto out;
	r = find_tail(s, tail, &reuse, name);
	if (r == 0 && reuse)
		r = open_file(s, name, 0, now_ms);
out:
	if (r < 0) {
		audit_spool_close(s);
		return r;
	}
	*out = s;
	return 0;
}

int audit_spool_due(const struct audit_spool *s, uint64_t now_ms)
{
	if (s->fd < 0)
		return 0;
	return (s->rotate_bytes && s->size + s->blen >= s->rotate_bytes) ||
	       (s->rotate_ms && now_ms - s->opened_ms >= s->rotate_ms);
}

/* The file the buffered lines go to: the current one, or a new one named by
 * the seq of the first of them. */
static int flush_target(struct audit_spool *s, char name[AUDIT_SPOOL_NAME_MAX])
{
	int r;

	file_name(s->stream, s->bseq, name);
	r = s->fd >= 0 ? 0 : open_file(s, name, 1, s->now_ms);
	if (r < 0)
		s->failed = 1;
	return r;
}

/* After a write that failed part-way: the whole lines that landed stay
 * (later lines go to a new file, never after a torn one); a new file that
 * got no whole line is removed so the retry can take its name. */
static void flush_failed(struct audit_spool *s, const char *name, size_t landed)
{
	size_t whole = 0;

	for (size_t i = 0; i < landed; i++)
		if (s->buf[i] == '\n') {
			whole = i + 1;
			s->bseq++;
		}
	if (whole && s->size == 0)
		try_append_only(s, s->fd);
	s->size += whole;
	if (whole)
		s->dirty = 1;
	memmove(s->buf, s->buf + whole, s->blen - whole);
	s->blen -= whole;
	if (s->size == 0 && ftruncate(s->fd, 0) == 0)
		unlinkat(s->dirfd, name, 0);
	if (s->dirty)
		(void)fdatasync(s->fd);
	close(s->fd);
	s->fd = -1;
	s->dirty = 0;
	s->failed = 1;
}

int audit_spool_flush(struct audit_spool *s)
{
	char name[AUDIT_SPOOL_NAME_MAX];
	size_t done = 0;
	int r;

	if (!s->blen)
		return 0;
	r = flush_target(s, name);
	if (r < 0)
		return r;
	while (done < s->blen) {
		ssize_t n = write(s->fd, s->buf + done, s->blen - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			flush_failed(s, name, done);
			return r;
		}
		done += (size_t)n;
	}
	/* Append-only from the first whole record on (see flush_failed). */
	if (s->size == 0)
		try_append_only(s, s->fd);
	s->size += s->blen;
	s->blen = 0;
	s->dirty = 1;
	s->failed = 0;
	return 0;
}

uint64_t audit_spool_flush_in(const struct audit_spool *s, uint64_t now_ms)
{
	uint64_t age = now_ms - s->bfirst_ms;

	if (!s->blen)
		return 0;
	if (s->failed || s->blen >= AUDIT_SPOOL_FLUSH_BYTES || age >= AUDIT_SPOOL_FLUSH_MS)
		return 1;
	return AUDIT_SPOOL_FLUSH_MS - age;
}

int audit_spool_flush_due(struct audit_spool *s, uint64_t now_ms)
{
	return audit_spool_flush_in(s, now_ms) == 1 ? audit_spool_flush(s) : 0;
}

int audit_spool_sync(struct audit_spool *s)
{
	int r = audit_spool_flush(s);

	if (r < 0)
		return r;
	if (s->fd < 0 || !s->dirty)
		return 0;
	if (fdatasync(s->fd) < 0)
		return -errno;
	s->dirty = 0;
	return 0;
}

int audit_spool_rotate(struct audit_spool *s)
{
	int r = audit_spool_sync(s);

	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->dirty = 0;
	return r;
}

int audit_spool_write_line(int fd, const char *line, size_t len)
{
	char *buf = malloc(len + 1);
	int r;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, line, len);
	buf[len] = '\n';
	r = fdio_write(fd, buf, len + 1);
	free(buf);
	return r;
}

int audit_spool_unwrite(struct audit_spool *s, size_t n)
{
	if (s->blen < n)
		return -ENOENT;   /* it landed */
	s->blen -= n;
	return 0;
}

static int buf_room(struct audit_spool *s, size_t need)
{
	size_t cap = s->bcap ? s->bcap : 65536;
	char *nb;

	if (s->blen + need <= s->bcap)
		return 0;
	while (cap < s->blen + need)
		cap *= 2;
	nb = realloc(s->buf, cap);
	if (!nb)
		return -ENOMEM;
	s->buf = nb;
	s->bcap = cap;
	return 0;
}

/* Takes line + '\n' into the batch (record seq; a line of a new file names
 * it). A full batch is written first. While the spool is failing, a line is
 * taken only if it can be written out at once: records made during an outage
 * are refused, as the failure policy expects, never held unbounded. */
int audit_spool_write(struct audit_spool *s, uint64_t seq, const char *line, size_t len, uint64_t now_ms)
{
	int r = 0;

	if (s->blen && s->blen + len + 1 > AUDIT_SPOOL_BUF_MAX)
		r = audit_spool_flush(s);
	if (r == 0)
		r = buf_room(s, len + 1);
	if (r < 0)
		return r;
	if (!s->blen) {
		s->bseq = seq;
		s->bfirst_ms = now_ms;
		/* The first line of a new file: create it now, so a spool that
		 * cannot be written refuses this record, not a later batch. */
		if (s->fd < 0) {
			char name[AUDIT_SPOOL_NAME_MAX];

			s->now_ms = now_ms;
			r = flush_target(s, name);
			if (r < 0)
				return r;
		}
	}
	s->now_ms = now_ms;
	memcpy(s->buf + s->blen, line, len);
	s->buf[s->blen + len] = '\n';
	s->blen += len + 1;
	if (s->failed && (r = audit_spool_flush(s)) < 0) {
		(void)audit_spool_unwrite(s, len + 1);
		return r;
	}
	return 0;
}

void audit_spool_close(struct audit_spool *s)
{
	if (!s)
		return;
	(void)audit_spool_flush(s);   /* best effort: close paths sync first */
	free(s->buf);
	if (s->fd >= 0)
		close(s->fd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s);
}
