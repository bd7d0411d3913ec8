/*
 * repo_chunk.c: the chunking rule of docs/BACKUP_FORMAT.md §6.1 — the phifs
 * file header (FORMAT.md §4) alone, then runs of whole on-disk slots
 * (FORMAT.md §5), so that a re-sealed block changes one chunk and nothing
 * else. No key, no content inspection: the cut points depend on offsets only.
 */
#include "config.h"

#include "format.h"
#include "repo_chunk.h"

uint32_t repo_chunk_slot(unsigned cipher)
{
	return cipher == FORMAT_CIPHER_GCM ? FORMAT_GCM_SLOT_LEN : FORMAT_BLOCK_LEN;
}

uint64_t repo_chunk_len(uint64_t off, uint64_t size, uint32_t slot, uint32_t chunk_max)
{
	uint64_t run = (uint64_t)(chunk_max / slot ? chunk_max / slot : 1) * slot;

	if (off >= size)
		return 0;
	if (off < FORMAT_HEADER_LEN)
		return (size < FORMAT_HEADER_LEN ? size : FORMAT_HEADER_LEN) - off;
	return size - off < run ? size - off : run;
}
