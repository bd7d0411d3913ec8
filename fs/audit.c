/*
 * audit.c: the daemon's side of issue 4 — filesystem events become audit
 * records (docs/AUDIT_FORMAT.md "Record"; docs/OPERATIONS.md "Audit").
 *
 * FUSE threads capture an event — its facts copied into a struct audit_pend:
 * actor, time, result, file id, inode, plaintext path — and hand it to the
 * writer thread (audit_writer.c: bounded queue, audit_log_append/sync,
 * failure policy), which builds the JSON record (audit_pend.c) in order.
 * Reads and writes are, by default, a counter update on the handle
 * (audit_io.c) and become one "io" summary at release, every audit_interval
 * seconds while open, and at unmount; audit_mode=per-op makes them one record
 * each. audit_gate() is the fail-closed check before opens and namespace
 * changes. Hooks installed at start turn EACCES/EPERM results, integrity
 * failures and key operations into records.
 *
 * It does not own the record format, the chain or the sinks (audit_log.c),
 * the queue (audit_writer.c), path references (audit_path.c) nor the actor
 * (audit_actor.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include <fuse_lowlevel.h>

#include "audit.h"
#include "audit_actor.h"
#include "audit_io.h"
#include "audit_log.h"
#include "audit_pend.h"
#include "audit_rec.h"
#include "audit_writer.h"
#include "fdio.h"
#include "fuse_ops.h"
#include "hook.h"
#include "log.h"
#include "opctx.h"


struct audit_handle {
	pthread_mutex_t lock;             /* guards io */
	struct audit_io io;               /* since the last summary */
	struct audit_actor actor;         /* captured at open: reads/writes are theirs */
	struct audit_pend_obj obj;        /* captured at open; only copied, under lock */
	struct timespec opened;           /* CLOCK_REALTIME of the open (io_clamp) */
	struct audit_writer_ticket open;  /* its open's record while queued */
	struct audit_handle *prev, *next; /* open list; audit.hlock */
};

struct audit {
	struct audit_opts o;
	struct fsd *fs;
	struct audit_log *log;
	struct audit_paths *paths;
	uint8_t volume_id[FORMAT_ID_LEN];
	struct audit_writer *writer;

	pthread_mutex_t hlock;            /* guards the open-handle list */
	struct audit_handle *handles;
};

/* Set before the FUSE loop starts and cleared after it ends: read unlocked. */
static struct audit *A;
/* This thread's operation was refused by audit_gate: it is counted in the
 * gap record's "refused", not recorded (the sink is what failed). */
static _Thread_local int gate_refused;

/* ---- small helpers ------------------------------------------------------ */

static void actor_of(const struct opctx *c, struct audit_actor *a)
{
	if (c)
		audit_actor_fill(a, c->uid, c->gid, c->pid);
	else
		audit_actor_fill(a, getuid(), getgid(), getpid());
	a->review = c ? c->review : OPCTX_REVIEW_NONE;
	a->rule = c ? c->rule : 0;
}

/* A captured event of this request (c NULL: the daemon itself), timed now;
 * io_room: an open its handle's final summary may join (io_join). */
static struct audit_pend *pend_new_room(const struct opctx *c, enum audit_pend_kind kind,
					const char *event, int result, int io_room)
{
	struct audit_pend *p = io_room ? audit_pend_new_io(kind) : audit_pend_new(kind);

	if (!p)
		return NULL;
	p->event = event;
	p->result = result;
	clock_gettime(CLOCK_REALTIME, &p->at);
	if (kind != AUDIT_PEND_SUMMARY && kind != AUDIT_PEND_CALL)
		actor_of(c, &p->actor);
	return p;
}

static struct audit_pend *pend_new(const struct opctx *c, enum audit_pend_kind kind,
				   const char *event, int result)
{
	return pend_new_room(c, kind, event, result, 0);
}

/* Queues p (NULL: allocation failed, counted as lost). */
static void pend_put(struct audit_pend *p, int keep)
{
	if (p)
		audit_writer_put_item(A->writer, p, keep);
	else
		audit_writer_put(A->writer, NULL, keep);
}

/* Writer thread: the record of a captured event. */
static int pend_build(void *arg, void *item, char time[40], struct audit_line *out)
{
	struct audit *a = arg;

	return audit_pend_write(item, a->paths, a->volume_id, time, out);
}

static void pend_drop(void *item)
{
	audit_pend_free(item);
}

static int ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Reads and writes are timed with the coarse clock (a tick: up to 10 ms
 * behind, io_call); a summary's times are never before the open's. */
static void io_clamp(struct audit_io *io, const struct timespec *opened)
{
	if (ts_before(&io->first, opened))
		io->first = *opened;
	if (ts_before(&io->last, &io->first))
		io->last = io->first;
}

/* Queues the "io" summary of h since the last one, then resets it (nothing
 * when h did no I/O). Caller holds h->lock. */
static void summary_locked(struct audit_handle *h, int final)
{
	struct audit_pend *p;

	if (audit_io_empty(&h->io))
		return;
	p = pend_new(NULL, AUDIT_PEND_SUMMARY, "io", 0);
	if (p) {
		p->actor = h->actor;
		p->io = h->io;
		io_clamp(&p->io, &h->opened);
		p->final = final;
		if (audit_pend_obj_copy(&p->obj, &h->obj)) {
			audit_pend_free(p);
			p = NULL;
		}
	}
	audit_io_reset(&h->io);
	/* After an interim summary the final one stays a record of its own:
	 * summaries in the order of the calls they count. */
	h->open.entry = NULL;
	pend_put(p, 1);
}

/* Joins the final summary of a handle into the record of its open (or
 * create) while that record is still queued, unwritten (≤ 10 ms): a file
 * created, written and closed at once — every file an untar or a copy
 * makes — gets one record for the open and its I/O where it had two. The
 * record carries the summary as "io", the same members an "io" record has
 * (docs/OPERATIONS.md "Audit"). Interim summaries, and the summaries of
 * handles whose open is written already, stay records of their own. */
static int io_join(void *item, void *arg)
{
	struct audit_pend *p = item;
	const struct audit_io *io = arg;

	/* item is the handle's own open: its ticket names the queue entry. */
	if (p->kind != AUDIT_PEND_EVENT || p->fields != AUDIT_FIELDS_OPEN || !p->io_room ||
	    p->io_joined)
		return 0;
	p->io = *io;
	io_clamp(&p->io, &p->at);
	p->final = 1;
	p->io_joined = 1;
	return 1;
}

/* Called by the writer thread every audit_interval seconds. */
static void interim_summaries(void *arg)
{
	struct audit *a = arg;

	pthread_mutex_lock(&a->hlock);
	for (struct audit_handle *h = a->handles; h; h = h->next) {
		pthread_mutex_lock(&h->lock);
		summary_locked(h, 0);
		pthread_mutex_unlock(&h->lock);
	}
	pthread_mutex_unlock(&a->hlock);
}

int audit_gate(void)
{
	int ret = A ? audit_writer_gate(A->writer) : 0;

	gate_refused = ret != 0;
	return ret;
}

/* ---- objects and event fields ------------------------------------------- */

void audit_probe(struct audit_obj *o)
{
	char backing[NAME_MAX + 1], enc[NAMES_ENC_MAX];
	uint8_t hdr[FORMAT_HEADER_LEN];
	struct format_header h;
	struct stat st;
	size_t got = 0;
	int is_long, fd;

	if (!A || !o->dir || !o->name ||
	    node_backing_name(&A->fs->nc, o->dir, o->name, backing, &is_long, enc, sizeof(enc)))
		return;
	if (fstatat(o->dir->fd, backing, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	o->ino = (uint64_t)st.st_ino;
	if (!S_ISREG(st.st_mode))
		return;
	/* Seen at its create or an open: no need to read the header (rm -rf). */
	if (!audit_paths_id_of(A->paths, o->ino, o->file_id)) {
		o->has_id = 1;
		return;
	}
	fd = openat(o->dir->fd, backing, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (!fdio_pread(fd, hdr, sizeof(hdr), 0, &got) && got == sizeof(hdr) &&
	    !format_header_decode(hdr, sizeof(hdr), &h)) {
		memcpy(o->file_id, h.file_id, FORMAT_ID_LEN);
		o->has_id = 1;
	}
	close(fd);
}

/* The FUSE thread's part of an object: what needs the inode (its number,
 * the open file's id, its plaintext path); the writer makes the JSON and the
 * path reference. */
static void obj_capture(struct audit_obj *o, struct audit_pend_obj *out)
{
	struct inode *base = o->name ? o->dir : (o->i ? o->i : o->dir);
	char path[PATH_MAX];

	out->present = 1;
	if (o->i && !o->ino)
		o->ino = (uint64_t)o->i->ino;
	if (o->i && !o->has_id && S_ISREG(o->i->type)) {
		/* Open somewhere: the header's file id is at hand. */
		pthread_mutex_lock(&o->i->lock);
		if (o->i->fio) {
			memcpy(o->file_id, fileio_file_id(o->i->fio), FORMAT_ID_LEN);
			o->has_id = 1;
		}
		pthread_mutex_unlock(&o->i->lock);
	}
	out->has_id = o->has_id;
	memcpy(out->file_id, o->file_id, FORMAT_ID_LEN);
	out->ino = o->ino;
	if (o->i && o->has_id && S_ISREG(o->i->type))
		audit_paths_note_id(A->paths, o->ino, o->file_id);
	if (audit_paths_mode_of(A->paths) == AUDIT_PATHS_NONE || !base)
		return;
	if (!audit_path_of_entry(A->paths, base, o->name, o->name ? o->i : NULL, path,
				 sizeof(path))) {
		(void)audit_pend_obj_set_path(out, path);   /* ENOMEM: no path reference */
		explicit_bzero(path, strlen(path));
	}
}

/* An event with its objects captured, not yet queued; NULL when auditing
 * is off, the gate refused this operation, or on allocation failure (*lost). */
static struct audit_pend *event_capture(const struct opctx *c, const char *event,
					struct audit_obj *obj, struct audit_obj *obj2, int result,
					int *lost)
{
	struct audit_pend *p;

	*lost = 0;
	if (!A || gate_refused) {
		gate_refused = 0;
		return NULL;
	}
	p = pend_new(c, AUDIT_PEND_EVENT, event, result);
	*lost = !p;
	if (p && obj)
		obj_capture(obj, &p->obj);
	if (p && obj2)
		obj_capture(obj2, &p->obj2);
	return p;
}

void audit_event(const struct opctx *c, const char *event, struct audit_obj *obj,
		 struct audit_obj *obj2, struct json_object *extra, int result)
{
	int lost;
	struct audit_pend *p = event_capture(c, event, obj, obj2, result, &lost);

	if (p)
		p->extra = extra;
	else
		json_object_put(extra);
	if (p || lost)
		pend_put(p, 0);
}

/* A setattr offered to the newest queued record (audit_writer_join). */
struct setattr_call {
	const struct opctx *c;
	const struct inode *node;
	uint64_t ino;
	int valid;
	uint64_t size;
	struct timespec at;
};

/* The setattr calls an opener makes on the file it just opened or created —
 * tar sets an extracted file's owner, mode and times — join the record of
 * the open while it is the newest queued: its "setattr" member says which
 * attributes, how many calls and when (docs/OPERATIONS.md "Audit"). A size
 * change never joins an open (a truncation stays a record of its own). */
static int setattr_join_open(struct audit_pend *p, const struct setattr_call *s)
{
	if (s->valid & FUSE_SET_ATTR_SIZE)
		return 0;
	if (!p->sa_calls)
		p->sa_first = s->at;
	p->sa_valid |= s->valid;
	p->sa_calls++;
	p->sa_last = s->at;
	return 1;
}

/* Joins a successful setattr into the previous record when that record is
 * a successful setattr of the same process and identity on the same inode,
 * nothing was recorded in between, and it is still queued: `touch`, `chown`
 * and `chmod` by one tar of one file become one record whose "attrs" are
 * the union and whose "calls" says how many there were. Two size changes
 * are never joined (each new size is recorded); flagged accesses and
 * per-op mode are never joined. docs/AUDIT_FORMAT.md "setattr". */
static int setattr_join(void *item, void *arg)
{
	struct audit_pend *p = item;
	const struct setattr_call *s = arg;

	if (p->kind != AUDIT_PEND_EVENT ||
	    (p->fields != AUDIT_FIELDS_SETATTR && p->fields != AUDIT_FIELDS_OPEN) ||
	    p->node != s->node || p->obj.ino != s->ino || p->result || p->obj2.present ||
	    p->actor.review != OPCTX_REVIEW_NONE || p->actor.pid != s->c->pid ||
	    p->actor.uid != s->c->uid || p->actor.gid != s->c->gid)
		return 0;
	if (p->fields == AUDIT_FIELDS_OPEN)
		return setattr_join_open(p, s);
	if (p->flags & s->valid & FUSE_SET_ATTR_SIZE)
		return 0;
	p->flags |= s->valid;
	if (s->valid & FUSE_SET_ATTR_SIZE)
		p->size = s->size;
	p->calls++;
	p->last = s->at;
	return 1;
}

static int setattr_joined(const struct opctx *c, const struct audit_obj *obj, int valid,
			  uint64_t size, int result)
{
	struct setattr_call s = { c, obj->i, 0, valid, size, { 0, 0 } };

	if (!A || gate_refused || A->o.per_op || !c || c->review != OPCTX_REVIEW_NONE ||
	    result || !obj->i || obj->name)
		return 0;
	s.ino = (uint64_t)obj->i->ino;
	clock_gettime(CLOCK_REALTIME, &s.at);
	return audit_writer_join(A->writer, setattr_join, &s);
}

void audit_setattr(const struct opctx *c, struct audit_obj *obj, int valid, uint64_t size,
		   int result)
{
	int lost;
	struct audit_pend *p;

	if (setattr_joined(c, obj, valid, size, result))
		return;
	p = event_capture(c, "setattr", obj, NULL, result, &lost);
	if (p) {
		p->fields = AUDIT_FIELDS_SETATTR;
		p->flags = valid;
		p->size = size;
		p->node = obj->i;
	}
	if (p || lost)
		pend_put(p, 0);
}

struct json_object *audit_node_type(mode_t mode)
{
	struct json_object *o = json_object_new_object();
	const char *t = S_ISFIFO(mode) ? "fifo" : S_ISSOCK(mode) ? "socket" :
			S_ISCHR(mode) ? "chr" : S_ISBLK(mode) ? "blk" : "file";

	if (o)
		json_object_object_add(o, "type", json_object_new_string(t));
	return o;
}

struct json_object *audit_rename_flags(unsigned flags)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();

	if (flags & RENAME_NOREPLACE)
		json_object_array_add(a, json_object_new_string("noreplace"));
	if (flags & RENAME_EXCHANGE)
		json_object_array_add(a, json_object_new_string("exchange"));
	json_object_object_add(o, "flags", a);
	return o;
}

/* xattr names may be PHI ("user.diagnosis"): a reference, like a path. */
struct json_object *audit_xattr_field(const char *name)
{
	struct json_object *o = json_object_new_object(), *ref;

	ref = A && o ? audit_path_ref(A->paths, name) : NULL;
	if (ref)
		json_object_object_add(o, "xattr", ref);
	return o;
}

/* ---- open handles and I/O ----------------------------------------------- */

struct audit_handle *audit_open_event(const struct opctx *c, const char *event,
				      struct audit_obj *obj, int flags, int result)
{
	struct audit_handle *h;
	struct audit_pend *p;

	if (!A || gate_refused) {
		gate_refused = 0;
		return NULL;
	}
	h = result ? NULL : calloc(1, sizeof(*h));
	p = pend_new_room(c, AUDIT_PEND_EVENT, event, result, h && !A->o.per_op);
	if (p) {
		obj_capture(obj, &p->obj);
		p->fields = AUDIT_FIELDS_OPEN;
		p->flags = flags;
		p->node = obj->i;
	}
	if (h) {
		if (p)
			h->opened = p->at;
		else
			clock_gettime(CLOCK_REALTIME, &h->opened);
		pthread_mutex_init(&h->lock, NULL);
		if (p) {
			h->actor = p->actor;
			audit_pend_obj_copy(&h->obj, &p->obj);   /* ENOMEM: no path in summaries */
		} else {
			struct audit_pend_obj o = { 0 };

			actor_of(c, &h->actor);
			obj_capture(obj, &o);
			h->obj = o;
		}
	}
	if (p)
		audit_writer_put_item_t(A->writer, p, 0, h ? &h->open : NULL);
	else
		pend_put(NULL, 0);
	if (h) {
		pthread_mutex_lock(&A->hlock);
		h->next = A->handles;
		if (A->handles)
			A->handles->prev = h;
		A->handles = h;
		pthread_mutex_unlock(&A->hlock);
	}
	return h;
}

static void io_call(struct audit_handle *h, int write, uint64_t off, int64_t result)
{
	struct timespec now;
	struct audit_pend *p;

	if (!h || !A)
		return;
	/* Per-op while the queue has room; beyond that the call goes into the
	 * handle's summary, which is never dropped. */
	/* An access the policy flagged (an `audit` rule, break-glass) is recorded
	 * call by call whatever audit_mode: the policy's per-user per-op. */
	if ((A->o.per_op || h->actor.review != OPCTX_REVIEW_NONE) &&
	    audit_writer_room(A->writer)) {
		p = pend_new(NULL, AUDIT_PEND_CALL, write ? "write" : "read",
			     result < 0 ? (int)result : 0);
		if (p) {
			p->actor = h->actor;
			p->off = off;
			p->bytes = result < 0 ? 0 : result;
			pthread_mutex_lock(&h->lock);
			if (audit_pend_obj_copy(&p->obj, &h->obj)) {
				audit_pend_free(p);
				p = NULL;
			}
			pthread_mutex_unlock(&h->lock);
		}
		pend_put(p, 0);
		return;
	}
	if (result < 0)
		return;
	clock_gettime(CLOCK_REALTIME_COARSE, &now);
	pthread_mutex_lock(&h->lock);
	audit_io_note(&h->io, write, off, (uint64_t)result, &now);
	pthread_mutex_unlock(&h->lock);
}

void audit_io_read(struct audit_handle *h, uint64_t off, int64_t result)
{
	io_call(h, 0, off, result);
}

void audit_io_write(struct audit_handle *h, uint64_t off, int64_t result)
{
	io_call(h, 1, off, result);
}

static void handle_free(struct audit_handle *h)
{
	audit_pend_obj_clear(&h->obj);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void audit_release(struct audit_handle *h)
{
	if (!h || !A)
		return;
	pthread_mutex_lock(&A->hlock);
	if (h->prev)
		h->prev->next = h->next;
	else
		A->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&A->hlock);
	pthread_mutex_lock(&h->lock);
	if (!audit_io_empty(&h->io) && !audit_writer_join_ticket(A->writer, &h->open, io_join,
								  &h->io))
		summary_locked(h, 1);
	pthread_mutex_unlock(&h->lock);
	handle_free(h);
}

void audit_denied(const struct opctx *c, const char *reason, int rule, int learn,
		  struct audit_obj *obj)
{
	struct json_object *x = json_object_new_object();

	if (!A || !x) {
		json_object_put(x);
		return;
	}
	json_object_object_add(x, "op", json_object_new_string(c && c->op ? c->op : "?"));
	json_object_object_add(x, "reason", json_object_new_string(reason));
	if (rule >= 0)
		json_object_object_add(x, "rule", json_object_new_int(rule));
	if (learn)
		json_object_object_add(x, "learn", json_object_new_boolean(1));
	audit_event(c, "denied", obj, NULL, x, learn ? 0 : -EACCES);
}

/* ---- hooks: opctx completion, integrity, key operations ----------------- */

static struct inode *inode_of(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &A->fs->table.root : (struct inode *)(uintptr_t)ino;
}

/* EACCES/EPERM results are permission denials, whatever the operation. */
static void on_done(void *arg, const struct opctx *c, int64_t result)
{
	struct audit_obj o = { 0 };

	(void)arg;
	gate_refused = 0;
	if ((result != -EACCES && result != -EPERM) || c->policy_denied)
		return;   /* a policy denial is recorded with its rule already */
	o.i = c->ino ? inode_of(c->ino) : NULL;
	audit_denied(c, "permission", -1, 0, o.i ? &o : NULL);
}

static void on_integrity(void *arg, const uint8_t file_id[FORMAT_ID_LEN], uint64_t blockno,
			 const char *what)
{
	struct json_object *x = json_object_new_object();
	struct audit_obj o = { 0 };
	char hex[2 * FORMAT_ID_LEN + 1];

	(void)arg;
	audit_rec_hex(file_id, FORMAT_ID_LEN, hex);
	log_msg(LOG_ERR, "integrity failure: file %s block %llu: %s", hex,
		(unsigned long long)blockno, what ? what : "unknown");
	if (!x)
		return;
	json_object_object_add(x, "block", json_object_new_int64((int64_t)blockno));
	json_object_object_add(x, "reason", json_object_new_string(what ? what : "unknown"));
	memcpy(o.file_id, file_id, FORMAT_ID_LEN);
	o.has_id = 1;
	/* Path resolution needs the inode: the file id alone names the file here. */
	audit_event(opctx_current(), "integrity", &o, NULL, x, -EBADMSG);
}

static void on_key(void *arg, const char *op, const char *from, const char *to, int result)
{
	(void)arg;
	log_msg(result ? LOG_WARNING : LOG_INFO, "key operation %s: %s", op,
		result ? "failed" : "done");
	audit_event(opctx_current(), "key", NULL, NULL, audit_rec_key_fields(op, from, to), result);
}

/* ---- start and stop ----------------------------------------------------- */

static void options_json(struct json_object *rec, const struct audit_opts *o)
{
	json_object_object_add(rec, "audit_mode", json_object_new_string(o->per_op ? "per-op"
										    : "summary"));
	json_object_object_add(rec, "audit_paths",
			       json_object_new_string(audit_paths_name(o->paths)));
	json_object_object_add(rec, "audit_on_failure",
			       json_object_new_string(o->on_failure_continue ? "continue" : "deny"));
}

static void audit_free(struct audit *a)
{
	if (!a)
		return;
	audit_log_close(a->log);
	audit_paths_free(a->paths);
	pthread_mutex_destroy(&a->hlock);
	free(a);
}

int audit_start(const struct audit_opts *o, struct fsd *fs, char *err, size_t errcap)
{
	struct audit_log_opts lo = { 0 };
	struct audit *a;
	char stream[2 * FORMAT_ID_LEN + 1];
	int ret;

	if (audit_is_off(o->spool_dir)) {
		log_msg(LOG_WARNING, "auditing is off (audit=off): no record of access to this "
			"volume is kept");
		return 0;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->o = *o;
	a->fs = fs;
	pthread_mutex_init(&a->hlock, NULL);
	memcpy(a->volume_id, fs->vol->cfg->volume_id, FORMAT_ID_LEN);
	audit_rec_hex(a->volume_id, FORMAT_ID_LEN, stream);
	lo.spool_dir = o->spool_dir;
	lo.keys_dir = audit_keys_dir(o->keys_dir);
	lo.stream = stream;
	lo.vol = stream;
	lo.syslog = o->syslog;
	lo.sync_ms = AUDIT_SYNC_MS;
	ret = audit_paths_new(o->paths, fs->vol, &a->paths);
	if (ret) {
		snprintf(err, errcap, "audit: cannot set up path references: %s", strerror(-ret));
		goto out;
	}
	ret = audit_log_open(&lo, &a->log);
	if (ret) {
		snprintf(err, errcap, "audit: cannot open the audit log in %s (keys in %s): %s",
			 o->spool_dir, audit_log_keys_dir(lo.keys_dir), strerror(-ret));
		goto out;
	}
	A = a;
	/* audit_log_open wrote its audit-start: make sure it is durable. */
	ret = audit_log_sync(a->log);
	if (!ret) {
		struct audit_writer_cb cb = { .interim = interim_summaries, .build = pend_build,
					      .drop = pend_drop, .arg = a };

		ret = audit_writer_start(a->log, a->volume_id, o->on_failure_continue,
					 o->interval_s ? o->interval_s : 60, &cb, &a->writer);
	}
	if (ret) {
		snprintf(err, errcap, "audit: cannot write to the audit log in %s: %s",
			 o->spool_dir, strerror(-ret));
		A = NULL;
		goto out;
	}
	if (o->paths == AUDIT_PATHS_PLAIN)
		log_msg(LOG_WARNING, "audit_paths=plain: audit records name files in plaintext "
			"(PHI); protect %s accordingly", o->spool_dir);
	opctx_set_done(on_done, a);
	hook_set_integrity(on_integrity, a);
	hook_set_key(on_key, a);
	return 0;
out:
	audit_free(a);
	return ret;
}

void audit_mounted(const char *mountpoint)
{
	struct json_object *x;

	if (!A)
		return;
	x = json_object_new_object();
	if (x) {
		json_object_object_add(x, "mountpoint", json_object_new_string(mountpoint));
		options_json(x, &A->o);
	}
	audit_event(NULL, "mount", NULL, NULL, x, 0);
}

void audit_stop(void)
{
	struct audit *a = A;
	struct audit_handle *h, *next;
	uint64_t lost;

	if (!a)
		return;
	opctx_set_done(NULL, NULL);
	hook_set_integrity(NULL, NULL);
	hook_set_key(NULL, NULL);
	/* Handles the kernel never released (a forced unmount): their last summary. */
	pthread_mutex_lock(&a->hlock);
	h = a->handles;
	a->handles = NULL;
	pthread_mutex_unlock(&a->hlock);
	for (; h; h = next) {
		next = h->next;
		summary_locked(h, 1);
		handle_free(h);
	}
	audit_event(NULL, "unmount", NULL, NULL, NULL, 0);
	lost = audit_writer_stop(a->writer);
	if (lost)
		log_msg(LOG_ERR, "audit: %llu record(s) could not be written before unmount",
			(unsigned long long)lost);
	A = NULL;
	audit_free(a);
	audit_pend_drain();
}

