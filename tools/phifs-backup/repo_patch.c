/*
 * repo_patch.c: the blob references of a file entry (docs/BACKUP_FORMAT.md
 * §6.3, §9.1): the base chunk list "c" and the patches "pa" that overlay
 * it, `[[offset, length, "hex id"], ...]`. Parsing is strict (sorted, not
 * overlapping, inside the file) so that restore, check and prune all agree
 * on what a tree references, and a malformed tree is refused, never half
 * applied.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "repo_json.h"
#include "repo_patch.h"
#include "repo_util.h"

static int patch_one(struct json_object *t, struct repo_patch *p)
{
	struct json_object *o, *l, *h;
	const char *hex;
	int64_t off, len;

	if (!json_object_is_type(t, json_type_array) || json_object_array_length(t) != 3)
		return -EBADMSG;
	o = json_object_array_get_idx(t, 0);
	l = json_object_array_get_idx(t, 1);
	h = json_object_array_get_idx(t, 2);
	if (!json_object_is_type(o, json_type_int) || !json_object_is_type(l, json_type_int) ||
	    !json_object_is_type(h, json_type_string))
		return -EBADMSG;
	off = json_object_get_int64(o);
	len = json_object_get_int64(l);
	hex = json_object_get_string(h);
	if (off < 0 || len <= 0 || len > UINT32_MAX || repo_unhex(hex, p->id, 32))
		return -EBADMSG;
	p->off = (uint64_t)off;
	p->len = (uint32_t)len;
	return 0;
}

int repo_patch_parse(struct json_object *e, uint64_t sz, struct repo_patch **out, size_t *n)
{
	struct json_object *pa;
	struct repo_patch *v = NULL;
	size_t cnt;
	int ret = 0;

	*out = NULL;
	*n = 0;
	if (!json_object_object_get_ex(e, "pa", &pa))
		return 0;
	if (!json_object_is_type(pa, json_type_array) || !(cnt = json_object_array_length(pa)))
		return -EBADMSG;
	v = calloc(cnt, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; !ret && i < cnt; i++) {
		ret = patch_one(json_object_array_get_idx(pa, i), &v[i]);
		if (!ret && (v[i].off + v[i].len > sz ||
			     (i > 0 && v[i].off < v[i - 1].off + v[i - 1].len)))
			ret = -EBADMSG;
	}
	if (ret) {
		free(v);
		return ret;
	}
	*out = v;
	*n = cnt;
	return 0;
}

struct json_object *repo_patch_json(const struct repo_patch *pa, size_t n)
{
	struct json_object *a = json_object_new_array_ext((int)n);
	char hex[65];

	for (size_t i = 0; i < n; i++) {
		struct json_object *t = json_object_new_array_ext(3);

		repo_hex(pa[i].id, 32, hex);
		json_object_array_add(t, json_object_new_int64((int64_t)pa[i].off));
		json_object_array_add(t, json_object_new_int64(pa[i].len));
		json_object_array_add(t, json_object_new_string(hex));
		json_object_array_add(a, t);
	}
	return a;
}

int repo_patch_each_blob(struct json_object *e, int (*fn)(void *arg, const uint8_t id[32]),
			 void *arg)
{
	struct json_object *c, *pa;
	struct repo_patch p;
	int ret = 0;

	if (json_object_object_get_ex(e, "c", &c)) {
		if (!json_object_is_type(c, json_type_array))
			return -EBADMSG;
		for (size_t i = 0; !ret && i < json_object_array_length(c); i++) {
			const char *hex = json_object_get_string(json_object_array_get_idx(c, i));
			uint8_t id[32];

			ret = hex && !repo_unhex(hex, id, 32) ? fn(arg, id) : -EBADMSG;
		}
	}
	if (!ret && json_object_object_get_ex(e, "pa", &pa)) {
		if (!json_object_is_type(pa, json_type_array))
			return -EBADMSG;
		for (size_t i = 0; !ret && i < json_object_array_length(pa); i++) {
			ret = patch_one(json_object_array_get_idx(pa, i), &p);
			if (!ret)
				ret = fn(arg, p.id);
		}
	}
	return ret;
}
