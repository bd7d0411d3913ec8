/*
 * repo_ptree.c: the parent snapshot's tree (docs/BACKUP_FORMAT.md §9.1) as
 * an incremental backup needs it (§7 step 3): which line belongs to a path,
 * and for a file the few keys that say whether it is unchanged. An
 * incremental backup of a large, quiet tree keeps almost every entry as it
 * was, and building and freeing a json-c object per entry, only to print
 * most of them again, was most of its CPU (docs/PERFORMANCE.md "Backups").
 * So the tree stays one block of text: the lines are indexed by path (sorted,
 * binary search), a file's line is scanned for its keys here, and the backup
 * copies an unchanged file's line whole — with every key it has, known here
 * or not. Only a line that is needed in full (a changed file's parent entry)
 * goes through json-c (repo_json.c). The scanner is strict JSON; anything of
 * an unusual shape (escapes in a key, a float, a key twice) is not decided
 * here: the caller treats the file as changed, which is always correct.
 * It does not decide what "unchanged" means (cmd_backup.c does).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "repo_json.h"
#include "repo_ptree.h"
#include "repo_util.h"

#define SCAN_DEPTH 32              /* nesting of a value, as repo_json_parse allows */
#define ID_HEX 64                  /* digits of a chunk id */

struct ptree_ent {
	const char *path;              /* in text, or owned (an escaped path, decoded) */
	size_t plen;
	const char *line;              /* in text, without the newline */
	size_t len;
	size_t seq;                    /* line number: the later of two equal paths wins */
	char *owned;
};

struct ptree {
	char *text;
	struct ptree_ent *v;           /* sorted by path */
	size_t n;
};

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* A string at *pp: its bytes between the quotes in s/n; *esc when it holds
 * an escape (then s is the raw, undecoded text). */
static int scan_str(const char **pp, const char *end, const char **s, size_t *n, int *esc)
{
	const char *p = *pp;

	if (p >= end || *p != '"')
		return -EBADMSG;
	*s = ++p;
	*esc = 0;
	for (; p < end && *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return -EBADMSG;
		if (*p != '\\')
			continue;
		*esc = 1;
		if (++p >= end || !strchr("\"\\/bfnrtu", *p))
			return -EBADMSG;
		for (int i = 0; *p == 'u' && i < 4; i++)
			if (++p >= end || !strchr("0123456789abcdefABCDEF", *p))
				return -EBADMSG;
	}
	if (p >= end)
		return -EBADMSG;
	*n = (size_t)(p - *s);
	*pp = p + 1;
	return 0;
}

static const char *skip_digits(const char *p, const char *end)
{
	while (p < end && is_digit(*p))
		p++;
	return p;
}

/* A JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int skip_number(const char **pp, const char *end)
{
	const char *p = *pp, *q;

	p += p < end && *p == '-';
	if (p >= end || !is_digit(*p))
		return -EBADMSG;
	p = *p == '0' ? p + 1 : skip_digits(p, end);
	if (p < end && *p == '.') {
		q = ++p;
		if ((p = skip_digits(p, end)) == q)
			return -EBADMSG;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		p += p < end && (*p == '+' || *p == '-');
		q = p;
		if ((p = skip_digits(p, end)) == q)
			return -EBADMSG;
	}
	*pp = p;
	return 0;
}

static int skip_value(const char **pp, const char *end, int depth);

/* The members or elements of an object or array at *pp, up to its close. */
static int skip_container(const char **pp, const char *end, int depth)
{
	const char *p = *pp, *s;
	char close = *p == '[' ? ']' : '}';
	size_t n;
	int esc, ret;

	p = skip_ws(p + 1, end);
	if (p < end && *p == close) {
		*pp = p + 1;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if ((ret = scan_str(&p, end, &s, &n, &esc)))
				return ret;
			p = skip_ws(p, end);
			if (p >= end || *p != ':')
				return -EBADMSG;
			p++;
		}
		if ((ret = skip_value(&p, end, depth + 1)))
			return ret;
		p = skip_ws(p, end);
		if (p < end && *p == close)
			break;
		if (p >= end || *p != ',')
			return -EBADMSG;
		p = skip_ws(p + 1, end);
	}
	*pp = p + 1;
	return 0;
}

static int skip_value(const char **pp, const char *end, int depth)
{
	static const char *const lit[] = { "true", "false", "null" };
	const char *p = skip_ws(*pp, end), *s;
	size_t n;
	int esc;

	if (p >= end || depth > SCAN_DEPTH)
		return -EBADMSG;
	if (*p == '"') {
		if (scan_str(&p, end, &s, &n, &esc))
			return -EBADMSG;
		*pp = p;
		return 0;
	}
	if (*p == '[' || *p == '{') {
		*pp = p;
		return skip_container(pp, end, depth);
	}
	for (size_t i = 0; i < 3; i++) {
		n = strlen(lit[i]);
		if ((size_t)(end - p) >= n && !memcmp(p, lit[i], n)) {
			*pp = p + n;
			return 0;
		}
	}
	*pp = p;
	return skip_number(pp, end);
}

/* An integer json-c reads as one (no fraction, no exponent, fits int64). */
static int scan_int(const char **pp, const char *end, int64_t *v)
{
	const char *p = *pp, *start;
	uint64_t x = 0;
	int neg = p < end && *p == '-';

	start = p += neg;
	if (skip_number(pp, end) || *pp - start > 19)
		return -EBADMSG;
	for (; p < *pp; p++) {
		if (!is_digit(*p))
			return -EBADMSG;
		x = x * 10 + (uint64_t)(*p - '0');
	}
	if (x > (uint64_t)INT64_MAX + (uint64_t)neg)
		return -EBADMSG;
	*v = !neg ? (int64_t)x : x ? -(int64_t)(x - 1) - 1 : 0;
	return 0;
}

/* Calls each(key, n, esc, &p, end, arg) for every member of the one object
 * that is the whole line; each consumes the value. */
typedef int (*member_fn)(const char *key, size_t n, int esc, const char **pp, const char *end,
			 void *arg);

static int scan_members(const char *line, size_t len, member_fn each, void *arg)
{
	const char *end = line + len, *p = skip_ws(line, end), *key;
	size_t n;
	int esc, ret;

	if (p >= end || *p != '{')
		return -EBADMSG;
	p = skip_ws(p + 1, end);
	if (p < end && *p == '}')
		return skip_ws(p + 1, end) == end ? 0 : -EBADMSG;
	for (;;) {
		if ((ret = scan_str(&p, end, &key, &n, &esc)))
			return ret;
		p = skip_ws(p, end);
		if (p >= end || *p != ':')
			return -EBADMSG;
		p = skip_ws(p + 1, end);
		if ((ret = each(key, n, esc, &p, end, arg)))
			return ret;
		p = skip_ws(p, end);
		if (p < end && *p == '}')
			break;
		if (p >= end || *p != ',')
			return -EBADMSG;
		p = skip_ws(p + 1, end);
	}
	return skip_ws(p + 1, end) == end ? 0 : -EBADMSG;
}

static int key_is(const char *key, size_t n, const char *want)
{
	return strlen(want) == n && !memcmp(key, want, n);
}

struct path_scan {
	const char *s;
	size_t n;
	int found, esc;
};

static int path_member(const char *key, size_t n, int esc, const char **pp, const char *end,
		       void *arg)
{
	struct path_scan *ps = arg;

	if (esc || !key_is(key, n, "p"))
		return skip_value(pp, end, 1);
	if (ps->found++)
		return -EBADMSG;               /* twice: json-c decides */
	return scan_str(pp, end, &ps->s, &ps->n, &ps->esc);
}

/* The path of a line: in the text when the scanner can read it plainly,
 * else decoded by json-c. 0, -ENOENT for a line without a path (skipped,
 * as before), -EBADMSG for a line that is not JSON. */
static int line_path(struct ptree_ent *e)
{
	struct path_scan ps = { 0 };
	struct json_object *o = NULL;
	const char *p;
	int ret = scan_members(e->line, e->len, path_member, &ps);

	if (!ret && ps.found && !ps.esc) {
		e->path = ps.s;
		e->plen = ps.n;
		return 0;
	}
	ret = repo_json_parse(e->line, e->len, &o);
	if (!ret && !(p = repo_json_str(o, "p")))
		ret = -ENOENT;
	if (!ret && !(e->owned = strdup(p)))
		ret = -ENOMEM;
	if (!ret) {
		e->path = e->owned;
		e->plen = strlen(p);
	}
	json_object_put(o);
	return ret;
}

static int path_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	return c ? c : (an > bn) - (an < bn);
}

static int by_path(const void *x, const void *y)
{
	const struct ptree_ent *a = x, *b = y;
	int c = path_cmp(a->path, a->plen, b->path, b->plen);

	return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

/* Sorted, and of equal paths only the last line kept (json-c's rule for
 * the object the tree used to be loaded into). */
static void sort_unique(struct ptree *t)
{
	size_t w = 0;

	if (t->n)
		qsort(t->v, t->n, sizeof(*t->v), by_path);
	for (size_t i = 0; i < t->n; i++) {
		if (i + 1 < t->n && !path_cmp(t->v[i].path, t->v[i].plen, t->v[i + 1].path, t->v[i + 1].plen)) {
			free(t->v[i].owned);
			continue;
		}
		t->v[w++] = t->v[i];
	}
	t->n = w;
}

static size_t count_lines(const char *text, size_t len)
{
	size_t n = 0;

	for (const char *p = text, *end = text + len; p < end; n++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		p = nl ? nl + 1 : end;
	}
	return n;
}

int ptree_from_text(char *text, size_t len, struct ptree **out)
{
	struct ptree *t = calloc(1, sizeof(*t));
	size_t cap = count_lines(text, len), pos = 0;
	int ret = 0;

	*out = NULL;
	if (!t || !(t->v = calloc(cap ? cap : 1, sizeof(*t->v)))) {
		free(text);
		free(t);
		return -ENOMEM;
	}
	t->text = text;
	for (size_t seq = 0; !ret && pos < len; seq++) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		struct ptree_ent *e = &t->v[t->n];

		*e = (struct ptree_ent){ .line = text + pos, .len = end - pos, .seq = seq };
		ret = line_path(e);
		if (!ret)
			t->n++;
		else if (ret == -ENOENT)
			ret = 0;
		pos = end + 1;
	}
	if (ret) {
		ptree_free(t);
		return ret;
	}
	sort_unique(t);
	*out = t;
	return 0;
}

int ptree_load(struct repo *r, const struct repo_index *ix, const uint8_t tree[32],
	       struct ptree **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret = repo_blob_read(r, ix, tree, &buf, &len);

	*out = NULL;
	return ret ? ret : ptree_from_text((char *)buf, len, out);
}

void ptree_free(struct ptree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].owned);
	free(t->v);
	free(t->text);
	free(t);
}

static const struct ptree_ent *find(const struct ptree *t, const char *path)
{
	size_t lo = 0, hi = t ? t->n : 0, n = strlen(path);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = path_cmp(t->v[mid].path, t->v[mid].plen, path, n);

		if (!c)
			return &t->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *ptree_line(const struct ptree *t, const char *path, size_t *len)
{
	const struct ptree_ent *e = find(t, path);

	*len = e ? e->len : 0;
	return e ? e->line : NULL;
}

struct json_object *ptree_entry(const struct ptree *t, const char *path)
{
	const struct ptree_ent *e = find(t, path);
	struct json_object *o = NULL;

	if (e && repo_json_parse(e->line, e->len, &o))
		o = NULL;
	return o;
}

struct file_scan {
	struct ptree_file *f;
	unsigned seen;                 /* bit i: key i of keys[] */
};

static int file_member(const char *key, size_t n, int esc, const char **pp, const char *end,
		       void *arg)
{
	static const char *const keys[] = { "m", "u", "g", "mt", "ct", "ino", "sz", "t", "c" };
	struct file_scan *fs = arg;
	int64_t *ints[] = { &fs->f->m, &fs->f->u, &fs->f->g, &fs->f->mt, &fs->f->ct,
			    &fs->f->ino, &fs->f->sz };
	const char *s, *start = *pp;
	size_t i = 0, sn;
	int sesc, ret;

	if (esc)
		return -EBADMSG;               /* a key json-c would decode: not decided here */
	while (i < sizeof(keys) / sizeof(keys[0]) && !key_is(key, n, keys[i]))
		i++;
	if (i == sizeof(keys) / sizeof(keys[0])) {
		fs->f->pa |= key_is(key, n, "pa");
		return skip_value(pp, end, 1);
	}
	if (fs->seen & (1u << i))
		return -EBADMSG;
	fs->seen |= 1u << i;
	if (i < 7)
		return scan_int(pp, end, ints[i]);
	if (i == 7) {
		ret = scan_str(pp, end, &s, &sn, &sesc);
		return ret ? ret : sesc || sn != 1 || *s != 'f' ? -EBADMSG : 0;
	}
	if (start >= end || *start != '[')
		return -EBADMSG;
	ret = skip_value(pp, end, 1);
	fs->f->c = start;
	fs->f->c_len = (size_t)(*pp - start);
	return ret;
}

int ptree_scan_file(const char *line, size_t len, struct ptree_file *out)
{
	struct file_scan fs = { .f = out };
	int ret;

	memset(out, 0, sizeof(*out));
	ret = scan_members(line, len, file_member, &fs);
	return !ret && fs.seen == 0x1ff ? 0 : -EBADMSG;
}

int ptree_chunks_indexed(const struct ptree_file *f, const struct repo_index *ix)
{
	const char *p = skip_ws(f->c + 1, f->c + f->c_len), *end = f->c + f->c_len, *s;
	char hex[ID_HEX + 1];
	uint8_t id[32];
	size_t n;
	int esc;

	while (p < end && *p != ']') {
		if (scan_str(&p, end, &s, &n, &esc) || esc || n != ID_HEX)
			return 0;
		memcpy(hex, s, ID_HEX);
		hex[ID_HEX] = '\0';
		if (repo_unhex(hex, id, 32) || !repo_index_find(ix, id))
			return 0;
		p = skip_ws(p, end);
		p = skip_ws(p + (p < end && *p == ','), end);
	}
	return 1;
}
