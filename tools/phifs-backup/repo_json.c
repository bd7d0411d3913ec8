/*
 * repo_json.c: parsing and printing JSON for phifs-backup (config, key
 * objects, snapshots, trees, locks: docs/BACKUP_FORMAT.md). The one door to
 * json-c; input may come from untrusted storage, so depth and types are
 * checked and trailing bytes refused.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "repo_json.h"

int repo_json_parse(const void *buf, size_t len, struct json_object **out)
{
	struct json_tokener *tok = json_tokener_new_ex(32);
	struct json_object *o = NULL;
	int ret = -EBADMSG;

	*out = NULL;
	if (!tok)
		return -ENOMEM;
	if (len > (size_t)INT32_MAX)
		goto out;
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		goto out;
	}
	*out = o;
	ret = 0;
out:
	json_tokener_free(tok);
	return ret;
}

const char *repo_json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int repo_json_i64(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -EBADMSG;
	*out = json_object_get_int64(v);
	return 0;
}

const char *repo_json_text(struct json_object *o, size_t *len)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE);

	*len = strlen(s);
	return s;
}
