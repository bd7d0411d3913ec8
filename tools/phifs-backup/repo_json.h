/* repo_json.h: the one door to json-c for phifs-backup (repo_json.c). */
#ifndef PHIFS_BACKUP_REPO_JSON_H
#define PHIFS_BACKUP_REPO_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

/* Parses exactly len bytes as one JSON object: 0 or -EBADMSG. */
int repo_json_parse(const void *buf, size_t len, struct json_object **out);
/* A string member, or NULL when absent or not a string. */
const char *repo_json_str(struct json_object *o, const char *key);
/* An integer member: 0, or -EBADMSG when absent or not an integer. */
int repo_json_i64(struct json_object *o, const char *key, int64_t *v);
/* Plain one-line text of o (owned by o). */
const char *repo_json_text(struct json_object *o, size_t *len);

#endif
