/*
 * repo_snap.c: snapshot objects (docs/BACKUP_FORMAT.md §9.2) — listing,
 * choosing by id prefix or "latest", writing — and walking a snapshot's
 * tree (§9.1). It does not decide what to keep (repo_policy.c) or restore.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repo_obj.h"
#include "repo_snap.h"
#include "repo_util.h"

struct list {
	struct repo *r;
	struct repo_snap *s;
	size_t n, cap;
	int bad;
};

static int snap_parse(struct repo *r, const char *name, struct repo_snap *s)
{
	uint8_t *raw = NULL, *pt = NULL;
	size_t len, ptlen;
	const char *tree;
	char want[100];
	struct json_object *v;
	int ret;

	ret = backend_get(r->be, name, &raw, &len);
	if (!ret)
		ret = repo_obj_id(raw, len, s->id);
	repo_obj_name("snapshots", s->id, want, sizeof(want));
	if (!ret && strcmp(want, name))
		ret = -EBADMSG;
	if (!ret)
		ret = repo_obj_open(r->keys->encrypt, REPO_T_SNAPSHOT, NULL, raw, len, &pt, &ptlen);
	if (!ret)
		ret = repo_json_parse(pt, ptlen, &s->json);
	if (!ret) {
		tree = repo_json_str(s->json, "tree");
		if (repo_json_i64(s->json, "time", &s->time) || !tree || repo_unhex(tree, s->tree, 32))
			ret = -EBADMSG;
		if (repo_json_i64(s->json, "created_ns", &s->created_ns))
			s->created_ns = 0;
		s->partial = json_object_object_get_ex(s->json, "partial", &v) &&
			     json_object_get_boolean(v);
	}
	repo_hex(s->id, 32, s->id_hex);
	free(pt);
	free(raw);
	return ret;
}

static int list_one(void *arg, const char *name, uint64_t size)
{
	struct list *l = arg;
	int ret;

	(void)size;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct repo_snap *ns = realloc(l->s, cap * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		l->s = ns;
		l->cap = cap;
	}
	memset(&l->s[l->n], 0, sizeof(l->s[l->n]));
	ret = snap_parse(l->r, name, &l->s[l->n]);
	if (ret) {
		fprintf(stderr, "phifs-backup: snapshot object %s: %s\n", name, strerror(-ret));
		json_object_put(l->s[l->n].json);
		l->bad++;
		return 0;
	}
	l->n++;
	return 0;
}

static int by_time(const void *a, const void *b)
{
	const struct repo_snap *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if (x->created_ns != y->created_ns)
		return x->created_ns < y->created_ns ? -1 : 1;
	return memcmp(x->id, y->id, 32);
}

int repo_snap_list(struct repo *r, struct repo_snap **out, size_t *n, int *bad)
{
	struct list l = { r, NULL, 0, 0, 0 };
	int ret = backend_list(r->be, "snapshots/", list_one, &l);

	if (ret) {
		repo_snap_free(l.s, l.n);
		return ret;
	}
	if (l.n)
		qsort(l.s, l.n, sizeof(*l.s), by_time);
	*out = l.s;
	*n = l.n;
	if (bad)
		*bad = l.bad;
	return 0;
}

void repo_snap_free(struct repo_snap *s, size_t n)
{
	if (!s)
		return;
	for (size_t i = 0; i < n; i++)
		json_object_put(s[i].json);
	free(s);
}

int repo_snap_find(struct repo_snap *s, size_t n, const char *ref, struct repo_snap **out)
{
	size_t len = strlen(ref);

	*out = NULL;
	if (!strcmp(ref, "latest")) {
		if (!n)
			return -ENOENT;
		*out = &s[n - 1];
		return 0;
	}
	if (len < 8 || len > 64)
		return -ENOENT;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(s[i].id_hex, ref, len))
			continue;
		if (*out)
			return -EINVAL;
		*out = &s[i];
	}
	return *out ? 0 : -ENOENT;
}

void repo_snap_name(const struct repo_snap *s, char *out, size_t cap)
{
	repo_obj_name("snapshots", s->id, out, cap);
}

int repo_snap_write(struct repo *r, struct json_object *o, uint8_t id[32])
{
	size_t len;
	const char *text = repo_json_text(o, &len);

	return repo_put_sealed(r, REPO_T_SNAPSHOT, "snapshots", text, len, id);
}

int repo_tree_each(struct repo *r, const struct repo_index *ix, const uint8_t tree[32],
		   int (*cb)(void *arg, struct json_object *e), void *arg)
{
	uint8_t *buf = NULL;
	size_t len = 0, pos = 0;
	int ret;

	ret = repo_blob_read(r, ix, tree, &buf, &len);
	while (!ret && pos < len) {
		uint8_t *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		struct json_object *e = NULL;

		ret = repo_json_parse(buf + pos, end - pos, &e);
		if (!ret)
			ret = cb(arg, e);
		json_object_put(e);
		pos = end + 1;
	}
	free(buf);
	return ret;
}
