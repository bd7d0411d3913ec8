/*
 * block.c: one block's seal and open, and the block geometry of the backing
 * file (docs/FORMAT.md §5.1, §5.2, §5.4).
 *
 * Owns the nonce and tweak policy: a fresh random 96-bit nonce for every GCM
 * seal (a block is rewritten in place many times, so a counter would need
 * persistent state; 2^-32 collision risk only after ~2^32 seals of one file
 * key), and the XTS tweak u64 blockno ‖ 0^8. The GCM AAD binds file id, block
 * number, LAST flag and gap, so a slot cannot be moved to another file or
 * index, and neither the end of the file nor a hole can be forged.
 *
 * Deliberately knows nothing about file descriptors, holes as a whole, or
 * write ordering (fileio*.c does). Hot path: no allocation, no locks.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "block.h"
#include "cipher.h"
#include "secmem.h"

#define BLOCK_AAD_LEN (FORMAT_ID_LEN + 8 + 4 + 4)
#define BLOCK_XTS_MIN 16   /* one AES block: shorter tails use the ECB pad (§5.2) */

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void aad_build(uint8_t aad[BLOCK_AAD_LEN], const uint8_t file_id[FORMAT_ID_LEN],
		      uint64_t blockno, uint32_t flags, uint32_t gap)
{
	memcpy(aad, file_id, FORMAT_ID_LEN);
	put_le64(aad + FORMAT_ID_LEN, blockno);
	put_le32(aad + FORMAT_ID_LEN + 8, flags);
	put_le32(aad + FORMAT_ID_LEN + 12, gap);
}

int block_gcm_seal(const uint8_t key[32], const uint8_t file_id[FORMAT_ID_LEN], uint64_t blockno,
		   uint32_t flags, uint32_t gap, const uint8_t *pt, size_t len, uint8_t *slot)
{
	uint8_t aad[BLOCK_AAD_LEN];
	uint8_t *ct = slot + FORMAT_GCM_NONCE_LEN + FORMAT_GCM_GAP_LEN;
	int ret;

	if (len == 0 || len > FORMAT_BLOCK_LEN)
		return -EINVAL;
	ret = cipher_nonce(slot, FORMAT_GCM_NONCE_LEN);
	if (ret < 0)
		return ret;
	put_le32(slot + FORMAT_GCM_NONCE_LEN, gap);
	aad_build(aad, file_id, blockno, flags, gap);
	return cipher_gcm_seal(key, slot, aad, sizeof(aad), pt, len, ct, ct + len);
}

int block_gcm_open(const uint8_t key[32], const uint8_t file_id[FORMAT_ID_LEN], uint64_t blockno,
		   uint32_t flags, const uint8_t *slot, size_t slot_len, uint8_t *pt, uint32_t *gap)
{
	uint8_t aad[BLOCK_AAD_LEN];
	const uint8_t *ct = slot + FORMAT_GCM_NONCE_LEN + FORMAT_GCM_GAP_LEN;
	uint32_t g;
	size_t len;
	int ret;

	/* A slot of 32 bytes or less cannot hold a non-empty block (§5.4). */
	if (slot_len <= FORMAT_GCM_OVERHEAD || slot_len > FORMAT_GCM_SLOT_LEN)
		return -EBADMSG;
	len = slot_len - FORMAT_GCM_OVERHEAD;
	g = get_le32(slot + FORMAT_GCM_NONCE_LEN);
	aad_build(aad, file_id, blockno, flags, g);
	ret = cipher_gcm_open(key, slot, aad, sizeof(aad), ct, len, ct + len, pt);
	if (ret < 0)
		return ret;
	*gap = g;
	return 0;
}

uint32_t block_gcm_slot_gap(const uint8_t *slot)
{
	return get_le32(slot + FORMAT_GCM_NONCE_LEN);
}

static void xts_tweak(uint8_t tweak[16], uint64_t blockno)
{
	put_le64(tweak, blockno);
	memset(tweak + 8, 0, 8);
}

/* §5.2: tails shorter than one AES block are XORed with E(tail_key, tweak). */
static int xts_tail(const uint8_t tail_key[32], const uint8_t tweak[16], const uint8_t *in,
		    size_t len, uint8_t *out)
{
	uint8_t pad[16];
	int ret = cipher_ecb_block(tail_key, tweak, pad);

	if (ret == 0) {
		for (size_t i = 0; i < len; i++)
			out[i] = in[i] ^ pad[i];
	}
	secmem_wipe(pad, sizeof(pad));
	return ret;
}

static int xts_run(const uint8_t key[64], const uint8_t tail_key[32], uint64_t blockno,
		   const uint8_t *in, size_t len, uint8_t *out, int enc)
{
	uint8_t tweak[16];

	if (len == 0 || len > FORMAT_BLOCK_LEN)
		return -EINVAL;
	xts_tweak(tweak, blockno);
	if (len < BLOCK_XTS_MIN)
		return xts_tail(tail_key, tweak, in, len, out);
	if (enc)
		return cipher_xts_encrypt(key, tweak, in, len, out);
	return cipher_xts_decrypt(key, tweak, in, len, out);
}

int block_xts_encrypt(const uint8_t key[64], const uint8_t tail_key[32], uint64_t blockno,
		      const uint8_t *in, size_t len, uint8_t *out)
{
	return xts_run(key, tail_key, blockno, in, len, out, 1);
}

int block_xts_decrypt(const uint8_t key[64], const uint8_t tail_key[32], uint64_t blockno,
		      const uint8_t *in, size_t len, uint8_t *out)
{
	return xts_run(key, tail_key, blockno, in, len, out, 0);
}

static uint64_t slot_stride(uint8_t cipher)
{
	return cipher == FORMAT_CIPHER_XTS ? FORMAT_BLOCK_LEN : FORMAT_GCM_SLOT_LEN;
}

uint64_t block_slot_offset(uint8_t cipher, uint64_t blockno)
{
	return FORMAT_HEADER_LEN + blockno * slot_stride(cipher);
}

size_t block_slot_len(uint8_t cipher, size_t pt_len)
{
	return cipher == FORMAT_CIPHER_XTS ? pt_len : pt_len + FORMAT_GCM_OVERHEAD;
}

int block_plain_size(uint8_t cipher, uint64_t backing, uint64_t *size)
{
	uint64_t m, f, r;

	*size = 0;
	if (cipher != FORMAT_CIPHER_GCM && cipher != FORMAT_CIPHER_XTS)
		return -EINVAL;
	if (backing < FORMAT_HEADER_LEN)
		return -EBADMSG;
	m = backing - FORMAT_HEADER_LEN;
	if (cipher == FORMAT_CIPHER_XTS) {
		*size = m;
		return 0;
	}
	f = m / FORMAT_GCM_SLOT_LEN;
	r = m % FORMAT_GCM_SLOT_LEN;
	*size = FORMAT_BLOCK_LEN * f + (r > FORMAT_GCM_OVERHEAD ? r - FORMAT_GCM_OVERHEAD : 0);
	/* 0 < r <= 32: a final slot cut inside its nonce, gap or tag. */
	return r > 0 && r <= FORMAT_GCM_OVERHEAD ? -EBADMSG : 0;
}

uint64_t block_backing_size(uint8_t cipher, uint64_t plain_size)
{
	uint64_t f = plain_size / FORMAT_BLOCK_LEN;
	uint64_t r = plain_size % FORMAT_BLOCK_LEN;

	if (cipher == FORMAT_CIPHER_XTS)
		return FORMAT_HEADER_LEN + plain_size;
	return FORMAT_HEADER_LEN + f * FORMAT_GCM_SLOT_LEN + (r ? r + FORMAT_GCM_OVERHEAD : 0);
}

/* 1 when all len bytes are zero (len 0 counts as zero). Not constant time:
 * it runs over ciphertext, whose zero-ness is visible on disk anyway. */
int block_is_zero(const uint8_t *p, size_t len)
{
	static const uint8_t zeros[256];

	while (len >= sizeof(zeros)) {
		if (memcmp(p, zeros, sizeof(zeros)) != 0)
			return 0;
		p += sizeof(zeros);
		len -= sizeof(zeros);
	}
	return memcmp(p, zeros, len) == 0;
}
