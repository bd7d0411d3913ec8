/*
 * audit_line.c: writes an audit record's JSON text directly — no json-c tree
 * per record, no copy of one into another, no serialising pass. A record is
 * ~600 bytes of known members (envelope, actor, objects, counters), and
 * building, copying and printing a json-c tree for each was most of the
 * writer thread's time in an untar (docs/PERFORMANCE.md "Audit cost").
 *
 * The bytes are exactly json-c's plain form (JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE), which the records had before and
 * docs/AUDIT_FORMAT.md §1 names: no spaces; '"', '\\', \b \f \n \r \t as
 * two-character escapes; other bytes below 0x20 as \u00xx (lowercase); '/',
 * DEL and non-ASCII bytes as they are. tests/unit/test-audit-line.c holds it
 * to json-c byte for byte. Nothing in verification depends on this (MACs and
 * hashes are over the line bytes), but readers and tests do.
 * It knows no record layout (audit_pend.c and audit_log.c do).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "audit_line.h"

#define LINE_MIN_CAP 1024

void audit_line_reset(struct audit_line *l)
{
	l->len = 0;
	l->err = 0;
}

int audit_line_done(const struct audit_line *l)
{
	return l->err;
}

void audit_line_free(struct audit_line *l)
{
	if (l->buf) {
		explicit_bzero(l->buf, l->cap);
		free(l->buf);
	}
	l->buf = NULL;
	l->len = l->cap = 0;
	l->err = 0;
}

char *audit_line_grow(struct audit_line *l, size_t n)
{
	size_t cap = l->cap ? l->cap : LINE_MIN_CAP;
	char *nb;

	if (l->err)
		return NULL;
	if (l->len + n <= l->cap)
		return l->buf + l->len;
	while (cap < l->len + n)
		cap *= 2;
	/* Not realloc: the old block may hold a plaintext path. */
	nb = malloc(cap);
	if (!nb) {
		l->err = -ENOMEM;
		return NULL;
	}
	if (l->buf) {
		memcpy(nb, l->buf, l->len);
		explicit_bzero(l->buf, l->cap);
		free(l->buf);
	}
	l->buf = nb;
	l->cap = cap;
	return l->buf + l->len;
}

void audit_line_raw(struct audit_line *l, const char *s, size_t n)
{
	char *p = audit_line_room(l, n);

	if (p) {
		memcpy(p, s, n);
		l->len += n;
	}
}

static void put_char(struct audit_line *l, char c)
{
	audit_line_raw(l, &c, 1);
}

void audit_line_key(struct audit_line *l, const char *key)
{
	if (l->len && l->buf[l->len - 1] != '{' && l->buf[l->len - 1] != '[')
		put_char(l, ',');
	audit_line_str(l, key);
	put_char(l, ':');
}

/* The two-character escape of c, or 0: \u00xx for the other controls, or
 * the byte itself (json-c's json_escape_str). */
static char short_escape(unsigned char c)
{
	switch (c) {
	case '"': return '"';
	case '\\': return '\\';
	case '\b': return 'b';
	case '\f': return 'f';
	case '\n': return 'n';
	case '\r': return 'r';
	case '\t': return 't';
	default: return 0;
	}
}

static void put_escape(struct audit_line *l, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char e = short_escape(c), u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

	if (e) {
		char two[2] = { '\\', e };

		audit_line_raw(l, two, 2);
	} else {
		audit_line_raw(l, u, sizeof(u));
	}
}

/* n bytes of s (json-c strings may hold a NUL: it becomes \u0000). */
static void put_str(struct audit_line *l, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n, *run;

	put_char(l, '"');
	while (p < end) {
		for (run = p; p < end && *p >= 0x20 && *p != '"' && *p != '\\'; p++)
			;
		audit_line_raw(l, (const char *)run, (size_t)(p - run));
		if (p < end)
			put_escape(l, *p++);
	}
	put_char(l, '"');
}

void audit_line_str(struct audit_line *l, const char *s)
{
	if (s)
		put_str(l, s, strlen(s));
	else
		audit_line_raw(l, "null", 4);
}

/* By hand: snprintf's format parsing cost more than the rest of a number,
 * and a record has a dozen. */
void audit_line_int(struct audit_line *l, int64_t v)
{
	char d[20], *p;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0;

	do {
		d[sizeof(d) - ++n] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	p = audit_line_room(l, n + 1);
	if (!p)
		return;
	if (v < 0)
		*p++ = '-';
	memcpy(p, d + sizeof(d) - n, n);
	l->len += n + (v < 0);
}

void audit_line_bool(struct audit_line *l, int v)
{
	if (v)
		audit_line_raw(l, "true", 4);
	else
		audit_line_raw(l, "false", 5);
}

void audit_line_hex(struct audit_line *l, const uint8_t *b, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char *p = audit_line_room(l, 2 * n + 2);

	if (!p)
		return;
	*p++ = '"';
	for (size_t i = 0; i < n; i++) {
		*p++ = hex[b[i] >> 4];
		*p++ = hex[b[i] & 15];
	}
	*p = '"';
	l->len += 2 * n + 2;
}

void audit_line_members(struct audit_line *l, struct json_object *o,
			int (*skip)(const char *key, void *arg), void *arg)
{
	json_object_object_foreach(o, k, v) {
		if (skip && skip(k, arg))
			continue;
		audit_line_key(l, k);
		audit_line_json(l, v);
	}
}

void audit_line_json(struct audit_line *l, struct json_object *v)
{
	const char *s;

	switch (json_object_get_type(v)) {
	case json_type_object:
		put_char(l, '{');
		audit_line_members(l, v, NULL, NULL);
		put_char(l, '}');
		break;
	case json_type_array:
		put_char(l, '[');
		for (size_t i = 0, n = json_object_array_length(v); i < n; i++) {
			if (i)
				put_char(l, ',');
			audit_line_json(l, json_object_array_get_idx(v, i));
		}
		put_char(l, ']');
		break;
	case json_type_string:
		put_str(l, json_object_get_string(v), (size_t)json_object_get_string_len(v));
		break;
	case json_type_boolean:
		audit_line_bool(l, json_object_get_boolean(v));
		break;
	default:
		/* Numbers (signed, unsigned, double) and null: json-c's own text. */
		s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE);
		if (s)
			audit_line_raw(l, s, strlen(s));
		else
			l->err = -ENOMEM;
		break;
	}
}
