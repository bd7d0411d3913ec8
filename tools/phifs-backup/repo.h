/*
 * repo.h: a backup repository opened with its key (repo.c; the format is
 * docs/BACKUP_FORMAT.md §3, §4). This is the internal API other phifs-backup
 * commands (sync, verify-replica) use:
 *
 *   struct repo *r;
 *   ret = repo_open(url, &r);            // config + unwrapped key, or -errno
 *   repo_mac(r, data, len, mac);         // HMAC-SHA256 under the "mac" key
 *   r->be                                // the backend (backend.h)
 *   repo_close(r);                       // wipes the keys
 *
 * repo_open errors: -ENOENT not a repository (no config), -EPROTO
 * unsupported version, -EBADMSG config malformed or its MAC wrong, -ENOKEY
 * no key object / KMS unusable, -EKEYREJECTED no key object unwraps, -EACCES
 * store refused, -EIO store failure.
 */
#ifndef PHIFS_BACKUP_REPO_H
#define PHIFS_BACKUP_REPO_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"

#define REPO_VERSION 2                  /* written by init (§3, §11) */
#define REPO_VERSION_MIN 1              /* oldest one opened */
#define REPO_VERSION_PATCHES 2          /* trees may hold patches (§6.3) */
#define REPO_KEY_VERSION 1              /* of keys/ objects (§4) */
#define REPO_ID_BYTES 16
#define REPO_KEY_LEN 32
#define REPO_MAC_LEN 32
#define REPO_CHUNK_MAX 1048576u               /* bytes (§3) */
#define REPO_PACK_SIZE (16u * 1048576u)       /* bytes (§3) */
#define REPO_DEFAULT_MIN_RETENTION ((int64_t)6 * 365 * 86400)  /* §10.2 */

struct repo_config {
	int version;                     /* REPO_VERSION_MIN..REPO_VERSION */
	uint8_t id[REPO_ID_BYTES];
	char id_hex[2 * REPO_ID_BYTES + 1];
	int64_t created;                 /* Unix seconds */
	char kms[1025];                  /* KMS URI of the repository key */
	int64_t min_retention;           /* seconds; 0 = no floor */
	uint32_t chunk_max;              /* bytes */
	uint32_t pack_size;              /* bytes */
};

/* Derived keys (§4.1), in one secmem buffer. */
struct repo_keys {
	uint8_t encrypt[32];
	uint8_t chunk_id[32];
	uint8_t config_mac[32];
	uint8_t mac[32];
};

struct repo {
	struct backend *be;
	struct repo_config cfg;
	struct repo_keys *keys;          /* secmem; NULL until unwrapped */
	char kek_id[128];                /* the KMS key that unwrapped it (for messages) */
};

/* init: a new repository at url (empty directory or bucket), its key made
 * and wrapped by kms_uri (a local key file is created if absent). err gets an
 * operator message. -EEXIST if a config is already there. */
/* chunk_max: bytes, 8192..64 MiB (0: REPO_CHUNK_MAX). */
int repo_create(const char *url, const char *kms_uri, int64_t min_retention, uint32_t chunk_max,
		struct repo **out, char *err, size_t errcap);
int repo_open(const char *url, struct repo **out);
/* As repo_open, with an operator message in err (never a secret). */
int repo_open_msg(const char *url, struct repo **out, char *err, size_t errcap);
/* Stores bytes under "<prefix>/<sha256>" (data: "data/<2 hex>/<sha256>"),
 * BACKUP_FORMAT.md §2; the object id in id (may be NULL). */
int repo_put_object(struct repo *r, const char *prefix, const void *buf, size_t len,
		    uint8_t id[32]);
/* Seals pt as a compressed object of `type` (§5), then repo_put_object. */
int repo_put_sealed(struct repo *r, uint8_t type, const char *prefix, const void *pt, size_t len,
		    uint8_t id[32]);
int repo_mac(const struct repo *r, const void *data, size_t len, uint8_t out[REPO_MAC_LEN]);
void repo_close(struct repo *r);

#endif
