/*
 * audit_pend.c: turns an audit event captured on a FUSE thread (struct
 * audit_pend: event, time, result, actor, objects with their plaintext path,
 * event fields) into its record's JSON text, on the writer thread. The FUSE
 * thread only copies facts into the bounded queue; the JSON, the path
 * reference (HMAC or encryption of the path) and the actor object are made
 * here, in queue order, so an open or a create waits for none of it
 * (docs/PERFORMANCE.md "audit cost"). The text is written directly
 * (audit_line.c), not through a json-c tree: the same members, order and
 * bytes as the tree it replaced (docs/AUDIT_FORMAT.md "Record";
 * tests/unit/test-audit-pend.c).
 * It does not capture anything (audit.c does), queue (audit_writer.c) or
 * chain (audit_log.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <fuse_lowlevel.h>

#include "audit_line.h"
#include "audit_path.h"
#include "audit_pend.h"
#include "audit_pool.h"
#include "audit_rec.h"
#include "keyring.h"
#include "opctx.h"

/* Members written before the event's fields. An event field of the same
 * name takes the member's place (json-c's object_add replaced the value
 * where the key already stood: a denial's "reason" and "rule" by a
 * break-glass actor). */
static const char *const fixed[] = { "host", "vol", "event", "actor", "result", "flag",
				     "reason", "rule", "object", "object2" };
enum { F_HOST, F_VOL, F_EVENT, F_ACTOR, F_RESULT, F_FLAG, F_REASON, F_RULE, F_OBJECT,
       F_OBJECT2, F_COUNT };
/* The envelope audit_log.c writes itself (and dropped from a record). */
static const char *const envelope[] = { "time", "v", "seq", "epoch", "prev", "mac" };

struct pw {
	const struct audit_pend *p;
	struct audit_line *l;
	unsigned clash;                /* bits of fixed[] the event's fields also have */
	unsigned written;              /* bits of fixed[] written */
};

/* The key of fixed member f; 1 when the event's field was written in its
 * place (the caller then writes no value). */
static int member(struct pw *w, int f)
{
	struct json_object *v;

	audit_line_key(w->l, fixed[f]);
	w->written |= 1u << f;
	if (!(w->clash & (1u << f)) || !json_object_object_get_ex(w->p->extra, fixed[f], &v))
		return 0;
	audit_line_json(w->l, v);
	return 1;
}

static int find(const char *const *names, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(key, names[i]) == 0)
			return (int)i;
	return -1;
}

static unsigned clashes(struct json_object *extra)
{
	unsigned bits = 0;
	int f;

	if (!extra)
		return 0;
	json_object_object_foreach(extra, k, v) {
		(void)v;
		f = find(fixed, F_COUNT, k);
		if (f >= 0)
			bits |= 1u << f;
	}
	return bits;
}

/* An event field already written in a fixed member's place, or envelope. */
static int skip_field(const char *key, void *arg)
{
	struct pw *w = arg;
	int f = find(fixed, F_COUNT, key);

	if (f >= 0 && (w->written & (1u << f)))
		return 1;
	return find(envelope, sizeof(envelope) / sizeof(envelope[0]), key) >= 0;
}

/* An access the policy flagged: "flag" ("break-glass" with the reason given
 * at `phifs unlock --break-glass`, or "policy-audit") and the rule. */
static void review(struct pw *w, const uint8_t volume_id[FORMAT_ID_LEN])
{
	const struct audit_actor *actor = &w->p->actor;
	char reason[KEYRING_REASON_MAX + 1];

	if (!member(w, F_FLAG))
		audit_line_str(w->l, actor->review == OPCTX_REVIEW_BREAK_GLASS ? "break-glass"
										 : "policy-audit");
	if (actor->review == OPCTX_REVIEW_BREAK_GLASS && !member(w, F_REASON)) {
		if (keyring_break_glass(volume_id, reason, sizeof(reason)) != 0)
			snprintf(reason, sizeof(reason), "(no reason given at unlock)");
		audit_line_str(w->l, reason);
	}
	if (actor->rule && !member(w, F_RULE))
		audit_line_int(w->l, (int64_t)actor->rule);
}

static void obj(struct pw *w, int f, const struct audit_pend_obj *o, struct audit_paths *paths)
{
	struct audit_line *l = w->l;
	size_t mark;

	if (!o->present || member(w, f))
		return;
	audit_line_raw(l, "{", 1);
	if (o->has_id) {
		audit_line_key(l, "file");
		audit_line_hex(l, o->file_id, FORMAT_ID_LEN);
	}
	if (o->ino) {
		audit_line_key(l, "ino");
		audit_line_int(l, (int64_t)o->ino);
	}
	if (o->path) {
		mark = l->len;
		audit_line_key(l, "path");
		if (audit_path_ref_write(paths, o->path, l) && !l->err)
			l->len = mark;   /* no reference (off, or it failed): no member */
	}
	audit_line_raw(l, "}", 1);
}

/* "flags":[access mode, then the flags set, in this order]. */
static void open_flags(struct audit_line *l, int flags)
{
	static const struct {
		int bit;
		const char *name;
	} bits[] = { { O_TRUNC, "trunc" }, { O_APPEND, "append" }, { O_CREAT, "creat" },
		     { O_EXCL, "excl" }, { O_SYNC, "sync" }, { O_DSYNC, "dsync" },
		     { O_DIRECT, "direct" }, { O_NOATIME, "noatime" }, { O_NONBLOCK, "nonblock" } };
	int acc = flags & O_ACCMODE;

	audit_line_key(l, "flags");
	audit_line_raw(l, "[", 1);
	audit_line_str(l, acc == O_RDONLY ? "rdonly" : acc == O_WRONLY ? "wronly" : "rdwr");
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if ((flags & bits[i].bit) == bits[i].bit) {
			audit_line_raw(l, ",", 1);
			audit_line_str(l, bits[i].name);
		}
	audit_line_raw(l, "]", 1);
}

static void time_field(struct audit_line *l, const char *key, const struct timespec *ts)
{
	char t[40];

	audit_rec_time(ts, t);
	audit_line_key(l, key);
	audit_line_str(l, t);
}

/* "attrs":[the attributes set]. */
static void attrs_list(struct audit_line *l, int valid)
{
	static const struct {
		int bits;
		const char *name;
	} attrs[] = { { FUSE_SET_ATTR_MODE, "mode" }, { FUSE_SET_ATTR_UID, "uid" },
		      { FUSE_SET_ATTR_GID, "gid" }, { FUSE_SET_ATTR_SIZE, "size" },
		      { FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW, "atime" },
		      { FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW, "mtime" } };
	int first = 1;

	audit_line_key(l, "attrs");
	audit_line_raw(l, "[", 1);
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (valid & attrs[i].bits) {
			if (!first)
				audit_line_raw(l, ",", 1);
			audit_line_str(l, attrs[i].name);
			first = 0;
		}
	audit_line_raw(l, "]", 1);
}

/* A setattr record's fields: "attrs", "size" when it is one of them, and
 * "calls" and "last" when calls were joined into it. */
static void setattr_fields(struct audit_line *l, int valid, uint64_t size, unsigned calls,
			   const struct timespec *last)
{
	attrs_list(l, valid);
	if (valid & FUSE_SET_ATTR_SIZE) {
		audit_line_key(l, "size");
		audit_line_int(l, (int64_t)size);
	}
	if (calls) {
		audit_line_key(l, "calls");
		audit_line_int(l, (int64_t)calls + 1);
		time_field(l, "last", last);
	}
}

static void summary_fields(struct audit_line *l, const struct audit_pend *p);

/* An open's "flags", then what joined it while it was queued (audit.c):
 * its handle's final summary as "io", its opener's attribute changes as
 * "setattr". */
static void open_fields(struct audit_line *l, const struct audit_pend *p)
{
	open_flags(l, p->flags);
	if (p->io_joined) {
		audit_line_key(l, "io");
		audit_line_raw(l, "{", 1);
		summary_fields(l, p);
		audit_line_raw(l, "}", 1);
	}
	if (p->sa_calls) {
		audit_line_key(l, "setattr");
		audit_line_raw(l, "{", 1);
		attrs_list(l, p->sa_valid);
		audit_line_key(l, "calls");
		audit_line_int(l, (int64_t)p->sa_calls);
		time_field(l, "first", &p->sa_first);
		time_field(l, "last", &p->sa_last);
		audit_line_raw(l, "}", 1);
	}
}

static void event_fields(struct pw *w)
{
	const struct audit_pend *p = w->p;

	if (p->fields == AUDIT_FIELDS_OPEN)
		open_fields(w->l, p);
	else if (p->fields == AUDIT_FIELDS_SETATTR)
		setattr_fields(w->l, p->flags, p->size, p->calls, &p->last);
	if (p->extra)
		audit_line_members(w->l, p->extra, skip_field, w);
}

static void io_dir(struct audit_line *l, const char *key, const struct audit_io_dir *d)
{
	audit_line_key(l, key);
	audit_line_raw(l, "{", 1);
	audit_line_key(l, "ops");
	audit_line_int(l, (int64_t)d->ops);
	audit_line_key(l, "bytes");
	audit_line_int(l, (int64_t)d->bytes);
	audit_line_key(l, "ranges");
	audit_line_raw(l, "[", 1);
	for (unsigned i = 0; i < d->n; i++) {
		audit_line_raw(l, i ? ",[" : "[", i ? 2 : 1);
		audit_line_int(l, (int64_t)d->r[i][0]);
		audit_line_raw(l, ",", 1);
		audit_line_int(l, (int64_t)d->r[i][1]);
		audit_line_raw(l, "]", 1);
	}
	audit_line_raw(l, "]}", 2);
}

static void summary_fields(struct audit_line *l, const struct audit_pend *p)
{
	if (p->io.rd.ops)
		io_dir(l, "read", &p->io.rd);
	if (p->io.wr.ops)
		io_dir(l, "write", &p->io.wr);
	time_field(l, "first", &p->io.first);
	time_field(l, "last", &p->io.last);
	audit_line_key(l, "final");
	audit_line_bool(l, p->final);
}

static void envelope_members(struct pw *w, const uint8_t volume_id[FORMAT_ID_LEN])
{
	const struct audit_pend *p = w->p;

	if (!member(w, F_HOST))
		audit_line_str(w->l, audit_rec_host());
	if (!member(w, F_VOL))
		audit_line_hex(w->l, volume_id, FORMAT_ID_LEN);
	if (!member(w, F_EVENT))
		audit_line_str(w->l, p->event);
	if (!member(w, F_ACTOR))
		audit_actor_write(&p->actor, w->l);
	if (!member(w, F_RESULT))
		audit_line_str(w->l, audit_rec_result(p->result));
}

int audit_pend_write(const struct audit_pend *p, struct audit_paths *paths,
		     const uint8_t volume_id[FORMAT_ID_LEN], char time[40], struct audit_line *l)
{
	struct pw w = { .p = p, .l = l, .clash = clashes(p->extra) };

	audit_line_reset(l);
	audit_rec_time(&p->at, time);
	envelope_members(&w, volume_id);
	if (p->actor.review != OPCTX_REVIEW_NONE)
		review(&w, volume_id);
	obj(&w, F_OBJECT, &p->obj, paths);
	obj(&w, F_OBJECT2, &p->obj2, paths);
	switch (p->kind) {
	case AUDIT_PEND_EVENT:
		event_fields(&w);
		break;
	case AUDIT_PEND_SUMMARY:
		summary_fields(l, p);
		break;
	case AUDIT_PEND_CALL:
		audit_line_key(l, "offset");
		audit_line_int(l, (int64_t)p->off);
		audit_line_key(l, "bytes");
		audit_line_int(l, p->bytes);
		break;
	}
	return audit_line_done(l);
}

/* Captured events and their path copies come from free lists, not
 * malloc(3): the FUSE thread allocates, the writer frees (audit_pool.c).
 * The lists keep what a busy queue holds at once; a longer queue falls back
 * to malloc. Paths of AUDIT_PEND_PATH_BLOCK bytes or more are malloc'ed. */
#define AUDIT_PEND_PATH_BLOCK 256
#define AUDIT_PEND_KEEP 1024
static struct audit_pool pend_pool = AUDIT_POOL_INIT(offsetof(struct audit_pend, io),
						     AUDIT_PEND_KEEP);
static struct audit_pool summary_pool = AUDIT_POOL_INIT(sizeof(struct audit_pend),
							AUDIT_PEND_KEEP / 4);
static struct audit_pool path_pool = AUDIT_POOL_INIT(AUDIT_PEND_PATH_BLOCK,
						     2 * AUDIT_PEND_KEEP);

static struct audit_pend *pend_new(enum audit_pend_kind kind, int io_room)
{
	struct audit_pool *pool = io_room ? &summary_pool : &pend_pool;
	struct audit_pend *p = audit_pool_get(pool);

	if (p) {
		memset(p, 0, offsetof(struct audit_pend, io));
		p->kind = kind;
		p->io_room = io_room;
	}
	return p;
}

struct audit_pend *audit_pend_new(enum audit_pend_kind kind)
{
	struct audit_pend *p = pend_new(kind, kind == AUDIT_PEND_SUMMARY);

	if (p && p->io_room)
		audit_io_reset(&p->io);
	return p;
}

struct audit_pend *audit_pend_new_io(enum audit_pend_kind kind)
{
	return pend_new(kind, 1);
}

int audit_pend_obj_set_path(struct audit_pend_obj *o, const char *path)
{
	size_t n = strlen(path) + 1;

	o->path_pooled = n <= AUDIT_PEND_PATH_BLOCK;
	o->path = o->path_pooled ? audit_pool_get(&path_pool) : malloc(n);
	if (!o->path)
		return -ENOMEM;
	memcpy(o->path, path, n);
	return 0;
}

int audit_pend_obj_copy(struct audit_pend_obj *dst, const struct audit_pend_obj *src)
{
	*dst = *src;
	dst->path = NULL;
	return src->path ? audit_pend_obj_set_path(dst, src->path) : 0;
}

void audit_pend_obj_clear(struct audit_pend_obj *o)
{
	if (!o->path)
		return;
	explicit_bzero(o->path, strlen(o->path));
	if (o->path_pooled)
		audit_pool_put(&path_pool, o->path);
	else
		free(o->path);
	o->path = NULL;
	o->path_pooled = 0;
}

void audit_pend_free(struct audit_pend *p)
{
	if (!p)
		return;
	audit_pend_obj_clear(&p->obj);
	audit_pend_obj_clear(&p->obj2);
	json_object_put(p->extra);
	audit_pool_put(p->io_room ? &summary_pool : &pend_pool, p);
}

void audit_pend_drain(void)
{
	audit_pool_drain(&pend_pool);
	audit_pool_drain(&summary_pool);
	audit_pool_drain(&path_pool);
}
