/*
 * block.h: one block's seal/open and the block geometry of docs/FORMAT.md §5.
 * Pure functions over buffers: no file descriptors, no locks.
 */
#ifndef PHIFS_BLOCK_H
#define PHIFS_BLOCK_H

#include <stddef.h>
#include <stdint.h>
#include "format.h"

/* §5.1: slot = nonce ‖ gap ‖ ct ‖ tag; slot must hold len + FORMAT_GCM_OVERHEAD. */
int block_gcm_seal(const uint8_t key[32], const uint8_t file_id[FORMAT_ID_LEN], uint64_t blockno,
		   uint32_t flags, uint32_t gap, const uint8_t *pt, size_t len, uint8_t *slot);
/* Opens a slot of slot_len bytes (plaintext = slot_len - 32) sealed with `flags`;
 * *gap receives the slot's gap field. -EBADMSG on any authentication failure. */
int block_gcm_open(const uint8_t key[32], const uint8_t file_id[FORMAT_ID_LEN], uint64_t blockno,
		   uint32_t flags, const uint8_t *slot, size_t slot_len, uint8_t *pt, uint32_t *gap);
/* The gap field of a slot without authenticating it (hole checks). */
uint32_t block_gcm_slot_gap(const uint8_t *slot);

/* §5.2: XTS, length-preserving; len 1..4096. */
int block_xts_encrypt(const uint8_t key[64], const uint8_t tail_key[32], uint64_t blockno,
		      const uint8_t *in, size_t len, uint8_t *out);
int block_xts_decrypt(const uint8_t key[64], const uint8_t tail_key[32], uint64_t blockno,
		      const uint8_t *in, size_t len, uint8_t *out);

/* Geometry (§5.4). */
uint64_t block_slot_offset(uint8_t cipher, uint64_t blockno);
size_t block_slot_len(uint8_t cipher, size_t pt_len);
/* Plaintext size of a backing file of `backing` bytes; -EBADMSG (size still set)
 * when the tail cannot be a valid slot or backing < header. */
int block_plain_size(uint8_t cipher, uint64_t backing, uint64_t *size);
uint64_t block_backing_size(uint8_t cipher, uint64_t plain_size);
int block_is_zero(const uint8_t *p, size_t len);

#endif
