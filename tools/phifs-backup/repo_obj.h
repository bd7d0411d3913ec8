/* repo_obj.h: sealed objects of a backup repository (repo_obj.c,
 * docs/BACKUP_FORMAT.md §5). */
#ifndef PHIFS_BACKUP_REPO_OBJ_H
#define PHIFS_BACKUP_REPO_OBJ_H

#include <stddef.h>
#include <stdint.h>

#define REPO_OBJ_MAGIC "PHBO"
#define REPO_OBJ_VERSION 1
#define REPO_OBJ_PREFIX 8                  /* magic, version, type, flags, reserved */
#define REPO_OBJ_NONCE 12
#define REPO_OBJ_TAG 16
#define REPO_OBJ_OVERHEAD (REPO_OBJ_PREFIX + REPO_OBJ_NONCE + REPO_OBJ_TAG)
#define REPO_OBJ_FLAG_ZSTD 0x1u
#define REPO_OBJ_MAX_PAYLOAD ((size_t)1 << 30)   /* decoded bytes (§5) */
#define REPO_ID_LEN 32                      /* blob and object ids: 32 bytes */

enum repo_obj_type {
	REPO_T_DATA = 1,
	REPO_T_TREE = 2,
	REPO_T_INDEX = 3,
	REPO_T_SNAPSHOT = 4,
	REPO_T_PACKHDR = 5,
};

/* Compression (zstd level 1): REPO_Z_NONE, REPO_Z_ALWAYS (trees, indexes,
 * snapshots) or REPO_Z_IF_WORTH (kept only when it saves 1/8). */
enum repo_obj_z { REPO_Z_NONE, REPO_Z_ALWAYS, REPO_Z_IF_WORTH };

/* Seals pt into a malloc'd object (*out, *out_len). id: the blob id bound in
 * the AAD (types 1 and 2), else NULL. 0 or -errno. */
int repo_obj_seal(const uint8_t key[32], uint8_t type, const uint8_t *id, const void *pt,
		  size_t len, enum repo_obj_z z, uint8_t **out, size_t *out_len);
/* Opens an object of the expected type into a malloc'd payload (*pt, *pt_len;
 * *pt is never NULL on success). -EBADMSG: malformed, wrong type, bad tag or
 * bad compression; -EPROTO: unknown version; -EFBIG: payload over the limit. */
int repo_obj_open(const uint8_t key[32], uint8_t type, const uint8_t *id, const uint8_t *in,
		  size_t len, uint8_t **pt, size_t *pt_len);

#endif
