/* repo_pack.h: writing blobs into packs and packs into the index
 * (repo_pack.c, docs/BACKUP_FORMAT.md §6.2, §7 step 5). */
#ifndef PHIFS_BACKUP_REPO_PACK_H
#define PHIFS_BACKUP_REPO_PACK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "repo.h"
#include "repo_index.h"

#define REPO_PACKS_PER_INDEX 64

struct repo_packer {
	struct repo *r;
	struct repo_index *ix;           /* dedup table; new blobs go in pending */
	uint8_t *buf;                    /* the pack being filled */
	size_t len, cap;                 /* bytes */
	struct repo_blob_ent *ents;      /* its blobs */
	size_t n, ents_cap;
	struct repo_pack_info *done;     /* written packs not yet in an index object */
	size_t ndone, done_cap;
	uint64_t new_blobs, new_bytes, packs;   /* stats: blobs, stored bytes, packs written */
	/* One pack in flight: hashed and stored by a writer thread while the
	 * caller fills the next (only when the backend takes parallel puts). */
	int threaded;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;              /* guarded by mu: the four fields below */
	struct repo_pack_info fly;      /* the pack in flight (its blobs, size) */
	uint8_t *fly_buf;               /* its bytes; NULL when none in flight */
	int fly_done, fly_ret;          /* the writer finished it; with this result */
	int stop;                       /* the writer thread should exit */
};

int repo_packer_new(struct repo *r, struct repo_index *ix, struct repo_packer **out);
/* Seals and adds the blob unless the index already has its id; *added says. */
int repo_packer_add(struct repo_packer *p, uint8_t type, const uint8_t id[32], const void *data,
		    size_t len, int *added);
/* Writes the current pack, if it holds anything. */
int repo_packer_flush(struct repo_packer *p);
/* Flushes, then writes one index object for every pack written so far. */
int repo_packer_write_index(struct repo_packer *p);
void repo_packer_free(struct repo_packer *p);

#endif
