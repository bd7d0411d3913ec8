/*
 * fuse_ops.c: the daemon's table of contents — every libfuse low-level
 * operation phifs implements, and the only caller of fuse_reply_*. Each op_*
 * enters through op_enter() (caller identity, policy hook), delegates to
 * node.c (namespace), fileio.c (contents) or xattr.c, and leaves through
 * op_leave() (audit hook) with its result. Opens and namespace changes pass
 * audit_gate() (fail closed while audit records cannot be made durable) and
 * report themselves with audit_event()/audit_open_event(); reads and writes
 * with audit_io_*(). Errors are -errno inside, positive only in
 * fuse_reply_err. No name or content is ever logged here.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <fuse_lowlevel.h>

#include "audit.h"
#include "fuse_ops.h"
#include "opctx.h"
#include "policy.h"
#include "policy_gate.h"
#include "secmem.h"
#include "session.h"
#include "xattr.h"

struct fhandle {
	struct inode *inode;
	struct fileio *fio;
	int append;                  /* O_APPEND without writeback cache */
	struct audit_handle *audit;  /* the opener's identity and I/O summary */
};

struct dhandle {
	struct inode *inode;
	DIR *dp;
	off_t offset;
	struct dirent *entry;
	uint8_t dirid[NAMES_DIRID_LEN];
};

static struct fsd *fsd_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct inode *ino_of(fuse_req_t req, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &fsd_of(req)->table.root;
	return (struct inode *)(uintptr_t)ino;
}

static fuse_ino_t id_of(struct fsd *fs, struct inode *i)
{
	return i == &fs->table.root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)i;
}

/* Every operation starts here: who is asking, and may they? */
static int op_enter(fuse_req_t req, const char *op, fuse_ino_t ino, struct opctx *c)
{
	const struct fuse_ctx *fc = fuse_req_ctx(req);
	int ret;

	c->op = op;
	c->ino = ino;
	c->uid = fc->uid;
	c->gid = fc->gid;
	c->pid = fc->pid;
	c->rule = 0;
	c->review = OPCTX_REVIEW_NONE;
	c->policy_denied = 0;
	ret = session_enter(op, &c->keyed);   /* keys evicted (lock, idle): EACCES */
	return ret ? ret : opctx_check(c);
}

/* op_enter for opens and namespace changes: also the audit gate. */
static int op_enter_audited(fuse_req_t req, const char *op, fuse_ino_t ino, struct opctx *c)
{
	int ret = op_enter(req, op, ino, c);

	return ret ? ret : audit_gate();
}

/* The access policy (policy_gate.c) on an operation's object(s), once it may
 * proceed at all: o for `actions`, o2 (rename, link) for writing. */
static int op_police(int ret, struct opctx *c, unsigned actions, struct audit_obj *o,
		     struct audit_obj *o2)
{
	return ret ? ret : policy_gate_check(c, actions, o, o2);
}

static void op_leave(const struct opctx *c, int64_t result)
{
	session_leave(c->keyed);
	opctx_done(c, result);
}

static void reply_err(fuse_req_t req, const struct opctx *c, int ret)
{
	op_leave(c, ret);
	fuse_reply_err(req, -ret);
}

static void fill_entry(struct fsd *fs, struct inode *i, const struct stat *st,
		       struct fuse_entry_param *e)
{
	struct stat attr = *st;   /* st may point into e */

	memset(e, 0, sizeof(*e));
	e->ino = id_of(fs, i);
	e->attr = attr;
	e->attr_timeout = fs->opts.timeout;
	e->entry_timeout = fs->opts.timeout;
}

static void reply_entry(fuse_req_t req, const struct opctx *c, struct inode *i,
			const struct stat *st)
{
	struct fuse_entry_param e;

	fill_entry(fsd_of(req), i, st, &e);
	op_leave(c, 0);
	if (fuse_reply_entry(req, &e) != 0)
		inode_forget(&fsd_of(req)->table, i, 1);
}

static struct node_caller caller_of(const struct opctx *c)
{
	struct node_caller who = { c->uid, c->gid };

	return who;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fsd *fs = userdata;

	if (fs->opts.writeback && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	else
		fs->opts.writeback = 0;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/* Large requests amortise per-request overhead; blocks stay 4 KiB. */
	conn->max_write = 1u << 20;
	conn->max_readahead = 1u << 20;
	/* Flock/posix locks are handled by the kernel locally. */
	conn->want &= ~(unsigned)FUSE_CAP_FLOCK_LOCKS;
}

static void op_destroy(void *userdata)
{
	(void)userdata;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fsd *fs = fsd_of(req);
	struct inode *i;
	struct stat st;
	struct opctx c;
	int ret = op_enter(req, "lookup", parent, &c);

	if (!ret)
		ret = node_lookup(&fs->nc, ino_of(req, parent), name, &i, &st);
	if (ret == -ENOENT && fs->opts.timeout > 0) {
		/* A negative entry: the kernel may cache the absence. */
		struct fuse_entry_param e;

		memset(&e, 0, sizeof(e));
		e.entry_timeout = fs->opts.timeout;
		op_leave(&c, ret);
		fuse_reply_entry(req, &e);
		return;
	}
	if (ret)
		return reply_err(req, &c, ret);
	reply_entry(req, &c, i, &st);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	inode_forget(&fsd_of(req)->table, ino_of(req, ino), nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t n = 0; n < count; n++)
		inode_forget(&fsd_of(req)->table, ino_of(req, forgets[n].ino), forgets[n].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsd *fs = fsd_of(req);
	struct stat st;
	struct opctx c;
	int ret = op_enter(req, "getattr", ino, &c);

	(void)fi;
	if (!ret)
		ret = node_getattr(&fs->nc, ino_of(req, ino), &st);
	if (ret)
		return reply_err(req, &c, ret);
	op_leave(&c, 0);
	fuse_reply_attr(req, &st, fs->opts.timeout);
}

static int set_times(struct inode *i, struct fuse_file_info *fi, const struct stat *attr,
		     int valid)
{
	struct timespec tv[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
	char path[64];

	if (valid & FUSE_SET_ATTR_ATIME_NOW)
		tv[0].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_ATIME)
		tv[0] = attr->st_atim;
	if (valid & FUSE_SET_ATTR_MTIME_NOW)
		tv[1].tv_nsec = UTIME_NOW;
	else if (valid & FUSE_SET_ATTR_MTIME)
		tv[1] = attr->st_mtim;
	if (fi && fi->fh) {
		struct fhandle *h = (struct fhandle *)(uintptr_t)fi->fh;

		return futimens(fileio_fd(h->fio), tv) < 0 ? -errno : 0;
	}
	if (S_ISLNK(i->type))
		return utimensat(i->fd, "", tv, AT_EMPTY_PATH) < 0 ? -errno : 0;
	inode_procpath(i, path);
	return utimensat(AT_FDCWD, path, tv, 0) < 0 ? -errno : 0;
}

static int set_size(struct fsd *fs, struct inode *i, struct fuse_file_info *fi, off_t size)
{
	struct fileio *fio;
	int ret;

	if (!S_ISREG(i->type))
		return S_ISDIR(i->type) ? -EISDIR : -EINVAL;
	if (fi && fi->fh)
		return fileio_truncate(((struct fhandle *)(uintptr_t)fi->fh)->fio, (uint64_t)size);
	ret = inode_file_get(i, fs->vol->keys, !fs->opts.readonly, &fio);
	if (ret)
		return ret;
	ret = fileio_truncate(fio, (uint64_t)size);
	inode_file_put(i);
	return ret;
}

static int do_setattr(struct fsd *fs, struct inode *i, struct stat *attr, int valid,
		      struct fuse_file_info *fi)
{
	char path[64];
	int ret = 0;

	if (fs->opts.readonly)
		return -EROFS;
	if (valid & FUSE_SET_ATTR_MODE) {
		inode_procpath(i, path);
		if (chmod(path, attr->st_mode & 07777) < 0)
			return -errno;
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid = (valid & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1;
		gid_t gid = (valid & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1;

		if (fchownat(i->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		ret = set_size(fs, i, fi, attr->st_size);
		if (ret)
			return ret;
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
		     FUSE_SET_ATTR_MTIME_NOW))
		ret = set_times(i, fi, attr, valid);
	return ret;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int valid,
		       struct fuse_file_info *fi)
{
	struct fsd *fs = fsd_of(req);
	struct inode *i = ino_of(req, ino);
	struct stat st;
	struct opctx c;
	struct audit_obj o = { .i = i };
	int ret = op_enter_audited(req, "setattr", ino, &c);

	ret = op_police(ret, &c, (valid & FUSE_SET_ATTR_SIZE) ? POLICY_WRITE : POLICY_METADATA, &o,
			NULL);
	if (!ret)
		ret = do_setattr(fs, i, attr, valid, fi);
	audit_setattr(&c, &o, valid, (uint64_t)attr->st_size, ret);
	if (!ret)
		ret = node_getattr(&fs->nc, i, &st);
	if (ret)
		return reply_err(req, &c, ret);
	op_leave(&c, 0);
	fuse_reply_attr(req, &st, fs->opts.timeout);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fsd *fs = fsd_of(req);
	char *buf = malloc(PATH_MAX);
	struct opctx c;
	int ret = op_enter(req, "readlink", ino, &c);
	struct audit_obj o = { .i = ino_of(req, ino) };

	ret = op_police(ret, &c, POLICY_READ, &o, NULL);
	if (!ret && !buf)
		ret = -ENOMEM;
	if (!ret)
		ret = node_readlink(&fs->nc, ino_of(req, ino), buf, PATH_MAX);
	if (ret) {
		free(buf);
		return reply_err(req, &c, ret);
	}
	op_leave(&c, 0);
	fuse_reply_readlink(req, buf);
	free(buf);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	struct fsd *fs = fsd_of(req);
	struct inode *i;
	struct stat st;
	struct opctx c;
	int ret = op_enter_audited(req, "mknod", parent, &c);
	struct node_caller who = caller_of(&c);
	struct audit_obj o = { .dir = ino_of(req, parent), .name = name };

	ret = op_police(ret, &c, POLICY_WRITE, &o, NULL);
	if (!ret)
		ret = node_mknod(&fs->nc, &who, ino_of(req, parent), name, mode, rdev, &i, &st);
	o.i = ret ? NULL : i;
	audit_event(&c, "create", &o, NULL, audit_node_type(mode), ret);
	if (ret)
		return reply_err(req, &c, ret);
	reply_entry(req, &c, i, &st);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fsd *fs = fsd_of(req);
	struct inode *i;
	struct stat st;
	struct opctx c;
	int ret = op_enter_audited(req, "mkdir", parent, &c);
	struct node_caller who = caller_of(&c);
	struct audit_obj o = { .dir = ino_of(req, parent), .name = name };

	ret = op_police(ret, &c, POLICY_WRITE, &o, NULL);
	if (!ret)
		ret = node_mkdir(&fs->nc, &who, ino_of(req, parent), name, mode, &i, &st);
	o.i = ret ? NULL : i;
	audit_event(&c, "mkdir", &o, NULL, NULL, ret);
	if (ret)
		return reply_err(req, &c, ret);
	reply_entry(req, &c, i, &st);
}

static void op_symlink(fuse_req_t req, const char *target, fuse_ino_t parent, const char *name)
{
	struct fsd *fs = fsd_of(req);
	struct inode *i;
	struct stat st;
	struct opctx c;
	int ret = op_enter_audited(req, "symlink", parent, &c);
	struct node_caller who = caller_of(&c);
	struct audit_obj o = { .dir = ino_of(req, parent), .name = name };

	ret = op_police(ret, &c, POLICY_WRITE, &o, NULL);
	if (!ret)
		ret = node_symlink(&fs->nc, &who, ino_of(req, parent), name, target, &i, &st);
	o.i = ret ? NULL : i;
	/* The target is content (it may name a patient): never recorded. */
	audit_event(&c, "symlink", &o, NULL, NULL, ret);
	if (ret)
		return reply_err(req, &c, ret);
	reply_entry(req, &c, i, &st);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	struct fsd *fs = fsd_of(req);
	struct inode *i;
	struct stat st;
	struct opctx c;
	int ret = op_enter_audited(req, "link", ino, &c);
	struct audit_obj src = { .i = ino_of(req, ino) };
	struct audit_obj dst = { .dir = ino_of(req, parent), .name = name };

	/* A new name moves a file under other rules: it must be readable and
	 * writable where it is, and writable where it goes. */
	ret = op_police(ret, &c, POLICY_READ | POLICY_WRITE, &src, &dst);
	if (!ret && fs->opts.readonly)
		ret = -EROFS;
	if (!ret)
		ret = node_link(&fs->nc, ino_of(req, ino), ino_of(req, parent), name, &i, &st);
	audit_event(&c, "link", &src, &dst, NULL, ret);
	if (ret)
		return reply_err(req, &c, ret);
	reply_entry(req, &c, i, &st);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct opctx c;
	struct audit_obj o = { .dir = ino_of(req, parent), .name = name };
	int ret = op_enter_audited(req, "unlink", parent, &c);

	ret = op_police(ret, &c, POLICY_WRITE, &o, NULL);
	if (!ret)
		audit_probe(&o);
	if (!ret)
		ret = node_unlink(&fsd_of(req)->nc, ino_of(req, parent), name);
	if (!ret)
		audit_paths_forget(o.ino);
	audit_event(&c, "unlink", &o, NULL, NULL, ret);
	reply_err(req, &c, ret);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct opctx c;
	struct audit_obj o = { .dir = ino_of(req, parent), .name = name };
	int ret = op_enter_audited(req, "rmdir", parent, &c);

	ret = op_police(ret, &c, POLICY_WRITE, &o, NULL);
	if (!ret)
		audit_probe(&o);
	if (!ret)
		ret = node_rmdir(&fsd_of(req)->nc, ino_of(req, parent), name);
	if (!ret)
		audit_paths_forget(o.ino);
	audit_event(&c, "rmdir", &o, NULL, NULL, ret);
	reply_err(req, &c, ret);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct opctx c;
	struct audit_obj src = { .dir = ino_of(req, parent), .name = name };
	struct audit_obj dst = { .dir = ino_of(req, newparent), .name = newname };
	int ret = op_enter_audited(req, "rename", parent, &c);

	ret = op_police(ret, &c, POLICY_READ | POLICY_WRITE, &src, &dst);
	if (!ret && (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)))
		ret = -EINVAL;
	if (!ret) {
		audit_probe(&src);
		audit_probe(&dst);   /* a file it replaces (or exchanges with) */
	}
	if (!ret)
		ret = node_rename(&fsd_of(req)->nc, ino_of(req, parent), name,
				  ino_of(req, newparent), newname, flags);
	if (!ret)
		audit_paths_moved();
	if (!ret && dst.ino)
		audit_paths_forget(dst.ino);   /* the file it replaced may be gone */
	audit_event(&c, "rename", &src, &dst, audit_rename_flags(flags), ret);
	reply_err(req, &c, ret);
}

static void open_flags_to_fi(struct fsd *fs, struct fuse_file_info *fi)
{
	/* Everything goes through this mount, so the page cache stays valid. */
	fi->keep_cache = !fs->opts.direct_io;
	fi->direct_io = fs->opts.direct_io;
}

static int new_fhandle(struct fsd *fs, struct inode *i, struct fileio *fio, int flags,
		       struct fuse_file_info *fi)
{
	struct fhandle *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->inode = i;
	h->fio = fio;
	h->append = (flags & O_APPEND) && !fs->opts.writeback;
	fi->fh = (uint64_t)(uintptr_t)h;
	open_flags_to_fi(fs, fi);
	return 0;
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct fsd *fs = fsd_of(req);
	struct fuse_entry_param e;
	struct fileio *fio = NULL;
	struct inode *i = NULL;
	struct stat st;
	struct opctx c;
	int ret = op_enter_audited(req, "create", parent, &c);
	struct node_caller who = caller_of(&c);
	struct audit_obj o = { .dir = ino_of(req, parent), .name = name };
	struct audit_handle *ah;

	ret = op_police(ret, &c, POLICY_WRITE | (((fi->flags & O_ACCMODE) != O_WRONLY) ?
						POLICY_READ : 0), &o, NULL);
	if (!ret)
		ret = node_create(&fs->nc, &who, ino_of(req, parent), name, mode, &i, &st, &fio);
	o.i = ret ? NULL : i;
	ah = audit_open_event(&c, "create", &o, fi->flags | O_CREAT, ret);
	if (!ret) {
		ret = new_fhandle(fs, i, fio, fi->flags, fi);
		if (ret) {
			inode_file_put(i);
			inode_forget(&fs->table, i, 1);
		}
	}
	if (ret) {
		audit_release(ah);
		return reply_err(req, &c, ret);
	}
	((struct fhandle *)(uintptr_t)fi->fh)->audit = ah;
	fill_entry(fs, i, &st, &e);
	op_leave(&c, 0);
	if (fuse_reply_create(req, &e, fi) != 0) {
		audit_release(ah);
		free((void *)(uintptr_t)fi->fh);
		inode_file_put(i);
		inode_forget(&fs->table, i, 1);
	}
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsd *fs = fsd_of(req);
	struct inode *i = ino_of(req, ino);
	struct fileio *fio = NULL;
	struct opctx c;
	int writing = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
	int ret = op_enter_audited(req, "open", ino, &c);
	struct audit_obj o = { .i = i };
	struct audit_handle *ah = NULL;

	ret = op_police(ret, &c, ((fi->flags & O_ACCMODE) != O_WRONLY ? POLICY_READ : 0) |
				 (writing ? POLICY_WRITE : 0), &o, NULL);
	if (!ret && writing && fs->opts.readonly)
		ret = -EROFS;
	if (!ret)
		ret = inode_file_get(i, fs->vol->keys, !fs->opts.readonly, &fio);
	if (!ret && (fi->flags & O_TRUNC))
		ret = fileio_truncate(fio, 0);
	if (!ret)
		ret = new_fhandle(fs, i, fio, fi->flags, fi);
	ah = audit_open_event(&c, "open", &o, fi->flags, ret);
	if (ret) {
		if (fio)
			inode_file_put(i);
		return reply_err(req, &c, ret);
	}
	((struct fhandle *)(uintptr_t)fi->fh)->audit = ah;
	op_leave(&c, 0);
	if (fuse_reply_open(req, fi) != 0) {
		audit_release(ah);
		free((void *)(uintptr_t)fi->fh);
		inode_file_put(i);
	}
}

/* Reused per thread: no allocation per read on the hot path. It holds
 * plaintext: wiped when it grows and when libfuse retires the thread. */
static _Thread_local struct {
	char *p;
	size_t cap;
} rbuf;
static pthread_key_t rbuf_key;
static pthread_once_t rbuf_once = PTHREAD_ONCE_INIT;

static void rbuf_drop(void *unused)
{
	(void)unused;
	if (rbuf.p)
		secmem_wipe(rbuf.p, rbuf.cap);
	free(rbuf.p);
	rbuf.p = NULL;
	rbuf.cap = 0;
}

static void rbuf_key_make(void)
{
	(void)pthread_key_create(&rbuf_key, rbuf_drop);
}

static char *read_buffer(size_t size)
{
	char *n;

	if (rbuf.cap >= size)
		return rbuf.p;
	if (pthread_once(&rbuf_once, rbuf_key_make) != 0)
		return NULL;
	n = malloc(size);
	if (!n)
		return NULL;
	rbuf_drop(NULL);
	rbuf.p = n;
	rbuf.cap = size;
	/* Any non-NULL value: the destructor then runs at thread exit. */
	(void)pthread_setspecific(rbuf_key, n);
	return n;
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fhandle *h = (struct fhandle *)(uintptr_t)fi->fh;
	char *buf = read_buffer(size);
	struct opctx c;
	ssize_t n;
	int ret = op_enter(req, "read", ino, &c);

	if (!ret && !buf)
		ret = -ENOMEM;
	if (ret)
		return reply_err(req, &c, ret);
	n = fileio_read(h->fio, buf, size, (uint64_t)off);
	audit_io_read(h->audit, (uint64_t)off, n);
	if (n < 0)
		return reply_err(req, &c, (int)n);
	op_leave(&c, n);
	fuse_reply_buf(req, buf, (size_t)n);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct fhandle *h = (struct fhandle *)(uintptr_t)fi->fh;
	struct opctx c;
	ssize_t n;
	int ret = op_enter(req, "write", ino, &c);

	if (ret)
		return reply_err(req, &c, ret);
	if (h->append) {
		uint64_t size_now = 0;

		/* Without writeback cache the kernel's offset may be stale for O_APPEND. */
		ret = fileio_size(h->fio, &size_now);
		if (ret)
			return reply_err(req, &c, ret);
		off = (off_t)size_now;
	}
	n = fileio_write(h->fio, buf, size, (uint64_t)off);
	audit_io_write(h->audit, (uint64_t)off, n);
	if (n < 0)
		return reply_err(req, &c, (int)n);
	op_leave(&c, n);
	fuse_reply_write(req, (size_t)n);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fhandle *h = (struct fhandle *)(uintptr_t)fi->fh;
	struct opctx c;

	(void)op_enter(req, "release", ino, &c);
	audit_release(h->audit);
	inode_file_put(h->inode);
	free(h);
	op_leave(&c, 0);
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct fhandle *h = (struct fhandle *)(uintptr_t)fi->fh;
	struct opctx c;
	int ret = op_enter(req, "fsync", ino, &c);

	if (!ret)
		ret = fileio_fsync(h->fio, datasync);
	reply_err(req, &c, ret);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct inode *i = ino_of(req, ino);
	struct dhandle *d = calloc(1, sizeof(*d));
	struct opctx c;
	int fd = -1, ret = op_enter(req, "opendir", ino, &c);
	struct audit_obj o = { .i = i };

	ret = op_police(ret, &c, POLICY_READ, &o, NULL);   /* names are PHI too */
	if (!ret && !d)
		ret = -ENOMEM;
	if (!ret)
		ret = inode_dirid(i, d->dirid);
	if (!ret) {
		fd = openat(i->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			ret = -errno;
	}
	if (!ret) {
		d->dp = fdopendir(fd);
		if (!d->dp)
			ret = -errno;
	}
	if (ret) {
		if (fd >= 0)
			close(fd);
		free(d);
		return reply_err(req, &c, ret);
	}
	d->inode = i;
	fi->fh = (uint64_t)(uintptr_t)d;
	fi->cache_readdir = 0;
	op_leave(&c, 0);
	if (fuse_reply_open(req, fi) != 0) {
		closedir(d->dp);
		free(d);
	}
}

static int is_dot(const char *n)
{
	return n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'));
}

/* Plaintext name of the current entry; -ENOENT to skip it. */
static int entry_name(struct fsd *fs, struct dhandle *d, char *name, size_t cap)
{
	const char *b = d->entry->d_name;
	int ret;

	if (is_dot(b)) {
		snprintf(name, cap, "%s", b);
		return 0;
	}
	ret = names_from_backing(keys_names_key(fs->vol->keys), d->inode->fd, d->dirid, b, name,
				 cap);
	/* An undecryptable name is skipped (fsck reports it), never shown raw. */
	return ret ? -ENOENT : 0;
}

static size_t add_entry(fuse_req_t req, struct dhandle *d, char *p, size_t rem,
			const char *name, int plus, off_t next, int *err)
{
	struct fsd *fs = fsd_of(req);
	struct fuse_entry_param e;
	struct inode *i;
	size_t sz;

	*err = 0;
	if (!plus || is_dot(name)) {
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = d->entry->d_ino;
		e.attr.st_mode = (mode_t)d->entry->d_type << 12;
		return plus ? fuse_add_direntry_plus(req, p, rem, name, &e, next)
			    : fuse_add_direntry(req, p, rem, name, &e.attr, next);
	}
	*err = inode_lookup(&fs->table, d->inode, d->entry->d_name, &i, &e.attr);
	if (!*err)
		*err = node_fix_stat(&fs->nc, i, &e.attr);
	if (*err)
		return 0;
	fill_entry(fs, i, &e.attr, &e);
	sz = fuse_add_direntry_plus(req, p, rem, name, &e, next);
	if (sz > rem)
		inode_forget(&fs->table, i, 1);
	return sz;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, int plus)
{
	struct dhandle *d = (struct dhandle *)(uintptr_t)fi->fh;
	struct fsd *fs = fsd_of(req);
	char *buf = calloc(1, size), *p = buf;
	char name[NAME_MAX + 1];
	size_t rem = size;
	struct opctx c;
	int err = op_enter(req, "readdir", ino, &c);

	if (!err && !buf)
		err = -ENOMEM;
	if (err) {
		free(buf);
		return reply_err(req, &c, err);
	}
	if (off != d->offset) {
		seekdir(d->dp, off);
		d->entry = NULL;
		d->offset = off;
	}
	for (;;) {
		size_t sz;

		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				err = errno ? -errno : 0;
				break;
			}
		}
		if (entry_name(fs, d, name, sizeof(name)) == 0) {
			sz = add_entry(req, d, p, rem, name, plus, d->entry->d_off, &err);
			if (err == -ENOENT) {
				err = 0;   /* vanished meanwhile */
			} else if (err) {
				break;
			} else if (sz > rem) {
				break;
			} else {
				p += sz;
				rem -= sz;
			}
		}
		d->offset = d->entry->d_off;
		d->entry = NULL;
	}
	/* Entries already packed must be returned even if a later one failed. */
	if (err && rem == size) {
		free(buf);
		return reply_err(req, &c, err);
	}
	op_leave(&c, 0);
	fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dhandle *d = (struct dhandle *)(uintptr_t)fi->fh;

	(void)ino;
	closedir(d->dp);
	free(d);
	fuse_reply_err(req, 0);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct dhandle *d = (struct dhandle *)(uintptr_t)fi->fh;
	struct opctx c;
	int fd = dirfd(d->dp);
	int ret = op_enter(req, "fsyncdir", ino, &c);

	if (!ret && (datasync ? fdatasync(fd) : fsync(fd)) < 0)
		ret = -errno;
	reply_err(req, &c, ret);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;
	struct opctx c;
	int ret = op_enter(req, "statfs", ino, &c);

	if (!ret && fstatvfs(fsd_of(req)->table.root.fd, &sv) < 0)
		ret = -errno;
	if (ret)
		return reply_err(req, &c, ret);
	/* Long names go through side files, so every plaintext name up to 255 fits. */
	sv.f_namemax = NAME_MAX;
	op_leave(&c, 0);
	fuse_reply_statfs(req, &sv);
}

/* `phifs-keys rekey` asks for a file's new data key with an ioctl on an open
 * handle. Not a setxattr: the kernel stamps ctime after one, and a caller
 * killed meanwhile leaves the page cache with a stray EIO for the next close. */
static int rekey_handle(struct fsd *fs, const struct opctx *c, struct fuse_file_info *fi)
{
	if (c->uid != 0)
		return -EPERM;
	if (fs->opts.readonly)
		return -EROFS;
	if (!fi || !fi->fh)
		return -EBADF;
	return fileio_rekey(((struct fhandle *)(uintptr_t)fi->fh)->fio);
}

/* `phifs-keys shred` reads the file's key-table slot (root only). */
static int keyinfo_handle(struct fsd *fs, const struct opctx *c, struct fuse_file_info *fi,
			  size_t out_bufsz, struct fileio_keyinfo *ki)
{
	if (c->uid != 0)
		return -EPERM;
	if (!fi || !fi->fh)
		return -EBADF;
	if (out_bufsz < sizeof(*ki))
		return -EINVAL;
	fileio_keyinfo(((struct fhandle *)(uintptr_t)fi->fh)->fio, ki);
	memcpy(ki->volume_id, fs->vol->cfg->volume_id, FORMAT_ID_LEN);
	ki->keytab_on = fs->vol->keytab != NULL;
	return 0;
}

static void op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		     struct fuse_file_info *fi, unsigned flags, const void *in_buf,
		     size_t in_bufsz, size_t out_bufsz)
{
	struct fsd *fs = fsd_of(req);
	struct fileio_keyinfo ki;
	struct opctx c;
	int ret = op_enter(req, "ioctl", ino, &c);

	(void)arg;
	(void)in_buf;
	(void)in_bufsz;
	if (!ret && (flags & FUSE_IOCTL_DIR))
		ret = -ENOTTY;
	else if (!ret && cmd == FILEIO_IOC_KEYINFO)
		ret = keyinfo_handle(fs, &c, fi, out_bufsz, &ki);
	else if (!ret)
		ret = cmd == FILEIO_IOC_REKEY ? rekey_handle(fs, &c, fi) : -ENOTTY;
	if (ret)
		return reply_err(req, &c, ret);
	op_leave(&c, 0);
	if (cmd == FILEIO_IOC_KEYINFO)
		fuse_reply_ioctl(req, 0, &ki, sizeof(ki));
	else
		fuse_reply_ioctl(req, 0, NULL, 0);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	struct fsd *fs = fsd_of(req);
	struct opctx c;
	struct audit_obj o = { .i = ino_of(req, ino) };
	int ret = op_enter_audited(req, "setxattr", ino, &c);

	ret = op_police(ret, &c, POLICY_METADATA, &o, NULL);
	if (!ret)
		ret = fs->opts.readonly ? -EROFS
					: xattr_set(fs->vol, ino_of(req, ino), name, value, size, flags);
	audit_event(&c, "setxattr", &o, NULL, audit_xattr_field(name), ret);
	reply_err(req, &c, ret);
}

static void reply_xattr_data(fuse_req_t req, const struct opctx *c, size_t size, char *buf,
			     ssize_t n)
{
	if (n < 0)
		return reply_err(req, c, (int)n);
	op_leave(c, 0);
	if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fsd *fs = fsd_of(req);
	char *buf = size ? malloc(size) : NULL;
	struct opctx c;
	ssize_t n;
	int ret = op_enter(req, "getxattr", ino, &c);
	struct audit_obj o = { .i = ino_of(req, ino) };

	ret = op_police(ret, &c, POLICY_METADATA, &o, NULL);
	if (!ret && size && !buf)
		ret = -ENOMEM;
	n = ret ? ret : xattr_get(fs->vol, ino_of(req, ino), name, buf, size);
	reply_xattr_data(req, &c, size, buf, n);
	free(buf);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fsd *fs = fsd_of(req);
	char *buf = size ? malloc(size) : NULL;
	struct opctx c;
	ssize_t n;
	int ret = op_enter(req, "listxattr", ino, &c);
	struct audit_obj o = { .i = ino_of(req, ino) };

	ret = op_police(ret, &c, POLICY_METADATA, &o, NULL);
	if (!ret && size && !buf)
		ret = -ENOMEM;
	n = ret ? ret : xattr_list(fs->vol, ino_of(req, ino), buf, size);
	reply_xattr_data(req, &c, size, buf, n);
	free(buf);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct fsd *fs = fsd_of(req);
	struct opctx c;
	struct audit_obj o = { .i = ino_of(req, ino) };
	int ret = op_enter_audited(req, "removexattr", ino, &c);

	ret = op_police(ret, &c, POLICY_METADATA, &o, NULL);
	if (!ret)
		ret = fs->opts.readonly ? -EROFS : xattr_remove(fs->vol, ino_of(req, ino), name);
	audit_event(&c, "removexattr", &o, NULL, audit_xattr_field(name), ret);
	reply_err(req, &c, ret);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
			 struct fuse_file_info *fi)
{
	struct fhandle *h = (struct fhandle *)(uintptr_t)fi->fh;
	struct opctx c;
	int ret = op_enter(req, "fallocate", ino, &c);

	if (!ret && (off < 0 || len <= 0))
		ret = -EINVAL;
	if (!ret)
		ret = fileio_fallocate(h->fio, mode, (uint64_t)off, (uint64_t)len);
	reply_err(req, &c, ret);
}

static void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	struct fhandle *h = (struct fhandle *)(uintptr_t)fi->fh;
	uint64_t res = 0;
	struct opctx c;
	int ret = op_enter(req, "lseek", ino, &c);

	if (!ret && whence != SEEK_DATA && whence != SEEK_HOLE)
		ret = -EINVAL;
	if (!ret && off < 0)
		ret = -ENXIO;
	if (!ret)
		ret = fileio_lseek(h->fio, (uint64_t)off, whence, &res);
	if (ret)
		return reply_err(req, &c, ret);
	op_leave(&c, 0);
	fuse_reply_lseek(req, (off_t)res);
}

const struct fuse_lowlevel_ops fuse_ops = {
	.init = op_init,
	.destroy = op_destroy,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.symlink = op_symlink,
	.link = op_link,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.create = op_create,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.fsyncdir = op_fsyncdir,
	.statfs = op_statfs,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.fallocate = op_fallocate,
	.lseek = op_lseek,
	.ioctl = op_ioctl,
};
