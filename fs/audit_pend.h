/*
 * audit_pend.h: an audit event as a FUSE thread hands it to the writer — a
 * fixed struct of copied facts — and its conversion into the JSON record on
 * the writer thread (see audit_pend.c). Spec: docs/AUDIT_FORMAT.md "Record",
 * docs/ARCHITECTURE.md (audit).
 */
#ifndef PHIFS_AUDIT_PEND_H
#define PHIFS_AUDIT_PEND_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "audit_actor.h"
#include "audit_io.h"
#include "format.h"

struct json_object;
struct audit_paths;
struct audit_line;

/* The object of an event, as captured: nothing here refers to an inode. */
struct audit_pend_obj {
	int present;                   /* 0: the record has no such object */
	int has_id;
	uint8_t file_id[FORMAT_ID_LEN];
	uint64_t ino;                  /* 0 = unknown */
	char *path;                    /* plaintext path (PHI, memory only; wiped and freed
					* by audit_pend_free) or NULL: no path reference */
	int path_pooled;               /* path is a block of audit_pend.c's free list */
};

/* An event's fields the writer spells from numbers, so that the FUSE thread
 * builds no json-c object for the commonest events. */
enum audit_pend_fields {
	AUDIT_FIELDS_NONE,
	AUDIT_FIELDS_OPEN,             /* "flags": open(2) flags → names */
	AUDIT_FIELDS_SETATTR,          /* "attrs": FUSE_SET_ATTR_* → names, and "size" */
};

enum audit_pend_kind {
	AUDIT_PEND_EVENT,              /* extra's fields after the objects */
	AUDIT_PEND_SUMMARY,            /* an "io" summary of io (final or interim) */
	AUDIT_PEND_CALL,               /* a per-op "read"/"write" record */
};

struct audit_pend {
	enum audit_pend_kind kind;
	const char *event;             /* a string literal */
	struct timespec at;            /* CLOCK_REALTIME when it happened */
	int result;                    /* 0 or -errno */
	struct audit_actor actor;
	struct audit_pend_obj obj, obj2;
	enum audit_pend_fields fields; /* EVENT: typed fields, before extra's */
	int flags;                     /* FIELDS_OPEN: open flags; FIELDS_SETATTR: valid bits */
	uint64_t size;                 /* FIELDS_SETATTR: the new size (with FUSE_SET_ATTR_SIZE) */
	struct json_object *extra;     /* EVENT: its fields (owned); NULL for none */
	int final;                     /* SUMMARY: at release or unmount */
	uint64_t off;                  /* CALL: offset */
	int64_t bytes;                 /* CALL: bytes (0 on error) */
	const void *node;              /* FIELDS_SETATTR, FIELDS_OPEN: its inode (joins only) */
	unsigned calls;                /* FIELDS_SETATTR: calls joined into it (0: one) */
	struct timespec last;          /* FIELDS_SETATTR with calls: the last one's time */
	int sa_valid;                  /* FIELDS_OPEN: setattr calls joined into it (audit.c */
	unsigned sa_calls;             /*   setattr_join): their FUSE_SET_ATTR_* bits, how */
	struct timespec sa_first, sa_last; /* many, the first's and the last's time */
	int io_room;                   /* io is allocated (SUMMARY, audit_pend_new_io) */
	int io_joined;                 /* FIELDS_OPEN: io holds the handle's final summary */
	struct audit_io io;            /* SUMMARY, io_room only, and last: see audit_pend_new */
};

/* A zeroed event of kind. Only a SUMMARY has room for io (1 KiB of ranges):
 * the others stay small. From a free list (audit_pool.c). NULL on
 * allocation failure. */
struct audit_pend *audit_pend_new(enum audit_pend_kind kind);
/* The same with room for io whatever the kind: an open that its handle's
 * final summary may join while both are queued (audit.c io_join). */
struct audit_pend *audit_pend_new_io(enum audit_pend_kind kind);

/* The record of p, written into l (reset first) as the members that follow
 * "time" — "host", "vol", "event", "actor", "result", review flags,
 * "object", "object2", then the event's fields — and its time into time:
 * what audit_log_append_members() takes. The same members, order and bytes
 * as the json-c record audit.c once built for it (tests/unit/test-audit-pend.c).
 * paths: the path reference mode and keys (may be NULL: no references).
 * 0 or -ENOMEM. */
int audit_pend_write(const struct audit_pend *p, struct audit_paths *paths,
		     const uint8_t volume_id[FORMAT_ID_LEN], char time[40], struct audit_line *l);
/* Sets o's path to a copy of path (wiped and given back by
 * audit_pend_obj_clear; a path set directly is free(3)d). -ENOMEM. */
int audit_pend_obj_set_path(struct audit_pend_obj *o, const char *path);
/* Copies src's object into dst, its path duplicated (-ENOMEM). */
int audit_pend_obj_copy(struct audit_pend_obj *dst, const struct audit_pend_obj *src);
/* Wipes and frees o's path. */
void audit_pend_obj_clear(struct audit_pend_obj *o);
/* Frees p's path copies and extra, then p itself. NULL is fine. */
void audit_pend_free(struct audit_pend *p);
/* Frees the blocks kept for reuse (when auditing stops). */
void audit_pend_drain(void);

#endif
