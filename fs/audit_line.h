/*
 * audit_line.h: the audit record serialiser — JSON text written straight
 * into a growing buffer, byte for byte what json-c's plain form
 * (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) writes for the
 * same members (see audit_line.c). Spec: docs/AUDIT_FORMAT.md §1
 * (serialisation), docs/PERFORMANCE.md "Audit cost".
 */
#ifndef PHIFS_AUDIT_LINE_H
#define PHIFS_AUDIT_LINE_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

/* A line being written. err sticks: after a failed allocation every call is
 * a no-op and audit_line_done reports -ENOMEM. The bytes may hold a record
 * (plaintext paths under audit_paths=plain): wiped when freed. */
struct audit_line {
	char *buf;
	size_t len, cap;              /* bytes */
	int err;                      /* 0 or -ENOMEM */
};

/* Empties l for a new line (keeps its memory). */
void audit_line_reset(struct audit_line *l);
/* 0, or -ENOMEM if any write since the reset failed. */
int audit_line_done(const struct audit_line *l);
/* Wipes and frees l's buffer. */
void audit_line_free(struct audit_line *l);
/* Room for n more bytes at buf + len (NULL on failure; err set). The
 * common case inline: a record makes some fifty calls. */
char *audit_line_grow(struct audit_line *l, size_t n);
static inline char *audit_line_room(struct audit_line *l, size_t n)
{
	if (!l->err && l->len + n <= l->cap)
		return l->buf + l->len;
	return audit_line_grow(l, n);
}

void audit_line_raw(struct audit_line *l, const char *s, size_t n);
/* A member's key: ',' unless it is the first of its object, then "key":. */
void audit_line_key(struct audit_line *l, const char *key);
/* "s" with json-c's escapes; NULL writes null. */
void audit_line_str(struct audit_line *l, const char *s);
void audit_line_int(struct audit_line *l, int64_t v);
void audit_line_bool(struct audit_line *l, int v);
/* "hex" of n bytes, lowercase. */
void audit_line_hex(struct audit_line *l, const uint8_t *b, size_t n);
/* Any json-c value, as json-c would serialise it inside a record. */
void audit_line_json(struct audit_line *l, struct json_object *v);
/* An object's members without its braces (a record's event fields). skip:
 * a member to leave out (one already written), or NULL. */
void audit_line_members(struct audit_line *l, struct json_object *o,
			int (*skip)(const char *key, void *arg), void *arg);

#endif
