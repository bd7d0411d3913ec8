/*
 * ttlv.c: KMIP's Tag-Type-Length-Value encoding (KMIP 1.4 §9.1.1), nothing
 * more: it knows no operation or tag meaning (kmip_msg.c does).
 *
 * Every item is tag(3) ‖ type(1) ‖ length(4, big-endian) ‖ value, the value
 * zero-padded to a multiple of 8. The reader sees bytes from the network
 * before anything about them is authenticated, so ttlv_decode checks the whole
 * tree once — lengths inside their parents, fixed lengths per type, zero
 * padding, bounded depth — and keeps no state; it allocates nothing and never
 * copies a value (decrypted key bytes stay in the caller's buffer). Fuzzed by
 * tests/fuzz/fuzz-ttlv.c.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "ttlv.h"

static void be_put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t be_get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static size_t padded(size_t len)
{
	return (len + 7) & ~(size_t)7;
}

/* ---- writer ---- */

void ttlv_writer_init(struct ttlv_writer *w, uint8_t *buf, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->cap = cap;
}

/* Header then value then zero padding; the length field is `len`. */
static void put_item(struct ttlv_writer *w, uint32_t tag, uint8_t type, const void *val,
		     size_t len)
{
	size_t total;

	if (w->err)
		return;
	if (len > UINT32_MAX || tag > 0xffffff) {
		w->err = -EINVAL;
		return;
	}
	total = TTLV_HDR_LEN + padded(len);
	if (total > w->cap - w->len) {
		w->err = -EMSGSIZE;
		return;
	}
	be_put(w->buf + w->len, tag, 3);
	w->buf[w->len + 3] = type;
	be_put(w->buf + w->len + 4, len, 4);
	if (len)
		memcpy(w->buf + w->len + TTLV_HDR_LEN, val, len);
	memset(w->buf + w->len + TTLV_HDR_LEN + len, 0, padded(len) - len);
	w->len += total;
}

void ttlv_begin(struct ttlv_writer *w, uint32_t tag)
{
	if (!w->err && w->depth == TTLV_DEPTH_MAX)
		w->err = -EINVAL;
	if (w->err)
		return;
	w->open[w->depth] = w->len;
	put_item(w, tag, TTLV_STRUCT, NULL, 0);
	if (!w->err)
		w->depth++;
}

void ttlv_end(struct ttlv_writer *w)
{
	size_t start, len;

	if (!w->err && w->depth == 0)
		w->err = -EINVAL;
	if (w->err)
		return;
	start = w->open[--w->depth];
	len = w->len - start - TTLV_HDR_LEN;
	if (len > UINT32_MAX) {
		w->err = -EMSGSIZE;
		return;
	}
	be_put(w->buf + start + 4, len, 4);
}

static void put_be(struct ttlv_writer *w, uint32_t tag, uint8_t type, uint64_t v, unsigned n)
{
	uint8_t b[8];

	be_put(b, v, n);
	put_item(w, tag, type, b, n);
}

void ttlv_put_int(struct ttlv_writer *w, uint32_t tag, int32_t v)
{
	put_be(w, tag, TTLV_INT, (uint32_t)v, 4);
}

void ttlv_put_long(struct ttlv_writer *w, uint32_t tag, int64_t v)
{
	put_be(w, tag, TTLV_LONG, (uint64_t)v, 8);
}

void ttlv_put_enum(struct ttlv_writer *w, uint32_t tag, uint32_t v)
{
	put_be(w, tag, TTLV_ENUM, v, 4);
}

void ttlv_put_bool(struct ttlv_writer *w, uint32_t tag, int v)
{
	put_be(w, tag, TTLV_BOOL, v ? 1 : 0, 8);
}

void ttlv_put_text(struct ttlv_writer *w, uint32_t tag, const char *s, size_t len)
{
	put_item(w, tag, TTLV_TEXT, s, len);
}

void ttlv_put_bytes(struct ttlv_writer *w, uint32_t tag, const void *p, size_t len)
{
	put_item(w, tag, TTLV_BYTES, p, len);
}

void ttlv_put_datetime(struct ttlv_writer *w, uint32_t tag, int64_t unix_seconds)
{
	put_be(w, tag, TTLV_DATETIME, (uint64_t)unix_seconds, 8);
}

void ttlv_put_interval(struct ttlv_writer *w, uint32_t tag, uint32_t seconds)
{
	put_be(w, tag, TTLV_INTERVAL, seconds, 4);
}

int ttlv_finish(struct ttlv_writer *w, size_t *len)
{
	if (!w->err && w->depth)
		w->err = -EINVAL;
	if (w->err)
		return w->err;
	*len = w->len;
	return 0;
}

/* ---- reader ---- */

/* The value length each fixed-size type must have; 0 for variable ones. */
static uint32_t fixed_len(uint8_t type)
{
	switch (type) {
	case TTLV_INT:
	case TTLV_ENUM:
	case TTLV_INTERVAL:
		return 4;
	case TTLV_LONG:
	case TTLV_BOOL:
	case TTLV_DATETIME:
		return 8;
	default:
		return 0;
	}
}

/* One item header and its padded extent at buf[pos..len); no recursion. */
static int item_at(const uint8_t *buf, size_t len, size_t pos, struct ttlv *it, size_t *next)
{
	uint32_t want;
	size_t ext;

	if (len - pos < TTLV_HDR_LEN)
		return -EBADMSG;
	it->tag = (uint32_t)be_get(buf + pos, 3);
	it->type = buf[pos + 3];
	it->len = (uint32_t)be_get(buf + pos + 4, 4);
	it->val = buf + pos + TTLV_HDR_LEN;
	if (it->type < TTLV_STRUCT || it->type > TTLV_INTERVAL)
		return -EBADMSG;
	want = fixed_len(it->type);
	if (want && it->len != want)
		return -EBADMSG;
	if (it->type == TTLV_BIGINT && (it->len == 0 || it->len % 8))
		return -EBADMSG;
	if (it->type == TTLV_STRUCT && it->len % 8)
		return -EBADMSG;
	ext = padded(it->len);
	if (ext < it->len || ext > len - pos - TTLV_HDR_LEN)
		return -EBADMSG;
	for (size_t i = it->len; i < ext; i++)
		if (it->val[i])
			return -EBADMSG;
	if (it->type == TTLV_BOOL && be_get(it->val, 8) > 1)
		return -EBADMSG;
	*next = pos + TTLV_HDR_LEN + ext;
	return 0;
}

/* Depth-bounded recursion over a structure's children. */
static int check_tree(const struct ttlv *it, unsigned depth)
{
	size_t pos = 0, next = 0;
	struct ttlv child;
	int ret;

	if (it->type != TTLV_STRUCT)
		return 0;
	if (depth > TTLV_DEPTH_MAX)
		return -EBADMSG;
	while (pos < it->len) {
		ret = item_at(it->val, it->len, pos, &child, &next);
		if (!ret)
			ret = check_tree(&child, depth + 1);
		if (ret)
			return ret;
		pos = next;
	}
	return 0;
}

int ttlv_decode(const uint8_t *buf, size_t len, struct ttlv *root)
{
	size_t next = 0;
	int ret;

	if (!buf)
		return -EBADMSG;
	ret = item_at(buf, len, 0, root, &next);
	if (!ret && next != len)
		ret = -EBADMSG;
	if (!ret)
		ret = check_tree(root, 1);
	return ret;
}

int ttlv_next(const struct ttlv *parent, size_t *pos, struct ttlv *child)
{
	size_t next = 0;
	int ret;

	if (parent->type != TTLV_STRUCT)
		return -EBADMSG;
	if (*pos >= parent->len)
		return 0;
	ret = item_at(parent->val, parent->len, *pos, child, &next);
	if (ret)
		return ret;
	*pos = next;
	return 1;
}

int ttlv_find(const struct ttlv *parent, uint32_t tag, struct ttlv *child)
{
	size_t pos = 0;
	int ret;

	while ((ret = ttlv_next(parent, &pos, child)) == 1)
		if (child->tag == tag)
			return 0;
	return ret ? ret : -ENOENT;
}

static int get_be(const struct ttlv *it, uint8_t type, uint64_t *v)
{
	if (it->type != type)
		return -EBADMSG;
	*v = be_get(it->val, fixed_len(type));
	return 0;
}

int ttlv_get_int(const struct ttlv *it, int32_t *v)
{
	uint64_t u = 0;
	int ret = get_be(it, TTLV_INT, &u);

	*v = (int32_t)(uint32_t)u;
	return ret;
}

int ttlv_get_long(const struct ttlv *it, int64_t *v)
{
	uint64_t u = 0;
	int ret = get_be(it, TTLV_LONG, &u);

	*v = (int64_t)u;
	return ret;
}

int ttlv_get_enum(const struct ttlv *it, uint32_t *v)
{
	uint64_t u = 0;
	int ret = get_be(it, TTLV_ENUM, &u);

	*v = (uint32_t)u;
	return ret;
}

int ttlv_get_bool(const struct ttlv *it, int *v)
{
	uint64_t u = 0;
	int ret = get_be(it, TTLV_BOOL, &u);

	*v = u != 0;
	return ret;
}

int ttlv_get_datetime(const struct ttlv *it, int64_t *v)
{
	uint64_t u = 0;
	int ret = get_be(it, TTLV_DATETIME, &u);

	*v = (int64_t)u;
	return ret;
}

int ttlv_get_interval(const struct ttlv *it, uint32_t *v)
{
	uint64_t u = 0;
	int ret = get_be(it, TTLV_INTERVAL, &u);

	*v = (uint32_t)u;
	return ret;
}

int ttlv_get_text(const struct ttlv *it, const char **s, size_t *len)
{
	if (it->type != TTLV_TEXT)
		return -EBADMSG;
	*s = (const char *)it->val;
	*len = it->len;
	return 0;
}

int ttlv_get_bytes(const struct ttlv *it, const uint8_t **p, size_t *len)
{
	if (it->type != TTLV_BYTES)
		return -EBADMSG;
	*p = it->val;
	*len = it->len;
	return 0;
}
