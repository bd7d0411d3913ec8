/*
 * inode.h: the daemon's inode table. See inode.c for the lock order.
 */
#ifndef PHIFS_INODE_H
#define PHIFS_INODE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "fileio.h"
#include "names.h"

struct inode {
	int fd;                          /* O_PATH fd on the backing object; immutable */
	ino_t ino;                       /* backing st_ino; immutable */
	dev_t dev;                       /* backing st_dev; immutable */
	mode_t type;                     /* S_IFMT bits; immutable */
	uint64_t nlookup;                /* kernel references; table lock */
	struct inode *next;              /* hash chain; table lock */
	pthread_mutex_t lock;            /* guards the fields below */
	int dirid_ok;                    /* dirid[] is valid */
	uint8_t dirid[NAMES_DIRID_LEN];
	struct fileio *fio;              /* open file state, shared by all handles */
	unsigned nopen;                  /* handles using fio */
	int unlinked;                    /* a regular file whose last backing link is gone */
};

struct inode_table {
	pthread_mutex_t lock;            /* guards buckets, chains and nlookup */
	struct inode **buckets;
	size_t nbuckets;                 /* power of two */
	size_t count;
	struct inode root;
	struct inode_reaper *reaper;     /* inode_reap.c; started at first use */
};

int inode_table_init(struct inode_table *t, int rootfd);
void inode_table_destroy(struct inode_table *t);
/* Opens backing `name` under `parent` (O_PATH|O_NOFOLLOW), finds or inserts its
 * inode and takes one lookup reference. *st receives the backing stat. */
int inode_lookup(struct inode_table *t, struct inode *parent, const char *name,
		 struct inode **out, struct stat *st);
void inode_forget(struct inode_table *t, struct inode *i, uint64_t n);
/* Cached directory id of a directory inode. */
int inode_dirid(struct inode *dir, uint8_t out[NAMES_DIRID_LEN]);
/* Shared fileio for a regular file: opens it on first use (nopen counts). */
int inode_file_get(struct inode *i, const struct keys_volume *kv, int writable,
		   struct fileio **out);
/* Install a fileio made by create (nopen = 1). */
void inode_file_set(struct inode *i, struct fileio *fio);
void inode_file_put(struct inode *i);
/*
 * The backing regular file dev/ino just lost a link through this mount. When
 * it has none left, its data blocks are given back shortly (no open handle:
 * inode_reap.c) or at the last release, instead of only when the kernel
 * forgets the inode, which can be much later (the node's O_PATH fd keeps the
 * inode alive). A later first open
 * of the node fails with ENOENT, as if the unlink had come first.
 */
void inode_unlinked(struct inode_table *t, dev_t dev, ino_t ino);
/* Cuts an unlinked node's backing file to its header (frees the data). */
void inode_release_space(struct inode *i);
/* inode_reap.c: hands over one lookup reference on an unlinked node; the
 * reaper frees its space later unless the kernel forgets it first. */
void inode_reap_later(struct inode_table *t, struct inode *i);
/* Stops the reaper (at unmount, before the table is destroyed). */
void inode_reap_stop(struct inode_table *t);
/* "/proc/self/fd/N" for calls that do not take an O_PATH fd. */
void inode_procpath(const struct inode *i, char buf[64]);

#endif
