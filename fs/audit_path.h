/*
 * audit_path.h: path references in audit records, audit_paths=none|hmac|
 * encrypted|plain (see audit_path.c). Spec: docs/OPERATIONS.md "Audit",
 * docs/FORMAT.md §2.1 (the two audit purpose keys).
 */
#ifndef PHIFS_AUDIT_PATH_H
#define PHIFS_AUDIT_PATH_H

#include <stddef.h>
#include <stdint.h>
#include "format.h"

struct json_object;
struct audit_line;
struct inode;
struct volume;
struct audit_paths;

enum audit_paths_mode {
	AUDIT_PATHS_NONE,
	AUDIT_PATHS_HMAC,        /* default: keyed hash, matchable by whoever holds the key */
	AUDIT_PATHS_ENCRYPTED,   /* AES-256-GCM, phifs-audit decrypts with the volume key */
	AUDIT_PATHS_PLAIN,       /* opt-in: the plaintext path (PHI!) */
};

/* "none", "hmac", "encrypted", "plain" → *mode; -EINVAL otherwise. */
int audit_paths_parse(const char *s, enum audit_paths_mode *mode);
const char *audit_paths_name(enum audit_paths_mode mode);

/* Copies the volume's audit keys (they outlive a `phifs lock` eviction) and
 * the cipher dir's root; NULL-safe free wipes them. */
int audit_paths_new(enum audit_paths_mode mode, const struct volume *vol,
		    struct audit_paths **out);
void audit_paths_free(struct audit_paths *p);
enum audit_paths_mode audit_paths_mode_of(const struct audit_paths *p);

/* Plaintext path ("/a/b") of `name` in directory `dir`, or of `dir` itself
 * (a file or directory) when name is NULL. -ENOENT when it cannot be known
 * (deleted, keys evicted). Memory only: never logged. */
/* A rename went through: cached inode paths are stale. */
void audit_paths_moved(void);
/* The header file id of regular file ino, seen by a record (create, open):
 * remembered until audit_paths_forget(ino). */
void audit_paths_note_id(struct audit_paths *p, uint64_t ino, const uint8_t id[FORMAT_ID_LEN]);
/* That id, or -ENOENT. */
int audit_paths_id_of(struct audit_paths *p, uint64_t ino, uint8_t id[FORMAT_ID_LEN]);
/* An unlink or rmdir removed an entry of backing inode ino: its cached path
 * is stale (ino 0, unknown: as audit_paths_moved). */
void audit_paths_forget(uint64_t ino);
int audit_path_of(struct audit_paths *p, struct inode *dir, const char *name, char *out,
		  size_t cap);
/* The same for an entry (dir, name) whose inode is child (may be NULL): the
 * path is also remembered as child's, for its later records. */
int audit_path_of_entry(struct audit_paths *p, struct inode *dir, const char *name,
			struct inode *child, char *out, size_t cap);
/* {"hmac":..} / {"enc":..} / {"plain":..} of a plaintext string (a path or an
 * xattr name), written into l: 0, or -errno with nothing written (-ENOENT:
 * references are off). */
int audit_path_ref_write(struct audit_paths *p, const char *plain, struct audit_line *l);
/* The same as a json-c object; NULL for none or on failure. */
struct json_object *audit_path_ref(struct audit_paths *p, const char *plain);

/* The reverse of "enc" (phifs-audit): key = keys_audit_enc_key(). */
int audit_path_decrypt(const uint8_t key[32], const uint8_t volume_id[FORMAT_ID_LEN],
		       const char *b64, char *out, size_t cap);

#endif
