/*
 * repo_obj.c: seals and opens the objects of a backup repository
 * (docs/BACKUP_FORMAT.md §5): optional zstd, then AES-256-GCM under the
 * repository's encrypt key with a random nonce, the 8-byte prefix (and a
 * blob's id) as AAD. It is the one door to libzstd. It does not know where
 * objects are stored or what their payloads mean. Objects come from storage
 * that an attacker may control: every length is checked before use, and
 * nothing is decompressed before the tag has verified.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "cipher.h"
#include "repo_obj.h"

static size_t make_aad(const uint8_t prefix[REPO_OBJ_PREFIX], const uint8_t *id,
		       uint8_t aad[REPO_OBJ_PREFIX + REPO_ID_LEN])
{
	memcpy(aad, prefix, REPO_OBJ_PREFIX);
	if (!id)
		return REPO_OBJ_PREFIX;
	memcpy(aad + REPO_OBJ_PREFIX, id, REPO_ID_LEN);
	return REPO_OBJ_PREFIX + REPO_ID_LEN;
}

/* phifs ciphertext never compresses; only the zero slots of sparse files do.
 * A zero run of 2112 bytes or more holds 64 zero bytes at some multiple of
 * 2048: only then is zstd tried (it costs more than this scan). */
static int has_zero_run(const uint8_t *p, size_t len)
{
	static const uint8_t zero[64];

	for (size_t off = 0; off + sizeof(zero) <= len; off += 2048)
		if (!memcmp(p + off, zero, sizeof(zero)))
			return 1;
	return 0;
}

/* *z is a malloc'd zstd frame when compression is wanted and worth it. */
static int compress(const void *pt, size_t len, enum repo_obj_z how, uint8_t **z, size_t *zlen)
{
	size_t cap = ZSTD_compressBound(len), n;
	uint8_t *buf;

	*z = NULL;
	if (how == REPO_Z_NONE || (how == REPO_Z_IF_WORTH && !has_zero_run(pt, len)))
		return 0;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	n = ZSTD_compress(buf, cap, pt, len, 1);   /* trees: level 3 was 2.6× slower, not smaller */
	if (ZSTD_isError(n) || (how == REPO_Z_IF_WORTH && n > len - len / 8)) {
		free(buf);
		return ZSTD_isError(n) && how == REPO_Z_ALWAYS ? -EIO : 0;
	}
	*z = buf;
	*zlen = n;
	return 0;
}

int repo_obj_seal(const uint8_t key[32], uint8_t type, const uint8_t *id, const void *pt,
		  size_t len, enum repo_obj_z how, uint8_t **out, size_t *out_len)
{
	uint8_t aad[REPO_OBJ_PREFIX + REPO_ID_LEN], *z = NULL, *o = NULL;
	size_t zlen = 0, aad_len, n;
	const void *payload = pt;
	int ret;

	*out = NULL;
	if (len > REPO_OBJ_MAX_PAYLOAD)
		return -EFBIG;
	ret = compress(pt, len, how, &z, &zlen);
	if (ret)
		return ret;
	if (z) {
		payload = z;
		len = zlen;
	}
	n = REPO_OBJ_OVERHEAD + len;
	o = malloc(n);
	if (!o) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(o, REPO_OBJ_MAGIC, 4);
	o[4] = REPO_OBJ_VERSION;
	o[5] = type;
	o[6] = z ? REPO_OBJ_FLAG_ZSTD : 0;
	o[7] = 0;
	ret = cipher_random(o + REPO_OBJ_PREFIX, REPO_OBJ_NONCE);
	if (ret)
		goto out;
	aad_len = make_aad(o, id, aad);
	ret = cipher_gcm_seal(key, o + REPO_OBJ_PREFIX, aad, aad_len, payload, len,
			      o + REPO_OBJ_PREFIX + REPO_OBJ_NONCE, o + n - REPO_OBJ_TAG);
	if (ret)
		goto out;
	*out = o;
	*out_len = n;
	o = NULL;
out:
	free(o);
	free(z);
	return ret;
}

static int decompress(uint8_t *in, size_t len, uint8_t **pt, size_t *pt_len)
{
	unsigned long long size = ZSTD_getFrameContentSize(in, len);
	uint8_t *buf;
	size_t n;

	if (size == ZSTD_CONTENTSIZE_UNKNOWN || size == ZSTD_CONTENTSIZE_ERROR)
		return -EBADMSG;
	if (size > REPO_OBJ_MAX_PAYLOAD)
		return -EFBIG;
	buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	n = ZSTD_decompress(buf, size, in, len);
	if (ZSTD_isError(n) || n != size) {
		free(buf);
		return -EBADMSG;
	}
	*pt = buf;
	*pt_len = n;
	return 0;
}

int repo_obj_open(const uint8_t key[32], uint8_t type, const uint8_t *id, const uint8_t *in,
		  size_t len, uint8_t **pt, size_t *pt_len)
{
	uint8_t aad[REPO_OBJ_PREFIX + REPO_ID_LEN], *buf = NULL;
	size_t n, aad_len;
	int ret;

	*pt = NULL;
	*pt_len = 0;
	if (len < REPO_OBJ_OVERHEAD || memcmp(in, REPO_OBJ_MAGIC, 4) != 0)
		return -EBADMSG;
	if (in[4] != REPO_OBJ_VERSION)
		return -EPROTO;
	if (in[5] != type || (in[6] & ~REPO_OBJ_FLAG_ZSTD) || in[7])
		return -EBADMSG;
	n = len - REPO_OBJ_OVERHEAD;
	if (n > REPO_OBJ_MAX_PAYLOAD)
		return -EFBIG;
	buf = malloc(n ? n : 1);
	if (!buf)
		return -ENOMEM;
	aad_len = make_aad(in, id, aad);
	ret = cipher_gcm_open(key, in + REPO_OBJ_PREFIX, aad, aad_len,
			      in + REPO_OBJ_PREFIX + REPO_OBJ_NONCE, n, in + len - REPO_OBJ_TAG, buf);
	if (ret) {
		ret = -EBADMSG;
		goto out;
	}
	if (in[6] & REPO_OBJ_FLAG_ZSTD) {
		ret = decompress(buf, n, pt, pt_len);
		goto out;
	}
	*pt = buf;
	*pt_len = n;
	buf = NULL;
out:
	free(buf);
	return ret;
}
