/*
 * keytab_format.h: byte layout of the key table `phifs.keytab` (docs/FORMAT.md
 * §12): its authenticated header and its sealed pages of slot secrets. Pure
 * encoding and sealing; no files, no KMS (keytab.c, keytab_shred.c).
 */
#ifndef PHIFS_KEYTAB_FORMAT_H
#define PHIFS_KEYTAB_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include "format.h"
#include "keys.h"

#define KEYTAB_FILE "phifs.keytab"
#define KEYTAB_TMP "phifs.keytab.tmp"
#define KEYTAB_LOCK "phifs.keytab.lock"
#define KEYTAB_MAGIC "PHIFSKT1"
#define KEYTAB_VERSION 1
#define KEYTAB_HDR_LEN 1280                   /* §12.1 */
#define KEYTAB_HDR_MAC_OFF (KEYTAB_HDR_LEN - FORMAT_MAC_LEN)
#define KEYTAB_PER_PAGE 128                   /* slots per page */
#define KEYTAB_PAGE_PLAIN (KEYTAB_PER_PAGE * KEYS_SLOT_LEN)   /* 4096 */
#define KEYTAB_PAGE_LEN (12 + KEYTAB_PAGE_PLAIN + 16)        /* nonce ‖ ct ‖ tag */
#define KEYTAB_MAX_PAGES (UINT32_MAX / KEYTAB_PER_PAGE)
#define KEYTAB_MAX_KEKID 128
#define KEYTAB_MAX_BLOB 1024

struct keytab_header {
	uint32_t pages;                 /* sealed pages following the header */
	uint64_t epoch;                 /* e ≥ 1: which table key TK_e seals it */
	uint32_t next_free;             /* slots below were handed out (≤ 128·pages) */
	uint32_t destroyed;             /* slots shredded so far (informational) */
	uint8_t volume_id[FORMAT_ID_LEN];
	char kek_id[KEYTAB_MAX_KEKID + 1];   /* NUL-terminated: KEK that wrapped TK_e */
	uint16_t blob_len;
	uint8_t blob[KEYTAB_MAX_BLOB];  /* TK_e wrapped by the KMS (§8 blob) */
	uint8_t mac[FORMAT_MAC_LEN];
};

/* Writes all KEYTAB_HDR_LEN bytes with h->mac as given; -EINVAL out of range. */
int keytab_header_encode(const struct keytab_header *h, uint8_t out[KEYTAB_HDR_LEN]);
/* -EBADMSG malformed, -EPROTO another version. Does not check the MAC. */
int keytab_header_decode(const uint8_t *in, size_t len, struct keytab_header *h);
/* HMAC under the keytab-mac key over bytes 0..KEYTAB_HDR_MAC_OFF-1. */
int keytab_header_mac(const uint8_t mac_key[KEYS_TK_LEN], const uint8_t enc[KEYTAB_HDR_LEN],
		      uint8_t mac[FORMAT_MAC_LEN]);
/* AAD for wrapping TK_e with the KMS; returns its length. */
size_t keytab_tk_aad(const uint8_t volume_id[FORMAT_ID_LEN], uint64_t epoch, uint8_t out[64]);
/* One page: AES-256-GCM under the page key, AAD = volume id ‖ u64 epoch ‖ u32 page. */
int keytab_page_seal(const uint8_t page_key[KEYS_TK_LEN], const uint8_t volume_id[FORMAT_ID_LEN],
		     uint64_t epoch, uint32_t page, const uint8_t *plain, uint8_t *out);
int keytab_page_open(const uint8_t page_key[KEYS_TK_LEN], const uint8_t volume_id[FORMAT_ID_LEN],
		     uint64_t epoch, uint32_t page, const uint8_t *in, uint8_t *plain);
/* Backing offset of page p. */
uint64_t keytab_page_off(uint32_t page);

#endif
