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
#define REPO_PACK_ALIGN 4096     /* bytes: pack buffers start on a page */
#define REPO_PACK_WRITERS 2      /* packs stored at once (disk writes overlap reads) */

struct repo_packer;

struct repo_pack_writer {
	struct repo_packer *p;
	pthread_t th;
	struct repo_pack_info fly;       /* the pack in flight (its blobs, size) */
	uint8_t *buf;                    /* its bytes; kept for a later pack once landed */
	size_t cap;                      /* bytes allocated at buf */
	int busy;                        /* a pack was handed over and is not landed */
	int done, ret;                   /* guarded by mu: stored, with this result */
};

struct repo_packer {
	struct repo *r;
	struct repo_index *ix;           /* dedup table; new blobs go in pending */
	pthread_mutex_t ix_mu;           /* held while ix changes: sealing threads look in it */
	uint8_t *buf;                    /* the pack being filled */
	size_t len, cap;                 /* bytes */
	struct repo_blob_ent *ents;      /* its blobs */
	size_t n, ents_cap;
	struct repo_pack_info *done;     /* written packs not yet in an index object */
	size_t ndone, done_cap;
	uint64_t new_blobs, new_bytes, packs;   /* stats: blobs, stored bytes, packs written */
	/* Packs in flight: each hashed and stored by its writer thread while
	 * the caller fills the next (only when the backend takes parallel
	 * puts). Handed out round robin; wr[next] holds the oldest. */
	struct repo_pack_writer wr[REPO_PACK_WRITERS];
	unsigned nwriters, next;
	pthread_mutex_t mu;
	pthread_cond_t cv;              /* guarded by mu: each writer's done, ret; stop */
	int stop;                       /* the writer threads should exit */
};

int repo_packer_new(struct repo *r, struct repo_index *ix, struct repo_packer **out);
/* Seals and adds the blob unless the index already has its id; *added says. */
int repo_packer_add(struct repo_packer *p, uint8_t type, const uint8_t id[32], const void *data,
		    size_t len, int *added);
/* As repo_packer_add with the blob already sealed (repo_obj_seal of data
 * under its id; raw_len: bytes before sealing); the caller keeps sealed. */
int repo_packer_add_sealed(struct repo_packer *p, uint8_t type, const uint8_t id[32],
			   const uint8_t *sealed, size_t slen, size_t raw_len, int *added);
/* Whether the index has the blob: safe from any thread (other threads than
 * the packer's caller may only look, not add). */
int repo_packer_known(struct repo_packer *p, const uint8_t id[32]);
/* Writes the current pack, if it holds anything. */
int repo_packer_flush(struct repo_packer *p);
/* Flushes, then writes one index object for every pack written so far. */
int repo_packer_write_index(struct repo_packer *p);
void repo_packer_free(struct repo_packer *p);

#endif
