/*
 * fileio.h: reading and writing one encrypted regular file through its backing
 * fd: header, key unwrap, block read-modify-write, holes, truncation and the
 * crash-ordering rules of docs/FORMAT.md §5.3–5.5. Thread-safe per object:
 * readers share, writers and truncation are exclusive.
 */
#ifndef PHIFS_FILEIO_H
#define PHIFS_FILEIO_H

#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include "format.h"
#include "keys.h"

struct fileio;

/* fd: an empty backing file open O_RDWR; writes a new header (takes the fd). */
int fileio_create(int fd, const struct keys_volume *kv, uint8_t cipher, struct fileio **out);
/* fd: backing file open O_RDWR (or O_RDONLY for a read-only mount; writes
 * then fail with -EROFS). Reads and checks the header, finishes a pending
 * truncation (§5.5) when writable. Takes ownership of fd (closed by fileio_close,
 * also on error). -EBADMSG bad header/MAC, -ENOKEY key version not unlocked. */
int fileio_open(int fd, const struct keys_volume *kv, int writable, struct fileio **out);
void fileio_close(struct fileio *f);

/* Byte counts or -errno. A block failing authentication gives -EIO for this
 * call and one hook_integrity_failure(); other calls are unaffected. A read
 * returns fewer bytes only at EOF. */
ssize_t fileio_read(struct fileio *f, void *buf, size_t len, uint64_t off);
ssize_t fileio_write(struct fileio *f, const void *buf, size_t len, uint64_t off);
int fileio_truncate(struct fileio *f, uint64_t size);
/* mode 0 only (allocate/extend); others -EOPNOTSUPP. */
int fileio_fallocate(struct fileio *f, int mode, uint64_t off, uint64_t len);
int fileio_size(struct fileio *f, uint64_t *size);
int fileio_fsync(struct fileio *f, int datasync);
/* SEEK_DATA / SEEK_HOLE in plaintext terms; -ENXIO past EOF. */
int fileio_lseek(struct fileio *f, uint64_t off, int whence, uint64_t *result);
const uint8_t *fileio_file_id(const struct fileio *f);
int fileio_fd(const struct fileio *f);

/* A new data key for the file and every block re-encrypted under it, online
 * and crash-safe (docs/FORMAT.md §5.7; fileio_rekey.c). Needs the journal
 * (journal_open). -EROFS read-only, -EUCLEAN a failed rekey awaits a remount. */
int fileio_rekey(struct fileio *f);
/* The ioctl on an open file of the mount that asks the daemon for
 * fileio_rekey (root only; phifs-keys rekey). */
#define FILEIO_IOC_REKEY _IO('P', 1)

/* What `phifs-keys shred` learns of an open file (FORMAT.md §12; no key bytes):
 * its id and the key-table slot its data key depends on (fileio_keyinfo.c). */
struct fileio_keyinfo {
	uint8_t volume_id[FORMAT_ID_LEN];   /* the mounted volume's (filled by fuse_ops) */
	uint8_t file_id[FORMAT_ID_LEN];
	uint32_t flags;                 /* header flags (FORMAT_HDR_*) */
	uint32_t keytab_slot;           /* meaningful with FORMAT_HDR_KEYTAB */
	uint32_t keytab_on;             /* 1: the daemon has the volume's key table */
};
void fileio_keyinfo(struct fileio *f, struct fileio_keyinfo *out);
#define FILEIO_IOC_KEYINFO _IOR('P', 2, struct fileio_keyinfo)

/* fsck: authenticate the header and every block; cb once per problem found.
 * Returns the number of problems (0 = clean) or -errno if it could not check. */
typedef void (*fileio_problem_fn)(void *arg, uint64_t blockno, const char *what);
int fileio_verify(struct fileio *f, fileio_problem_fn cb, void *arg);

#endif
