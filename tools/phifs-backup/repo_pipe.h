/* repo_pipe.h: the chunks of one file, read by the caller and identified
 * and sealed on worker threads, handed to the packer in file order
 * (repo_pipe.c, docs/BACKUP_FORMAT.md §7 steps 4–5). Use per pass:
 *
 *   repo_pipe_begin(pp, ids, store, bytes);
 *   for each chunk j: repo_pipe_slot(pp, &buf); read len bytes into buf;
 *                     repo_pipe_submit(pp, len, j);
 *   ret = repo_pipe_end(pp);        // waits for all; ids[j] = hex id
 */
#ifndef PHIFS_BACKUP_REPO_PIPE_H
#define PHIFS_BACKUP_REPO_PIPE_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "repo.h"
#include "repo_pack.h"

#define REPO_PIPE_MAX_THREADS 8

struct repo_pipe;

/* nthreads 0..REPO_PIPE_MAX_THREADS; 0: all work on the caller's thread. */
int repo_pipe_new(struct repo *r, struct repo_packer *pk, unsigned nthreads,
		  struct repo_pipe **out);
void repo_pipe_free(struct repo_pipe *pp);
/* A pass: ids (a JSON array) gets chunk j's hex id at index j; store:
 * sealed chunks go to the packer (else ids only); bytes: about what the
 * pass reads (a short pass is done on the caller's thread). */
void repo_pipe_begin(struct repo_pipe *pp, struct json_object *ids, int store, uint64_t bytes);
/* A free buffer of chunk_max bytes for the next chunk; earlier chunks are
 * landed on the way. 0, or the first error of this pass. */
int repo_pipe_slot(struct repo_pipe *pp, uint8_t **buf);
/* The buffer of the last repo_pipe_slot holds len bytes of chunk j. */
int repo_pipe_submit(struct repo_pipe *pp, size_t len, size_t j);
/* Waits for every submitted chunk and lands it. 0, or the pass's first
 * error (-errno from the id, the seal or the packer). */
int repo_pipe_end(struct repo_pipe *pp);

#endif
