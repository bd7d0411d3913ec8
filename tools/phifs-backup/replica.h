/* replica.h: a repository's objects as a replica sees them (replica.c;
 * docs/BACKUP_FORMAT.md §12). */
#ifndef PHIFS_BACKUP_REPLICA_H
#define PHIFS_BACKUP_REPLICA_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "repo.h"

#define REPLICA_PREFIX "replica/"   /* where manifests live, in the replica */

/* The classes of objects sync copies, in the safe order (§12.1):
 * config, keys/, data/, index/, snapshots/ last. locks/ and replica/ are
 * never copied. */
extern const char *const replica_classes[];
#define REPLICA_NCLASSES 5

struct replica_obj {
	char name[128];
	uint64_t size;
	uint8_t sha256[32];   /* from the name (content-named), or computed (config) */
};

struct replica_list {
	struct replica_obj *v;
	size_t n, cap;
};

/* Every object of one class (config: the one object, if present) → l,
 * sorted by name. 0 or -errno from the backend. */
int replica_list_class(struct backend *be, int cls, struct replica_list *l);
/* All classes. */
int replica_list_all(struct backend *be, struct replica_list *l);
int replica_list_push(struct replica_list *l, const struct replica_obj *o);
const struct replica_obj *replica_list_find(const struct replica_list *l, const char *name);
void replica_list_free(struct replica_list *l);
/* The SHA-256 an object's bytes must have, read from its name; -ENOENT for
 * names that are not content-addressed (config). */
int replica_name_hash(const char *name, uint8_t out[32]);
/* 0 when buf hashes to the name's hash (or the name is not content-named). */
int replica_check_bytes(const char *name, const void *buf, size_t len);

/* The signed manifest (§12.2): encode (malloc'd text, MAC'd with repo_mac),
 * parse and verify (-EBADMSG on a bad MAC or syntax). */
int replica_manifest_encode(const struct repo *r, const struct replica_list *l, int64_t now,
			    char **out, size_t *len);
int replica_manifest_parse(const struct repo *r, const char *buf, size_t len,
			   struct replica_list *l, int64_t *created);
/* Stores a manifest as replica/<sha256> and deletes older ones. */
int replica_manifest_store(struct backend *be, const char *buf, size_t len);
/* The newest stored manifest (by its created time), malloc'd; -ENOENT. */
int replica_manifest_load(const struct repo *r, struct backend *be, struct replica_list *l,
			  int64_t *created);

/* Prints o as one JSON line on stdout (the --json output) and releases it. */
struct json_object;
void replica_json_line(struct json_object *o);

#endif
