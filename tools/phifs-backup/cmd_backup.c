/*
 * cmd_backup.c: `phifs-backup backup CIPHERDIR` — one incremental snapshot
 * of a cipher directory (docs/BACKUP_FORMAT.md §7): walk, skip files that are
 * unchanged since the parent snapshot, cut changed ones at block boundaries
 * (repo_chunk.c), store new chunks (repo_pack.c), then tree, index,
 * snapshot. Reads ciphertext only: no volume key, no plaintext, and every
 * path it prints is a backing (encrypted) name. A file that changes while it
 * is read is read again, or left out and reported — never stored torn.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../phifs/common.h"
#include "backupcmd.h"
#include "fdio.h"
#include "format.h"
#include "prefetch.h"
#include "prewalk.h"
#include "repo_chgplan.h"
#include "repo_chunk.h"
#include "repo_cli.h"
#include "repo_lock.h"
#include "repo_meta.h"
#include "repo_obj.h"
#include "repo_pack.h"
#include "repo_patch.h"
#include "repo_pipe.h"
#include "repo_ptree.h"
#include "repo_snap.h"
#include "repo_util.h"
#include "volume.h"

#define READ_ATTEMPTS 3
#define PREWALK_THREADS 4   /* warming an incremental's walk: 2 gained less, 8 no more (PERFORMANCE.md) */
#define HOT_SECONDS 2       /* a file changed this recently is read twice (§7 step 4) */
#define PATCH_AHEAD 128     /* patches asked of the disk ahead of the one read */

struct bk {
	struct repo *r;
	struct repo_index *ix;
	struct repo_packer *pk;
	struct repo_pipe *pipe;         /* ids and seals chunks on worker threads */
	struct repo_lock *lock;
	struct ptree *parent;           /* the parent snapshot's tree, or NULL */
	struct json_object *links;      /* "dev:ino" → first path (hard links) */
	struct json_object *problems;   /* array of backing paths not stored */
	char *tree;                     /* JSON lines */
	size_t tree_len, tree_cap;
	uint32_t slot;                  /* bytes per on-disk slot */
	dev_t dev;                      /* the cipher dir's filesystem */
	uint64_t files, dirs, bytes, files_read, bytes_read, sockets;
	uint64_t files_partial, bytes_skipped;  /* read by the change record (§7.1) */
	uint64_t patches;               /* patches read (§6.3) */
	int json, tty;
	int full_read;                  /* --full-read: ignore change records */
	int no_patches;                 /* --no-patches: a written chunk is read whole */
	double last_report;
	int file_errno;                 /* why the last file could not be read */
};

/* Test hook (docs/OPERATIONS.md "Backup", tests only): SIGKILL at a point. */
static void test_kill_point(const char *point)
{
	const char *want = getenv("PHIFS_BACKUP_TEST_KILL");

	if (want && !strcmp(want, point))
		raise(SIGKILL);
}

static void progress(struct bk *b, int final)
{
	if (!b->tty || !tool_report_due(&b->last_report, tool_now(), 0, final))
		return;
	fprintf(stderr, "\rfiles %llu  read %.1f MiB  new %.1f MiB in %llu packs%s",
		(unsigned long long)b->files, b->bytes_read / 1048576.0,
		b->pk->new_bytes / 1048576.0, (unsigned long long)b->pk->packs, final ? "\n" : "");
}

static void problem(struct bk *b, const char *path, const char *why)
{
	cli_warn("backup", "%s: %s, not stored", path, why);
	json_object_array_add(b->problems, json_object_new_string(path));
}

/* One line of the new tree (without its newline). */
static int tree_put(struct bk *b, const char *text, size_t len)
{
	if (b->tree_len + len + 1 > b->tree_cap) {
		size_t cap = b->tree_cap ? b->tree_cap : 65536;
		char *nt;

		while (cap < b->tree_len + len + 1)
			cap *= 2;
		nt = realloc(b->tree, cap);
		if (!nt)
			return -ENOMEM;
		b->tree = nt;
		b->tree_cap = cap;
	}
	memcpy(b->tree + b->tree_len, text, len);
	b->tree[b->tree_len + len] = '\n';
	b->tree_len += len + 1;
	return 0;
}

static int tree_add(struct bk *b, struct json_object *e)
{
	size_t len;
	const char *text = repo_json_text(e, &len);

	return tree_put(b, text, len);
}

static int64_t ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static struct json_object *entry_new(const char *path, const char *type, const struct stat *st)
{
	struct json_object *e = json_object_new_object();

	json_object_object_add(e, "p", json_object_new_string(path));
	json_object_object_add(e, "t", json_object_new_string(type));
	json_object_object_add(e, "m", json_object_new_int(st->st_mode & 07777));
	json_object_object_add(e, "u", json_object_new_int64(st->st_uid));
	json_object_object_add(e, "g", json_object_new_int64(st->st_gid));
	json_object_object_add(e, "mt", json_object_new_int64(ns(st->st_mtim)));
	json_object_object_add(e, "ct", json_object_new_int64(ns(st->st_ctim)));
	json_object_object_add(e, "ino", json_object_new_int64((int64_t)st->st_ino));
	return e;
}

static int indexed(void *ix, const uint8_t id[32])
{
	return repo_index_find(ix, id) ? 0 : -ENOENT;
}

/* Every blob of a scanned file line is in the index: its chunks, and for
 * an entry with patches (§6.3: few) those too, read through json-c. */
static int blobs_indexed(struct bk *b, const char *line, size_t len, const struct ptree_file *f)
{
	struct json_object *e = NULL;
	int ok;

	if (!f->pa)
		return ptree_chunks_indexed(f, b->ix);
	ok = !repo_json_parse(line, len, &e) && !repo_patch_each_blob(e, indexed, b->ix);
	json_object_put(e);
	return ok;
}

/* Size, times and inode as in the parent's entry (§7 step 3). */
static int same_file(const struct ptree_file *f, const struct stat *st)
{
	return f->sz == st->st_size && f->mt == ns(st->st_mtim) && f->ct == ns(st->st_ctim) &&
	       f->ino == (int64_t)st->st_ino;
}

/* The parent's line for a file that is unchanged since (§7 step 3): the
 * same size, times, inode, mode and owner, and every blob still indexed —
 * then the line is the new entry as it stands, whatever other keys it has
 * (patches, xattrs, change-record tags); else NULL. */
static const char *unchanged(struct bk *b, const char *path, const struct stat *st, size_t *len)
{
	const char *line = ptree_line(b->parent, path, len);
	struct ptree_file f;

	if (!line || ptree_scan_file(line, *len, &f) || !same_file(&f, st) ||
	    f.m != (st->st_mode & 07777) || f.u != (int64_t)st->st_uid || f.g != (int64_t)st->st_gid)
		return NULL;
	return blobs_indexed(b, line, *len, &f) ? line : NULL;
}

/* For the threads that warm the cache ahead of the walk (prewalk.c): 1
 * when the file will be read — unchanged() but for the index, which the
 * walk changes meanwhile (the parent's tree does not change). */
static int will_read(void *arg, const char *path, const struct stat *st)
{
	struct bk *b = arg;
	size_t len;
	const char *line = ptree_line(b->parent, path, &len);
	struct ptree_file f;

	return !line || ptree_scan_file(line, len, &f) || !same_file(&f, st);
}

/* One pass over an open file: chunk ids into ids (stored when store); the
 * chunks pl lets reuse are taken from the parent unread. The chunks are read
 * here, in order, and identified and sealed by b->pipe. 0, -EAGAIN when the
 * file got shorter meanwhile, -ENODATA when reading it failed
 * (b->file_errno says why), or -errno from the repository (which wins:
 * it stops the backup). */
static int read_pass(struct bk *b, int fd, uint64_t size, int store, struct json_object *ids,
		     const struct chgplan *pl)
{
	uint64_t off = 0, len;
	uint8_t *buf;
	int ret = 0, end;

	repo_pipe_begin(b->pipe, ids, store, size);
	for (size_t j = 0; !ret && (len = repo_chunk_len(off, size, b->slot, b->r->cfg.chunk_max)) > 0;
	     j++, off += len) {
		size_t got = 0;

		if (pl && j < pl->n && pl->reuse[j]) {
			json_object_array_put_idx(ids, j, json_object_get(json_object_array_get_idx(pl->ids, j)));
			b->bytes_skipped += store ? len : 0;
			continue;
		}
		if (store)                      /* the next chunk comes in while this one is sealed */
			(void)posix_fadvise(fd, (off_t)(off + len), b->r->cfg.chunk_max, POSIX_FADV_WILLNEED);
		ret = repo_pipe_slot(b->pipe, &buf);
		if (ret)
			break;
		ret = fdio_pread(fd, buf, (size_t)len, off, &got);
		if (ret) {
			b->file_errno = -ret;
			ret = -ENODATA;
			break;
		}
		if (store)
			b->bytes_read += len;
		ret = got == len ? repo_pipe_submit(b->pipe, (size_t)len, j) : -EAGAIN;
	}
	end = repo_pipe_end(b->pipe);
	return end ? end : ret;
}

/* Asks the disk for fresh patch i ahead of its read: scattered small reads
 * are then queued together instead of one round trip each. */
static void patch_ahead(int fd, const struct chgplan *pl, size_t i)
{
	if (i < pl->npa && pl->fresh[i])
		(void)posix_fadvise(fd, (off_t)pl->pa[i].off, pl->pa[i].len, POSIX_FADV_WILLNEED);
}

/* The fresh patches of plan pl (§6.3): read, identified and stored like
 * chunks; pids[i] = the id of patch i. Same returns as read_pass. No
 * readahead around them (it would read the chunks the patches spare). */
static int patch_pass(struct bk *b, int fd, int store, struct json_object *pids,
		      const struct chgplan *pl)
{
	uint64_t bytes = 0;
	uint8_t *buf;
	int ret = 0, end;

	for (size_t i = 0; i < pl->npa; i++)
		bytes += pl->fresh[i] ? pl->pa[i].len : 0;
	repo_pipe_begin(b->pipe, pids, store, bytes);
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	for (size_t i = 0; store && i < PATCH_AHEAD; i++)
		patch_ahead(fd, pl, i);
	for (size_t i = 0; !ret && i < pl->npa; i++) {
		size_t got = 0;

		if (store)
			patch_ahead(fd, pl, i + PATCH_AHEAD);
		if (!pl->fresh[i])
			continue;
		ret = repo_pipe_slot(b->pipe, &buf);
		if (ret)
			break;
		ret = fdio_pread(fd, buf, pl->pa[i].len, pl->pa[i].off, &got);
		if (ret) {
			b->file_errno = -ret;
			ret = -ENODATA;
			break;
		}
		if (store) {
			b->bytes_read += pl->pa[i].len;
			b->bytes_skipped -= pl->pa[i].len;
			b->patches++;
		}
		ret = got == pl->pa[i].len ? repo_pipe_submit(b->pipe, pl->pa[i].len, i) : -EAGAIN;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	end = repo_pipe_end(b->pipe);
	return end ? end : ret;
}

/* Chunks, then patches. */
static int read_all(struct bk *b, int fd, uint64_t size, int store, struct json_object *ids,
		    struct json_object *pids, const struct chgplan *pl)
{
	int ret = read_pass(b, fd, size, store, ids, pl);

	return ret || !pl || !pl->npa ? ret : patch_pass(b, fd, store, pids, pl);
}

static int same_stat(const struct stat *a, const struct stat *c)
{
	return a->st_size == c->st_size && ns(a->st_mtim) == ns(c->st_mtim) &&
	       ns(a->st_ctim) == ns(c->st_ctim) && a->st_ino == c->st_ino;
}

static int read_twice(struct bk *b, int fd, const struct stat *st, struct json_object *ids,
		      struct json_object *pids, const struct chgplan *pl)
{
	int ret = read_all(b, fd, (uint64_t)st->st_size, 1, ids, pids, pl);

	if (!ret && time(NULL) - st->st_ctim.tv_sec <= HOT_SECONDS) {
		struct json_object *again = json_object_new_array();
		struct json_object *pagain = json_object_new_array();

		ret = read_all(b, fd, (uint64_t)st->st_size, 0, again, pagain, pl);
		if (!ret && (!json_object_equal(again, ids) || !json_object_equal(pagain, pids)))
			ret = -EAGAIN;
		json_object_put(again);
		json_object_put(pagain);
	}
	return ret;
}

/* The entry's "pa" from the plan and the ids of its fresh patches, or NULL
 * when the file has none. */
static struct json_object *patches_json(const struct chgplan *pl, struct json_object *pids)
{
	for (size_t i = 0; i < pl->npa; i++) {
		const char *hex = json_object_get_string(json_object_array_get_idx(pids, i));

		if (pl->fresh[i] && (!hex || repo_unhex(hex, pl->pa[i].id, 32)))
			return NULL;            /* not reached: the pass filled every one */
	}
	return pl->npa ? repo_patch_json(pl->pa, pl->npa) : NULL;
}

/* A read that saw the same file and the same change record before and
 * after; a file modified in the last HOT_SECONDS is read a second time and
 * must give the same chunks (a write in flight when the first fstat ran
 * would not change the times again). With a parent entry p and a record
 * that vouches for it, only the chunks written since are read (§7.1). */
static int read_once(struct bk *b, int fd, struct json_object *p, struct stat *st,
		     struct json_object **ids, struct json_object **pa, struct chgplan_rec *rec)
{
	struct chgplan_rec *rec2 = malloc(sizeof(*rec2));
	struct json_object *pids = json_object_new_array();
	struct chgplan pl = { 0 };
	struct stat after;
	int ret = -ENODATA, partial;

	*ids = json_object_new_array();
	*pa = NULL;
	if (!rec2 || fstat(fd, st) < 0) {
		b->file_errno = rec2 ? errno : ENOMEM;
		goto out;
	}
	chgplan_rec_read(fd, st, rec);
	partial = !b->full_read && p &&
		  !chgplan_make(p, rec, st, b->slot, b->r->cfg.chunk_max, b->ix,
				!b->no_patches && b->r->cfg.version >= REPO_VERSION_PATCHES, &pl);
	ret = read_twice(b, fd, st, *ids, pids, partial ? &pl : NULL);
	if (ret)
		goto out;
	if (fstat(fd, &after) < 0) {
		b->file_errno = errno;
		ret = -ENODATA;
		goto out;
	}
	chgplan_rec_read(fd, &after, rec2);
	ret = same_stat(st, &after) && chgplan_rec_same(rec, rec2) ? 0 : -EAGAIN;
	if (!ret) {
		b->files_partial += partial;
		*pa = partial ? patches_json(&pl, pids) : NULL;
		if (partial && pl.npa && !*pa)
			ret = -EIO;
	}
out:
	json_object_put(pids);
	chgplan_free(&pl);
	free(rec2);
	return ret;
}

static int open_file(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);

	if (fd < 0 && errno == EPERM)   /* O_NOATIME only for the owner */
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0)                    /* a larger readahead window */
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return fd;
}

/* A changed file's entry, p its parent entry or NULL: chunks and xattrs of
 * an untorn read, or NULL (problem reported, or the file is gone). */
static int read_file(struct bk *b, int dirfd, const char *name, const char *path,
		     const struct stat *st0, struct json_object *p, struct json_object **out)
{
	struct json_object *ids = NULL, *pa = NULL, *x = NULL, *e;
	struct chgplan_rec *rec = NULL;
	struct stat st = *st0;
	int ret = -EAGAIN, fd;

	*out = NULL;
	rec = malloc(sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	fd = open_file(dirfd, name);
	if (fd < 0) {
		int err = errno;

		free(rec);
		if (err == ENOENT)
			return 0;              /* deleted since the directory was read */
		problem(b, path, strerror(err));
		return -EAGAIN;
	}
	for (int i = 0; i < READ_ATTEMPTS && ret == -EAGAIN; i++) {
		json_object_put(ids);
		json_object_put(pa);
		ret = read_once(b, fd, p, &st, &ids, &pa, rec);
	}
	if (!ret && repo_meta_xattrs_get(fd, &x)) {
		b->file_errno = errno;
		ret = -ENODATA;
	}
	close(fd);
	if (ret) {
		json_object_put(ids);
		json_object_put(pa);
		free(rec);
		if (ret != -EAGAIN && ret != -ENODATA)
			return ret;          /* repository write failure: stop */
		problem(b, path, ret == -EAGAIN ? "changed while being read" : strerror(b->file_errno));
		return -EAGAIN;
	}
	b->files_read++;
	e = entry_new(path, "f", &st);
	json_object_object_add(e, "sz", json_object_new_int64(st.st_size));
	json_object_object_add(e, "c", ids);
	if (pa)
		json_object_object_add(e, "pa", pa);
	if (x)
		json_object_object_add(e, "x", x);
	chgplan_tag(e, rec);
	free(rec);
	*out = e;
	return 0;
}

/* A regular file's tree line: the parent's when the file is unchanged,
 * else read (its parent entry, if any, parsed for the change record's plan:
 * §7.1). 0 (*stored: 0 when the file is gone), -EAGAIN when not stored
 * (reported), or -errno to stop. */
static int do_file(struct bk *b, int dirfd, const char *name, const char *path,
		   const struct stat *st, int *stored)
{
	size_t len;
	const char *line = unchanged(b, path, st, &len);
	struct json_object *p, *e = NULL;
	int ret;

	*stored = 1;
	if (line)
		return tree_put(b, line, len);
	p = ptree_entry(b->parent, path);
	ret = read_file(b, dirfd, name, path, st, p, &e);
	json_object_put(p);
	*stored = e != NULL;
	if (!ret && e)
		ret = tree_add(b, e);
	json_object_put(e);
	return ret;
}

static int walk(struct bk *b, int dirfd, const char *rel);

/* One directory entry (not "." or ".."): its tree line, and for a
 * directory its content. */
static int do_entry(struct bk *b, int dirfd, const char *name, const char *path)
{
	struct json_object *e = NULL, *first;
	struct stat st;
	char key[64], target[4096];
	int ret = 0, stored;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : (problem(b, path, strerror(errno)), 0);
	if (st.st_dev != b->dev)
		return 0;                       /* another filesystem mounted inside */
	if (S_ISREG(st.st_mode)) {
		snprintf(key, sizeof(key), "%llu:%llu", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
		if (st.st_nlink > 1 && json_object_object_get_ex(b->links, key, &first)) {
			e = entry_new(path, "f", &st);
			json_object_object_add(e, "hl", json_object_get(first));
		} else {
			ret = do_file(b, dirfd, name, path, &st, &stored);
			if (ret == -EAGAIN)
				return 0;
			if (!ret && stored && st.st_nlink > 1)
				json_object_object_add(b->links, key, json_object_new_string(path));
		}
		b->files++;
		b->bytes += (uint64_t)st.st_size;
	} else if (S_ISDIR(st.st_mode)) {
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct json_object *x = NULL;

		if (fd < 0)
			return errno == ENOENT ? 0 : (problem(b, path, strerror(errno)), 0);
		e = entry_new(path, "d", &st);
		if (!repo_meta_xattrs_get(fd, &x) && x)
			json_object_object_add(e, "x", x);
		ret = tree_add(b, e);
		b->dirs++;
		if (!ret)
			ret = walk(b, fd, path);
		close(fd);
		json_object_put(e);
		return ret;
	} else if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);

		if (n < 0)
			return errno == ENOENT ? 0 : (problem(b, path, strerror(errno)), 0);
		target[n] = '\0';
		e = entry_new(path, "l", &st);
		json_object_object_add(e, "lt", json_object_new_string(target));
	} else if (S_ISFIFO(st.st_mode)) {
		e = entry_new(path, "p", &st);
	} else {
		b->sockets += S_ISSOCK(st.st_mode);
		return 0;                       /* sockets and devices are not restored (§1) */
	}
	if (!ret && e)
		ret = tree_add(b, e);
	json_object_put(e);
	repo_lock_refresh(b->lock);
	progress(b, 0);
	return ret;
}

static int by_name(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The §1 exclusions, at the top of the cipher dir. */
static const char *const top_excluded[] = { "phifs.journal", FORMAT_CONFIG_TMP, NULL };

static int excluded(const char *rel, const char *name)
{
	for (const char *const *x = top_excluded; !*rel && *x; x++)
		if (!strcmp(name, *x))
			return 1;
	return 0;
}

/* Sorted names of a directory (malloc'd array of malloc'd strings). */
static int read_names(int dirfd, const char *rel, char ***out, size_t *n)
{
	DIR *d = NULL;
	struct dirent *de;
	char **v = NULL;
	size_t cap = 0;
	int ret = fdio_opendir(dirfd, &d);

	*n = 0;
	while (!ret && (errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || excluded(rel, de->d_name))
			continue;
		if (*n == cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));

			if (!nv) {
				ret = -ENOMEM;
				break;
			}
			v = nv;
		}
		if (!(v[*n] = strdup(de->d_name)))
			ret = -ENOMEM;
		else
			(*n)++;
	}
	if (!ret && errno)
		ret = -errno;
	if (d)
		closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), by_name);
	*out = v;
	return ret;
}

static int walk(struct bk *b, int dirfd, const char *rel)
{
	char **names = NULL, path[8192];
	struct prefetch *pf = NULL;
	size_t n = 0;
	int ret = read_names(dirfd, rel, &names, &n);

	if (ret) {
		problem(b, *rel ? rel : ".", strerror(-ret));
		ret = 0;
	}
	if (!b->parent)         /* a full backup reads every file: warm the next ones */
		pf = prefetch_start(dirfd, names, n, b->dev);
	for (size_t i = 0; i < n; i++) {
		prefetch_at(pf, i);
		if (!ret) {
			snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "", names[i]);
			ret = do_entry(b, dirfd, names[i], path);
		}
	}
	prefetch_stop(pf);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ret;
}

/* Newest complete snapshot of the same source on this host (§7 step 2). */
static int load_parent(struct bk *b, const char *source, const char *want, char *parent_hex)
{
	struct repo_snap *s = NULL, *pick = NULL;
	size_t n = 0;
	char host[256] = "";
	int ret = repo_snap_list(b->r, &s, &n, NULL);

	parent_hex[0] = '\0';
	gethostname(host, sizeof(host) - 1);
	if (!ret && want)
		ret = repo_snap_find(s, n, want, &pick);
	for (size_t i = n; !ret && !want && i-- > 0;) {
		const char *h = repo_json_str(s[i].json, "host"), *src = repo_json_str(s[i].json, "source");

		if (!s[i].partial && h && src && !strcmp(h, host) && !strcmp(src, source)) {
			pick = &s[i];
			break;
		}
	}
	if (!ret && pick) {
		ret = ptree_load(b->r, b->ix, pick->tree, &b->parent);
		snprintf(parent_hex, 65, "%s", pick->id_hex);
	}
	repo_snap_free(s, n);
	return ret;
}

static struct json_object *stats_json(struct bk *b)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "files", json_object_new_int64((int64_t)b->files));
	json_object_object_add(o, "dirs", json_object_new_int64((int64_t)b->dirs));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)b->bytes));
	json_object_object_add(o, "files_read", json_object_new_int64((int64_t)b->files_read));
	json_object_object_add(o, "bytes_read", json_object_new_int64((int64_t)b->bytes_read));
	json_object_object_add(o, "new_blobs", json_object_new_int64((int64_t)b->pk->new_blobs));
	json_object_object_add(o, "new_bytes", json_object_new_int64((int64_t)b->pk->new_bytes));
	json_object_object_add(o, "packs", json_object_new_int64((int64_t)b->pk->packs));
	json_object_object_add(o, "sockets_skipped", json_object_new_int64((int64_t)b->sockets));
	json_object_object_add(o, "files_partial", json_object_new_int64((int64_t)b->files_partial));
	json_object_object_add(o, "bytes_skipped", json_object_new_int64((int64_t)b->bytes_skipped));
	json_object_object_add(o, "patches", json_object_new_int64((int64_t)b->patches));
	return o;
}

static struct json_object *snapshot_json(struct bk *b, const char *source, const char *tag,
					 const char *parent, const uint8_t tree[32], int vol_ok,
					 const struct format_config *vc)
{
	struct json_object *o = json_object_new_object(), *tags = json_object_new_array();
	char host[256] = "", hex[REPO_HEX_ID];
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	gethostname(host, sizeof(host) - 1);
	if (tag)
		json_object_array_add(tags, json_object_new_string(tag));
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "time", json_object_new_int64(repo_now()));
	json_object_object_add(o, "created_ns", json_object_new_int64(ns(now)));
	json_object_object_add(o, "host", json_object_new_string(host));
	json_object_object_add(o, "source", json_object_new_string(source));
	json_object_object_add(o, "tags", tags);
	repo_hex(tree, 32, hex);
	json_object_object_add(o, "tree", json_object_new_string(hex));
	json_object_object_add(o, "parent", *parent ? json_object_new_string(parent) : NULL);
	if (vol_ok)
		repo_hex(vc->volume_id, FORMAT_ID_LEN, hex);
	json_object_object_add(o, "volume_id", vol_ok ? json_object_new_string(hex) : NULL);
	json_object_object_add(o, "partial",
			       json_object_new_boolean(json_object_array_length(b->problems) > 0));
	json_object_object_add(o, "problems", json_object_get(b->problems));
	json_object_object_add(o, "stats", stats_json(b));
	return o;
}

static void report(struct bk *b, const uint8_t id[32], struct json_object *snap)
{
	char hex[REPO_HEX_ID];
	struct json_object *st;

	repo_hex(id, 32, hex);
	progress(b, 1);
	if (b->json) {
		struct json_object *o = json_object_new_object();
		size_t len;

		json_object_object_add(o, "snapshot", json_object_new_string(hex));
		json_object_object_get_ex(snap, "partial", &st);
		json_object_object_add(o, "partial", json_object_get(st));
		json_object_object_get_ex(snap, "stats", &st);
		json_object_object_add(o, "stats", json_object_get(st));
		printf("%s\n", repo_json_text(o, &len));
		json_object_put(o);
	} else if (b->tty) {
		printf("snapshot %.16s saved: %llu files, %.1f MiB read, %.1f MiB new\n", hex,
		       (unsigned long long)b->files, b->bytes_read / 1048576.0,
		       b->pk->new_bytes / 1048576.0);
	}
}

static int run(struct bk *b, const char *given, const char *tag, const char *want_parent)
{
	char dir[PATH_MAX];
	struct format_config *vc = calloc(1, sizeof(*vc));
	struct json_object *snap = NULL, *root = NULL;
	struct prewalk *pw = NULL;
	char parent[REPO_HEX_ID];
	uint8_t tree[32], id[32];
	struct stat st;
	int fd, ret, vol_ok, added;

	/* the canonical path names the source, so the parent is found however it is spelt */
	fd = realpath(given, dir) ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (fd < 0 || fstat(fd, &st) < 0 || !vc) {
		cli_warn("backup", "%s: %s", given, strerror(errno));
		free(vc);
		if (fd >= 0)
			close(fd);
		return EXIT_PROBLEMS;
	}
	b->dev = st.st_dev;
	vol_ok = volume_config_read(fd, vc) == 0;
	b->slot = repo_chunk_slot(vol_ok ? vc->cipher : 0);
	ret = repo_index_load(b->r, b->ix);
	if (!ret)
		ret = load_parent(b, dir, want_parent, parent);
	if (ret) {
		cli_warn("backup", "cannot read the repository: %s", strerror(-ret));
		goto out;
	}
	if (b->parent)          /* the walk mostly stats: warm it on several threads */
		pw = prewalk_start(fd, b->dev, PREWALK_THREADS, top_excluded, will_read, b);
	root = entry_new(".", "d", &st);
	ret = tree_add(b, root);
	if (!ret)
		ret = walk(b, fd, "");
	prewalk_stop(pw);
	if (!ret)
		ret = repo_packer_write_index(b->pk);          /* packs → index */
	test_kill_point("after-data");
	if (!ret)
		ret = repo_blob_id(b->r, b->tree, b->tree_len, tree);
	if (!ret)
		ret = repo_packer_add(b->pk, REPO_T_TREE, tree, b->tree, b->tree_len, &added);
	if (!ret)
		ret = repo_packer_write_index(b->pk);          /* tree → its index */
	test_kill_point("before-snapshot");
	if (!ret) {
		snap = snapshot_json(b, dir, tag, parent, tree, vol_ok, vc);
		ret = repo_snap_write(b->r, snap, id);         /* → snapshot */
	}
	if (ret) {
		cli_warn("backup", "failed: %s", strerror(-ret));
		goto out;
	}
	report(b, id, snap);
out:
	json_object_put(root);
	json_object_put(snap);
	free(vc);
	close(fd);
	if (ret)
		return cli_exit_for(ret) == EXIT_OK ? EXIT_PROBLEMS : cli_exit_for(ret);
	return json_object_array_length(b->problems) ? EXIT_PARTIAL : EXIT_OK;
}

/* One sealing thread per online core, at most 4 (the reading thread and
 * the pack writers need little CPU; on 2 cores 2 measured fastest and
 * steadiest: PERFORMANCE.md "Full backup on both cores"). */
static unsigned default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 4 ? 4 : (unsigned)n;
}

static void usage(void)
{
	printf("usage: phifs-backup [-r REPO] backup [--tag TAG] [--parent SNAP] [--full-read] [--no-patches]\n"
	       "                    [--threads N]\n"
	       "                    [--json] CIPHERDIR\n"
	       "  backs up a phifs cipher directory (ciphertext only: no volume key needed)\n"
	       "  --tag TAG       label the snapshot\n"
	       "  --parent SNAP   compare with this snapshot (default: the newest complete one\n"
	       "                  of the same directory on this host)\n"
	       "  --full-read     read every changed file whole, ignoring the change records\n"
	       "                  the mounted volume keeps (BACKUP_FORMAT.md §7.1)\n"
	       "  --no-patches    read a chunk written since the parent whole, instead of\n"
	       "                  storing only its written slots as patches (§6.3)\n"
	       "  --threads N     threads that identify and seal chunks, 0-8 (0: the reading\n"
	       "                  thread does it; default: one per core, at most 4)\n"
	       "  --json          one JSON line with the snapshot id and statistics\n"
	       "exit: 0 ok, 1 failed, 2 usage, 3 key, 4 not a repository, 5 locked,\n"
	       "      6 snapshot saved but some files changed while read or were unreadable\n");
}

int backup_cmd_backup(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "tag", required_argument, NULL, 't' },
		{ "parent", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "full-read", no_argument, NULL, 'F' },
		{ "no-patches", no_argument, NULL, 'P' },
		{ "threads", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	struct bk b = { 0 };
	const char *url = NULL, *tag = NULL, *parent = NULL;
	unsigned threads = default_threads();
	char *end;
	int opt, code;

	while ((opt = getopt_long(argc, argv, "r:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r': url = optarg; break;
		case 't': tag = optarg; break;
		case 'p': parent = optarg; break;
		case 'j': b.json = 1; break;
		case 'F': b.full_read = 1; break;
		case 'P': b.no_patches = 1; break;
		case 'T':
			threads = (unsigned)strtoul(optarg, &end, 10);
			if (*end || !*optarg || threads > REPO_PIPE_MAX_THREADS) {
				usage();
				return EXIT_USAGE;
			}
			break;
		case 'h': usage(); return EXIT_OK;
		default: usage(); return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !(url = cli_repo_url(url))) {
		usage();
		return EXIT_USAGE;
	}
	b.tty = cli_tty();
	code = cli_open("backup", url, 1, &b.r, &b.lock);
	if (code)
		return code;
	b.links = json_object_new_object();
	b.problems = json_object_new_array();
	if (repo_index_new(&b.ix) || repo_packer_new(b.r, b.ix, &b.pk) ||
	    repo_pipe_new(b.r, b.pk, threads, &b.pipe)) {
		code = EXIT_PROBLEMS;
		goto out;
	}
	code = run(&b, argv[optind], tag, parent);
out:
	repo_pipe_free(b.pipe);
	repo_packer_free(b.pk);
	repo_index_free(b.ix);
	ptree_free(b.parent);
	json_object_put(b.links);
	json_object_put(b.problems);
	free(b.tree);
	cli_close(b.r, b.lock);
	return code;
}
