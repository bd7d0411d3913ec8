/*
 * fuzz-backupobj.c: libFuzzer harness for the decoders of backup repository
 * objects (docs/BACKUP_FORMAT.md §5, §6.2, §8; tools/phifs-backup/repo_obj.c,
 * repo_index.c). Objects come from a store an attacker may write to. The
 * first byte picks the target:
 *   0  repo_obj_open on the bytes as stored (prefix checks, tag);
 *   1  repo_index_decode; what decodes must re-encode to the same bytes;
 *   2  repo_packhdr_decode; offsets must be cumulative and in order;
 *   3  the bytes as an authentic (tag-valid) zstd-flagged object payload:
 *      the decompressor's bounds, reached only after the tag verified.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cipher.h"
#include "repo_index.h"
#include "repo_obj.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[32] = { 0x42 };

static void index_target(const uint8_t *in, size_t len)
{
	struct repo_pack_info *packs = NULL;
	uint8_t *again = NULL;
	size_t n = 0, alen = 0;

	if (repo_index_decode(in, len, &packs, &n) != 0)
		return;
	if (repo_index_encode(packs, n, &again, &alen) != 0 || alen != len ||
	    memcmp(again, in, len) != 0)
		abort();
	free(again);
	repo_packs_free(packs, n);
}

static void packhdr_target(const uint8_t *in, size_t len)
{
	struct repo_blob_ent *b = NULL;
	size_t n = 0;
	uint64_t off = 0;

	if (repo_packhdr_decode(in, len, &b, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (b[i].off != off || b[i].len < REPO_OBJ_OVERHEAD)
			abort();
		off += b[i].len;
	}
	free(b);
}

static void zstd_target(const uint8_t *in, size_t len)
{
	uint8_t *obj = malloc(REPO_OBJ_OVERHEAD + len + 1), *pt = NULL;
	size_t ptlen = 0;

	if (!obj)
		return;
	memcpy(obj, REPO_OBJ_MAGIC "\x01\x04\x01\x00", REPO_OBJ_PREFIX);   /* snapshot, zstd */
	memset(obj + REPO_OBJ_PREFIX, 7, REPO_OBJ_NONCE);
	if (cipher_gcm_seal(key, obj + REPO_OBJ_PREFIX, obj, REPO_OBJ_PREFIX, in, len,
			    obj + REPO_OBJ_PREFIX + REPO_OBJ_NONCE,
			    obj + REPO_OBJ_PREFIX + REPO_OBJ_NONCE + len) == 0 &&
	    repo_obj_open(key, REPO_T_SNAPSHOT, NULL, obj, REPO_OBJ_OVERHEAD + len, &pt, &ptlen) == 0 &&
	    !pt)
		abort();
	free(pt);
	free(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *pt = NULL;
	size_t ptlen = 0;

	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		if (repo_obj_open(key, data[0] >> 2 & 7, NULL, data + 1, size - 1, &pt, &ptlen) == 0)
			free(pt);
		break;
	case 1:
		index_target(data + 1, size - 1);
		break;
	case 2:
		packhdr_target(data + 1, size - 1);
		break;
	default:
		zstd_target(data + 1, size - 1);
		break;
	}
	return 0;
}
