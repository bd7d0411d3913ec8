/*
 * audit_pend.c: turns an audit event captured on a FUSE thread (struct
 * audit_pend: event, time, result, actor, objects with their plaintext path,
 * event fields) into its JSON record, on the writer thread. The FUSE thread
 * only copies facts into the bounded queue; the JSON, the path reference
 * (HMAC or encryption of the path) and the actor object are made here, in
 * queue order, so an open or a create waits for none of it
 * (docs/PERFORMANCE.md "audit cost"). The record is the same, field for
 * field and in the same order, as when it was built on the FUSE thread
 * (docs/AUDIT_FORMAT.md "Record"; tests/unit/test-audit-pend.c).
 * It does not capture anything (audit.c does), queue (audit_writer.c) or
 * chain (audit_log.c).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "audit_path.h"
#include "audit_pend.h"
#include "audit_rec.h"
#include "keyring.h"
#include "opctx.h"

/* An access the policy flagged: "flag" ("break-glass" with the reason given
 * at `phifs unlock --break-glass`, or "policy-audit") and the rule. */
static void add_review(struct json_object *rec, const struct audit_actor *actor,
		       const uint8_t volume_id[FORMAT_ID_LEN])
{
	char reason[KEYRING_REASON_MAX + 1];

	if (actor->review == OPCTX_REVIEW_BREAK_GLASS) {
		json_object_object_add(rec, "flag", json_object_new_string("break-glass"));
		if (keyring_break_glass(volume_id, reason, sizeof(reason)) != 0)
			snprintf(reason, sizeof(reason), "(no reason given at unlock)");
		json_object_object_add(rec, "reason", json_object_new_string(reason));
	} else {
		json_object_object_add(rec, "flag", json_object_new_string("policy-audit"));
	}
	if (actor->rule)
		json_object_object_add(rec, "rule", json_object_new_int((int)actor->rule));
}

static struct json_object *obj_json(const struct audit_pend_obj *o, struct audit_paths *paths)
{
	struct json_object *j = json_object_new_object(), *ref;
	char hex[2 * FORMAT_ID_LEN + 1];

	if (!j)
		return NULL;
	if (o->has_id) {
		audit_rec_hex(o->file_id, FORMAT_ID_LEN, hex);
		json_object_object_add(j, "file", json_object_new_string(hex));
	}
	if (o->ino)
		json_object_object_add(j, "ino", json_object_new_int64((int64_t)o->ino));
	ref = o->path ? audit_path_ref(paths, o->path) : NULL;
	if (ref)
		json_object_object_add(j, "path", ref);
	return j;
}

static void add_obj(struct json_object *rec, const char *key, const struct audit_pend_obj *o,
		    struct audit_paths *paths)
{
	struct json_object *j = o->present ? obj_json(o, paths) : NULL;

	if (j)
		json_object_object_add(rec, key, j);
}

static struct json_object *io_dir_json(const struct audit_io_dir *d)
{
	struct json_object *o = json_object_new_object(), *r = json_object_new_array();

	for (unsigned i = 0; r && i < d->n; i++) {
		struct json_object *p = json_object_new_array();

		json_object_array_add(p, json_object_new_int64((int64_t)d->r[i][0]));
		json_object_array_add(p, json_object_new_int64((int64_t)d->r[i][1]));
		json_object_array_add(r, p);
	}
	json_object_object_add(o, "ops", json_object_new_int64((int64_t)d->ops));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)d->bytes));
	json_object_object_add(o, "ranges", r);
	return o;
}

static void summary_fields(struct json_object *rec, const struct audit_pend *p)
{
	char t[40];

	if (p->io.rd.ops)
		json_object_object_add(rec, "read", io_dir_json(&p->io.rd));
	if (p->io.wr.ops)
		json_object_object_add(rec, "write", io_dir_json(&p->io.wr));
	audit_rec_time(&p->io.first, t);
	json_object_object_add(rec, "first", json_object_new_string(t));
	audit_rec_time(&p->io.last, t);
	json_object_object_add(rec, "last", json_object_new_string(t));
	json_object_object_add(rec, "final", json_object_new_boolean(p->final));
}

struct json_object *audit_pend_build(const struct audit_pend *p, struct audit_paths *paths,
				     const uint8_t volume_id[FORMAT_ID_LEN])
{
	struct json_object *rec = audit_rec_new_at(p->event, volume_id, &p->actor, p->result,
						   &p->at);

	if (!rec)
		return NULL;
	if (p->actor.review != OPCTX_REVIEW_NONE)
		add_review(rec, &p->actor, volume_id);
	add_obj(rec, "object", &p->obj, paths);
	add_obj(rec, "object2", &p->obj2, paths);
	switch (p->kind) {
	case AUDIT_PEND_EVENT:
		if (p->extra) {
			json_object_object_foreach(p->extra, k, v)
				json_object_object_add(rec, k, json_object_get(v));
		}
		break;
	case AUDIT_PEND_SUMMARY:
		summary_fields(rec, p);
		break;
	case AUDIT_PEND_CALL:
		json_object_object_add(rec, "offset", json_object_new_int64((int64_t)p->off));
		json_object_object_add(rec, "bytes", json_object_new_int64(p->bytes));
		break;
	}
	return rec;
}

int audit_pend_obj_copy(struct audit_pend_obj *dst, const struct audit_pend_obj *src)
{
	*dst = *src;
	dst->path = NULL;
	if (src->path && !(dst->path = strdup(src->path)))
		return -ENOMEM;
	return 0;
}

void audit_pend_obj_clear(struct audit_pend_obj *o)
{
	if (o->path) {
		explicit_bzero(o->path, strlen(o->path));
		free(o->path);
		o->path = NULL;
	}
}

void audit_pend_free(struct audit_pend *p)
{
	if (!p)
		return;
	audit_pend_obj_clear(&p->obj);
	audit_pend_obj_clear(&p->obj2);
	json_object_put(p->extra);
	free(p);
}
