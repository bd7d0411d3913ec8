/*
 * format.h: byte layouts of the volume config and the file header.
 * Normative spec: docs/FORMAT.md §3 (config) and §4 (header); every constant
 * here names its section there.
 */
#ifndef PHIFS_FORMAT_H
#define PHIFS_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define FORMAT_VERSION 1
#define FORMAT_ID_LEN 16          /* volume id, file id (§3, §4) */
#define FORMAT_MAC_LEN 32         /* HMAC-SHA256 */

#define FORMAT_CIPHER_GCM 1       /* §5.1 */
#define FORMAT_CIPHER_XTS 2       /* §5.2 */
#define FORMAT_NAMES_SIV 1        /* §6.2 */
#define FORMAT_WRAP_VOLUME 1      /* §4.2 */
#define FORMAT_WRAP_KMS 2         /* §3.3, §4.4: per-file KMS */

/* §3: volume config */
#define FORMAT_CONFIG_FILE "phifs.conf"
#define FORMAT_CONFIG_TMP "phifs.conf.tmp"
#define FORMAT_CONFIG_MAGIC "PHIFSVOL"
#define FORMAT_CONFIG_MAX 65536
#define FORMAT_MAX_URI 1024
#define FORMAT_MAX_SLOTS 16
#define FORMAT_MAX_KEKID 128
#define FORMAT_MAX_WRAPPED 1024
#define FORMAT_INCOMPAT_KEYTAB 0x1u  /* files may depend on phifs.keytab (§12) */
#define FORMAT_INCOMPAT_KNOWN 0x1u
#define FORMAT_SLOT_ACTIVE 1
#define FORMAT_SLOT_RETIRING 2
#define FORMAT_SLOT_RETIRED 3
#define FORMAT_MAX_KEKS 16        /* §3.3: KEK table entries (wrap mode 2) */

/* §4: file header */
#define FORMAT_HEADER_MAGIC "PHFS"
#define FORMAT_HEADER_LEN 176
#define FORMAT_HEADER_WRAP_AAD_LEN 28   /* header bytes 0..27 are the wrap AAD (§4.2) */
#define FORMAT_HEADER_MAC_OFF 144
#define FORMAT_HEADER_WRAPPED_MAX 96
#define FORMAT_HDR_HAS_DATA 0x1u        /* §5.3 */
#define FORMAT_HDR_TRUNC_PENDING 0x2u   /* §5.5 */
#define FORMAT_HDR_KEYTAB 0x4u        /* §4, §12: DK mixes in key-table slot `keytab_slot` */
#define FORMAT_HDR_FLAGS_KNOWN 0x7u

/* §5: blocks */
#define FORMAT_BLOCK_LEN 4096
#define FORMAT_GCM_NONCE_LEN 12
#define FORMAT_GCM_GAP_LEN 4
#define FORMAT_GCM_TAG_LEN 16
#define FORMAT_GCM_OVERHEAD 32
#define FORMAT_GCM_SLOT_LEN (FORMAT_BLOCK_LEN + FORMAT_GCM_OVERHEAD)
#define FORMAT_BLOCK_LAST 0x1u          /* AAD flags bit 0 (§5.1) */

struct format_header {
	uint8_t cipher;                 /* FORMAT_CIPHER_* */
	uint8_t wrap_kind;              /* FORMAT_WRAP_* */
	uint8_t file_id[FORMAT_ID_LEN];
	uint32_t wrap_key_version;      /* kind 1: VK version that wrapped the data key;
					   kind 2: the KEK table ref (§3.3) */
	uint32_t flags;                 /* FORMAT_HDR_* */
	uint64_t pending_size;          /* bytes; meaningful with TRUNC_PENDING */
	uint16_t wrapped_len;           /* bytes used in wrapped[] */
	uint32_t keytab_slot;           /* §12 slot index; 0 unless FORMAT_HDR_KEYTAB */
	uint8_t wrapped[FORMAT_HEADER_WRAPPED_MAX];
	uint8_t mac[FORMAT_MAC_LEN];
};

struct format_slot {
	uint32_t version;               /* key version v */
	uint16_t state;                 /* FORMAT_SLOT_* */
	uint64_t created;               /* Unix seconds */
	char kek_id[FORMAT_MAX_KEKID + 1];   /* NUL-terminated */
	uint16_t wrapped_len;           /* bytes */
	uint8_t wrapped[FORMAT_MAX_WRAPPED];
};

/* §3.3: one KEK a per-file-KMS volume's headers may name. */
struct format_kek {
	uint32_t ref;                   /* what header bytes 24..27 hold (kind 2) */
	char id[FORMAT_MAX_KEKID + 1];  /* the provider's KEK id, NUL-terminated */
};

struct format_config {
	uint16_t version;
	uint16_t cipher;
	uint32_t block_size;            /* plaintext bytes per block */
	uint16_t name_scheme;
	uint16_t wrap_mode;
	uint32_t incompat_flags;
	uint32_t compat_flags;
	uint8_t volume_id[FORMAT_ID_LEN];
	uint64_t created;               /* Unix seconds */
	uint32_t primary_version;
	uint32_t names_version;
	char kms_uri[FORMAT_MAX_URI + 1];    /* NUL-terminated */
	uint16_t n_slots;
	struct format_slot slots[FORMAT_MAX_SLOTS];
	uint16_t n_keks;                /* wrap mode 2: 1..FORMAT_MAX_KEKS; else 0 */
	struct format_kek keks[FORMAT_MAX_KEKS];
	uint8_t mac[FORMAT_MAC_LEN];
};

/* Header: encode writes all 176 bytes including h->mac as given. */
void format_header_encode(const struct format_header *h, uint8_t out[FORMAT_HEADER_LEN]);
/* -EBADMSG: not a phifs header / malformed; -EPROTO: unsupported version/cipher/kind/flags. */
int format_header_decode(const uint8_t *in, size_t len, struct format_header *h);

/* Config: encode writes body followed by c->mac; *len = total bytes. The MAC
 * covers the first *len - FORMAT_MAC_LEN bytes. -ENOSPC if cap is too small,
 * -EINVAL for out-of-range fields. */
int format_config_encode(const struct format_config *c, uint8_t *out, size_t cap, size_t *len);
/* -EBADMSG malformed/truncated/trailing bytes; -EPROTO unknown version, cipher,
 * name scheme, wrap mode or incompat flag. Does not verify the MAC (keys.c does). */
int format_config_decode(const uint8_t *in, size_t len, struct format_config *c);
/* §3.3: the KEK entry with this ref / this id, or NULL; the current one
 * (highest ref, which new files use), NULL when the table is empty. */
const struct format_kek *format_config_kek(const struct format_config *c, uint32_t ref);
const struct format_kek *format_config_kek_by_id(const struct format_config *c, const char *id);
const struct format_kek *format_config_kek_current(const struct format_config *c);
/* The slot with this version, or NULL. */
const struct format_slot *format_config_slot(const struct format_config *c, uint32_t version);

#endif
