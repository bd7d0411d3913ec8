/*
 * ttlv.h: the KMIP Tag-Type-Length-Value encoding (KMIP 1.4 spec §9.1): a
 * bounded writer into a caller's buffer and a validating, allocation-free
 * reader over a received message (see ttlv.c).
 */
#ifndef PHIFS_KMS_TTLV_H
#define PHIFS_KMS_TTLV_H

#include <stddef.h>
#include <stdint.h>

enum ttlv_type {
	TTLV_STRUCT = 1,
	TTLV_INT = 2,
	TTLV_LONG = 3,
	TTLV_BIGINT = 4,
	TTLV_ENUM = 5,
	TTLV_BOOL = 6,
	TTLV_TEXT = 7,
	TTLV_BYTES = 8,
	TTLV_DATETIME = 9,
	TTLV_INTERVAL = 10,
};

#define TTLV_HDR_LEN 8      /* tag(3) type(1) length(4) */
#define TTLV_DEPTH_MAX 16   /* nesting levels a message may have (KMIP uses < 8) */

/*
 * Writer. Errors are sticky: after the first overflow or misuse every put is a
 * no-op and ttlv_finish reports it, so a message builder checks once.
 */
struct ttlv_writer {
	uint8_t *buf;
	size_t cap;                       /* bytes */
	size_t len;                       /* bytes written */
	size_t open[TTLV_DEPTH_MAX];      /* offsets of the open structures' headers */
	unsigned depth;
	int err;                          /* 0, -EMSGSIZE (full) or -EINVAL (misuse) */
};

void ttlv_writer_init(struct ttlv_writer *w, uint8_t *buf, size_t cap);
void ttlv_begin(struct ttlv_writer *w, uint32_t tag);
void ttlv_end(struct ttlv_writer *w);
void ttlv_put_int(struct ttlv_writer *w, uint32_t tag, int32_t v);
void ttlv_put_long(struct ttlv_writer *w, uint32_t tag, int64_t v);
void ttlv_put_enum(struct ttlv_writer *w, uint32_t tag, uint32_t v);
void ttlv_put_bool(struct ttlv_writer *w, uint32_t tag, int v);
void ttlv_put_text(struct ttlv_writer *w, uint32_t tag, const char *s, size_t len);
void ttlv_put_bytes(struct ttlv_writer *w, uint32_t tag, const void *p, size_t len);
void ttlv_put_datetime(struct ttlv_writer *w, uint32_t tag, int64_t unix_seconds);
void ttlv_put_interval(struct ttlv_writer *w, uint32_t tag, uint32_t seconds);
/* 0 and *len = bytes, or the sticky error (-EINVAL also for an unclosed structure). */
int ttlv_finish(struct ttlv_writer *w, size_t *len);

/* Reader: one item; val points into the message, which must outlive it. */
struct ttlv {
	uint32_t tag;
	uint8_t type;          /* enum ttlv_type */
	uint32_t len;          /* value bytes, without padding */
	const uint8_t *val;
};

/*
 * Validates a whole message: exactly one item spanning buf[0..len), every
 * nested length inside its parent, known types with their fixed lengths,
 * zero padding, booleans 0 or 1, at most TTLV_DEPTH_MAX levels. 0 and *root,
 * or -EBADMSG. Items read below it through ttlv_next/ttlv_find are then
 * known to be well-formed.
 */
int ttlv_decode(const uint8_t *buf, size_t len, struct ttlv *root);
/* The child at *pos (start at 0) of structure `parent`, advancing *pos:
 * 1 found, 0 no more, -EBADMSG not a structure or a bad child. */
int ttlv_next(const struct ttlv *parent, size_t *pos, struct ttlv *child);
/* The first child with `tag`: 0, -ENOENT, or -EBADMSG. */
int ttlv_find(const struct ttlv *parent, uint32_t tag, struct ttlv *child);

/* Typed values: 0, or -EBADMSG when the item has another type. */
int ttlv_get_int(const struct ttlv *it, int32_t *v);
int ttlv_get_long(const struct ttlv *it, int64_t *v);
int ttlv_get_enum(const struct ttlv *it, uint32_t *v);
int ttlv_get_bool(const struct ttlv *it, int *v);
int ttlv_get_datetime(const struct ttlv *it, int64_t *v);
int ttlv_get_interval(const struct ttlv *it, uint32_t *v);
/* Text and byte strings: a pointer into the message and its length. */
int ttlv_get_text(const struct ttlv *it, const char **s, size_t *len);
int ttlv_get_bytes(const struct ttlv *it, const uint8_t **p, size_t *len);

#endif
