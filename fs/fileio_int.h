/*
 * fileio_int.h: what fs/fileio*.c share and nobody else may use: the struct
 * behind the opaque handle of fileio.h and the block-level helpers that the
 * read, write/truncate, seek and verify files build on (docs/FORMAT.md §5).
 *
 * Split: fileio.c (object, header, buffers, open-time recovery),
 * fileio_read.c (block decode, hole proofs, read, lseek), fileio_write.c
 * (write, extend, truncate, fallocate), fileio_verify.c (fsck walk),
 * fileio_rekey.c (new data key, blocks re-encrypted).
 */
#ifndef PHIFS_FILEIO_INT_H
#define PHIFS_FILEIO_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"
#include "chglog.h"
#include "chglog_tick.h"
#include "fileio.h"
#include "writebehind.h"

/* One pread/pwrite moves at most this much plaintext (FUSE's largest write):
 * up to 257 blocks when unaligned, plus the previous final block that an
 * append re-seals in the same pwrite (§5.5). */
#define FILEIO_CHUNK (1u << 20)
#define FILEIO_CHUNK_SLOTS (FILEIO_CHUNK / FORMAT_BLOCK_LEN + 2)
/* Slots read per syscall while scanning for the next data block. */
#define FILEIO_SCAN_SLOTS 16
/* Largest plaintext size: keeps backing offsets far inside off_t. */
#define FILEIO_MAX_SIZE ((uint64_t)1 << 52)

struct fileio {
	int fd;                         /* backing file; owned */
	int writable;                   /* 0: read-only mount, writes -EROFS */
	uint8_t cipher;                 /* FORMAT_CIPHER_*, from the header */
	struct keys_file *fk;           /* secmem; immutable after open */
	const struct keys_volume *kv;   /* the volume's keys: re-wrap to its primary */
	pthread_rwlock_t lock;          /* readers share; write/truncate/fallocate exclusive */
	struct format_header hdr;       /* as on disk; lock (exclusive to change) */
	uint64_t size;                  /* plaintext bytes; lock (exclusive to change) */
	struct chglog *chg;             /* change record (chglog.c) or NULL; lock exclusive */
	struct chglog_tick *tick;       /* its periodic store (chglog_tick.c) or NULL */
	_Atomic uint64_t ra_next;       /* backing offset a sequential read goes on at */
	_Atomic uint64_t ra_until;      /* end of what the backing was told to prefetch */
	struct wb_state wb;             /* write-behind of a sequential writer (writebehind.c) */
};

/* What one block holds in a file of a given plaintext size. */
struct fileio_blk {
	size_t len;                     /* plaintext bytes of the block */
	uint32_t gap;                   /* authenticated: hole blocks right before it */
	int hole;                       /* it read as a hole (zeros) */
};

/* One proven hole run: blocks [run, next) are holes and `next` is the
 * authenticated data block whose gap says so. Valid for blocks in [from, next). */
struct fileio_holes {
	uint64_t from;
	uint64_t run;
	uint64_t next;                  /* 0: nothing proven yet */
};

/* Slots already read into memory: buf holds `got` bytes from slot `first`. */
struct fileio_window {
	uint64_t first;
	const uint8_t *buf;
	size_t got;
};

static inline uint64_t fileio_nblocks(uint64_t size)
{
	return (size + FORMAT_BLOCK_LEN - 1) / FORMAT_BLOCK_LEN;
}

/* Plaintext bytes of block i in a file of `size` bytes (i < nblocks). */
static inline size_t fileio_blen(uint64_t size, uint64_t i)
{
	uint64_t rest = size - i * FORMAT_BLOCK_LEN;

	return rest < FORMAT_BLOCK_LEN ? (size_t)rest : FORMAT_BLOCK_LEN;
}

static inline uint64_t fileio_stride(const struct fileio *f)
{
	return block_slot_offset(f->cipher, 1) - block_slot_offset(f->cipher, 0);
}

/* fileio.c */
uint8_t *fileio_iobuf(size_t len);
uint8_t *fileio_scanbuf(void);
int fileio_header_store(struct fileio *f, uint32_t flags, uint64_t pending, int sync);
/* Every write of slots: through the journal when it overwrites existing ones. */
int fileio_put(struct fileio *f, const void *buf, size_t len, uint64_t off);
void fileio_report(const struct fileio *f, uint64_t blockno, const char *what);
int fileio_backing_size(const struct fileio *f, uint64_t *plain, int *tail_bad);
/* fileio_create with a given file id (NULL: random): the copy a rekey writes. */
int fileio_create_as(int fd, const struct keys_volume *kv, uint8_t cipher,
		     const uint8_t *file_id, struct fileio **out);

/* fileio_read.c */
int fileio_seal(const struct fileio *f, uint64_t i, uint32_t flags, uint32_t gap,
		const uint8_t *pt, size_t len, uint8_t *slot);
int fileio_open_data(const struct fileio *f, uint64_t nb, uint64_t i, const uint8_t *slot,
		     size_t len, uint8_t *pt, uint32_t *gap, const char **why);
int fileio_decode(const struct fileio *f, uint64_t size, uint64_t i,
		  const struct fileio_window *w, uint8_t *pt, struct fileio_holes *hc,
		  struct fileio_blk *b);
int fileio_load(const struct fileio *f, uint64_t size, uint64_t i, uint8_t *pt, int need_pt,
		struct fileio_holes *hc, struct fileio_blk *b);
int fileio_next_data(const struct fileio *f, uint64_t size, uint64_t from, uint64_t *k);
int fileio_auth_gap(const struct fileio *f, uint64_t size, uint64_t k, uint32_t *gap);
/* fileio_read and fileio_lseek for a caller already holding f->lock. */
ssize_t fileio_read_locked(struct fileio *f, void *buf, size_t len, uint64_t off);
int fileio_lseek_locked(struct fileio *f, uint64_t off, int whence, uint64_t *result);

/* fileio_write.c */
int fileio_trunc_finish(struct fileio *f, uint64_t size, const uint8_t *pt, uint32_t gap);

#endif
