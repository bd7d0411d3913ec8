/* repo_chunk.h: where chunks of a cipher file begin and end (repo_chunk.c,
 * docs/BACKUP_FORMAT.md §6.1). */
#ifndef PHIFS_BACKUP_REPO_CHUNK_H
#define PHIFS_BACKUP_REPO_CHUNK_H

#include <stdint.h>

/* Bytes of one on-disk slot for a volume's cipher (FORMAT.md §5): GCM 4128,
 * XTS 4096; any other value (no readable phifs.conf) 4096. */
uint32_t repo_chunk_slot(unsigned cipher);
/* Length of the chunk at offset off of a file of `size` bytes (0 at the
 * end). off must be a chunk boundary: 0, 176, 176 + j·k·slot. */
uint64_t repo_chunk_len(uint64_t off, uint64_t size, uint32_t slot, uint32_t chunk_max);

#endif
