/*
 * keys.h: the key hierarchy of docs/FORMAT.md §2 — volume keys, purpose keys
 * derived from them, and per-file data keys. All key bytes live in secmem.
 */
#ifndef PHIFS_KEYS_H
#define PHIFS_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include "format.h"

#define KEYS_VK_LEN 32
#define KEYS_DK_LEN 32
#define KEYS_NAMES_LEN 64
#define KEYS_XATTR_LEN 64
#define KEYS_AUDIT_LEN 32
#define KEYS_SLOT_LEN 32      /* a key-table slot secret S_i (FORMAT.md §12) */
#define KEYS_TK_LEN 32        /* a key-table key TK_e (§12) */

struct keys_volume;   /* opaque: unwrapped volume keys by version + derived keys */

/* The per-file keys of §2.1, in secmem. Owned by whoever opened the file. */
struct keys_file {
	uint8_t file_id[FORMAT_ID_LEN];
	uint8_t cipher;                          /* FORMAT_CIPHER_* */
	uint8_t hk[KEYS_DK_LEN];                 /* the key the header wraps (§4.2) */
	uint8_t dk[KEYS_DK_LEN];                 /* hk, or HKDF(hk ‖ S_slot) with KEYTAB (§12) */
	uint8_t block_key[64];                   /* GCM uses the first 32 bytes, XTS all 64 */
	uint8_t tail_key[32];                    /* XTS tails < 16 bytes */
	uint8_t header_mac_key[32];
};

/*
 * Per-file KMS mode (FORMAT.md §4.4): data keys wrapped by the KMS, not by a
 * VK. keys.c knows no KMS, so the volume's wrapper (fs/filekms.c) is called
 * through this table for wrap kind 2. ctx is the wrapper's.
 */
struct keys_dk_wrapper {
	/* A new file: a fresh DK and its wrap into h (wrap_kind, wrap_key_version,
	 * wrapped, wrapped_len, file_id). file_id NULL: the wrapper picks the file
	 * id (it may hand out a pre-wrapped one), else that id (a rekey). */
	int (*wrap_new)(void *ctx, uint8_t cipher, const uint8_t *file_id,
			uint8_t dk[KEYS_DK_LEN], struct format_header *h);
	/* An existing kind-2 header: its DK. On failure dk holds nothing. */
	int (*unwrap)(void *ctx, const struct format_header *h, uint8_t dk[KEYS_DK_LEN]);
	/* rotate-kms: dk wrapped again for h's file id, under the wrapper's
	 * target KEK (h's wrap_key_version, wrapped, wrapped_len rewritten). */
	int (*rewrap)(void *ctx, const uint8_t dk[KEYS_DK_LEN], struct format_header *h);
	/* keys_volume_evict / keys_volume_restore: wipe (and later allow again)
	 * every key the wrapper holds (pool, cache, KMS session). */
	void (*evict)(void *ctx);
	void (*restore)(void *ctx);
};

int keys_volume_new(const uint8_t volume_id[FORMAT_ID_LEN], struct keys_volume **out);
/* Installs the per-file wrapper (NULL: none), before any thread uses kv. */
void keys_volume_set_dk_wrapper(struct keys_volume *kv, const struct keys_dk_wrapper *w,
				void *ctx);
void keys_volume_free(struct keys_volume *kv);
/* Adds an unwrapped VK (copied into secmem; caller wipes its copy). -EEXIST, -ENOSPC. */
int keys_volume_add(struct keys_volume *kv, uint32_t version, const uint8_t vk[KEYS_VK_LEN]);
int keys_volume_has(const struct keys_volume *kv, uint32_t version);
/* Which VK wraps new files; which VK's names/xattr/audit keys are used. -ENOKEY if absent. */
int keys_volume_set_primary(struct keys_volume *kv, uint32_t version);
int keys_volume_set_names(struct keys_volume *kv, uint32_t version);
uint32_t keys_volume_primary(const struct keys_volume *kv);
/* Locking a mounted volume: wipes every VK and derived key in place (the
 * versions stay known); keys_volume_restore puts VK_version back and derives
 * again. The caller makes sure no thread uses kv meanwhile (session.c). */
void keys_volume_evict(struct keys_volume *kv);
int keys_volume_restore(struct keys_volume *kv, uint32_t version, const uint8_t vk[KEYS_VK_LEN]);
/* The raw VK of `version` (secmem, valid until free), for re-wrapping it under
 * another KEK (rotate-kms) or caching it in the keyring; NULL if absent. */
const uint8_t *keys_volume_vk(const struct keys_volume *kv, uint32_t version);
const uint8_t *keys_volume_id(const struct keys_volume *kv);

/* §12: the key table as keys.c sees it (keytab.c implements it). reserve
 * hands out a never-used slot index; secret copies S_slot into out (the caller
 * wipes it): -EKEYREVOKED when the slot was shredded, -ENOKEY when the table is
 * unavailable. Set once at open, before any file is made or opened. */
struct keys_keytab_ops {
	int (*reserve)(void *arg, uint32_t *slot);
	int (*secret)(void *arg, uint32_t slot, uint8_t out[KEYS_SLOT_LEN]);
};
void keys_volume_set_keytab(struct keys_volume *kv, const struct keys_keytab_ops *ops, void *arg);
/* §12: the page-sealing and header-MAC keys of a table key TK_e. */
int keys_keytab_derive(const uint8_t tk[KEYS_TK_LEN], const uint8_t volume_id[FORMAT_ID_LEN],
		       uint8_t page_key[KEYS_TK_LEN], uint8_t mac_key[KEYS_TK_LEN]);

/* Purpose keys of the names version (pointers into secmem, valid until free). */
const uint8_t *keys_names_key(const struct keys_volume *kv);   /* KEYS_NAMES_LEN */
const uint8_t *keys_xattr_key(const struct keys_volume *kv);   /* KEYS_XATTR_LEN */
const uint8_t *keys_audit_key(const struct keys_volume *kv);   /* KEYS_AUDIT_LEN: path HMAC */
const uint8_t *keys_audit_enc_key(const struct keys_volume *kv); /* KEYS_AUDIT_LEN: path AES-GCM */

/* HMAC over a config body under the config-mac key of VK `version`. */
int keys_config_mac(const struct keys_volume *kv, uint32_t version, const uint8_t *body,
		    size_t len, uint8_t mac[FORMAT_MAC_LEN]);

/* HMAC over the access policy file under the policy-mac key of VK `version`. */
int keys_policy_mac(const struct keys_volume *kv, uint32_t version, const uint8_t *body,
		    size_t len, uint8_t mac[FORMAT_MAC_LEN]);

/* A fresh random secret (VK or DK) straight into caller's buffer. */
int keys_random_key(uint8_t *key, size_t len);

/* AAD for wrapping VK_v with a KMS provider (§3.2); returns its length. */
size_t keys_vk_wrap_aad(const uint8_t volume_id[FORMAT_ID_LEN], uint32_t version,
			uint8_t out[64]);

/* New file: random file id and DK, wrapped under the primary VK; header MAC set. */
int keys_file_create(const struct keys_volume *kv, uint8_t cipher, struct format_header *h,
		     struct keys_file **out);
/* The same with a given file id and a fresh DK: a rekeyed file (§5.7). */
int keys_file_create_as(const struct keys_volume *kv, uint8_t cipher,
			const uint8_t *file_id, struct format_header *h, struct keys_file **out);
/* Existing file: decode, unwrap, verify MAC. -EBADMSG bad header/MAC/wrap,
 * -ENOKEY the wrap key version is not unlocked, -EPROTO unsupported. */
int keys_file_open(const struct keys_volume *kv, const uint8_t *hdr, size_t len,
		   struct format_header *h, struct keys_file **out);
/* Recompute h->mac with fk and encode the 176 bytes (after flag changes). */
int keys_header_seal(const struct keys_file *fk, struct format_header *h,
		     uint8_t out[FORMAT_HEADER_LEN]);
/* Re-wrap fk's DK under VK `version` into h (rotation); then keys_header_seal.
 * A wrap kind 2 header goes to the per-file wrapper's target KEK instead
 * (rotate-kms, FORMAT.md §4.4); `version` is then unused. */
int keys_file_rewrap(const struct keys_volume *kv, uint32_t version, const struct keys_file *fk,
		     struct format_header *h);
void keys_file_free(struct keys_file *fk);

#endif
