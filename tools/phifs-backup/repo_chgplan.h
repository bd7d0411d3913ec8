/* repo_chgplan.h: which chunks of a changed file a backup may take from the
 * parent snapshot instead of reading them, by the daemon's change record
 * (repo_chgplan.c, docs/BACKUP_FORMAT.md §7.1). */
#ifndef PHIFS_BACKUP_REPO_CHGPLAN_H
#define PHIFS_BACKUP_REPO_CHGPLAN_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "chglog_rec.h"
#include "repo_index.h"
#include "repo_patch.h"

/* The record on an open backing file, raw (for the before/after compare of
 * §7 step 4) and decoded. *trusted: it is complete (not WRITING) and names
 * exactly this size and mtime, stored after that mtime. */
struct chgplan_rec {
	uint8_t raw[CHGLOG_REC_MAX];
	size_t len;                    /* 0: none */
	struct chglog_rec rec;
	int trusted;
};

/* A base chunk gets patches instead of a whole read while its patched slots
 * stay at most 1/CHGPLAN_REBASE_DIV of it and it has at most
 * CHGPLAN_PATCHES_MAX patches; past that it is read whole ("rebase",
 * BACKUP_FORMAT.md §6.3). */
#define CHGPLAN_REBASE_DIV 4
#define CHGPLAN_PATCHES_MAX 16

struct chgplan {
	size_t n;                      /* chunks of the parent's entry */
	uint8_t *reuse;                /* n flags: 1 = take the parent's chunk j unread */
	struct json_object *ids;       /* the parent's "c" (borrowed) */
	struct repo_patch *pa;         /* the file's patches after this read, sorted */
	uint8_t *fresh;                /* npa flags: 1 = to be read now (id set by the reader) */
	size_t npa;
};

void chgplan_rec_read(int fd, const struct stat *st, struct chgplan_rec *out);
/* 1 when two reads of the record gave the same bytes. */
int chgplan_rec_same(const struct chgplan_rec *a, const struct chgplan_rec *b);
/* A plan for reading a file of st->st_size bytes whose parent entry is p:
 * 0 with out filled, or -ESTALE when the record does not vouch for
 * everything since the parent's read (then read the file whole). With
 * patches (a version-2 repository), a chunk written in a few slots keeps
 * its base and gets patches of those slots (§6.3). */
int chgplan_make(struct json_object *p, const struct chgplan_rec *r, const struct stat *st,
		 uint32_t slot, uint32_t chunk_max, const struct repo_index *ix, int patches,
		 struct chgplan *out);
void chgplan_free(struct chgplan *pl);
/* The entry keys "cl" / "cg" (§9.1) for a trusted record. */
void chgplan_tag(struct json_object *e, const struct chgplan_rec *r);

#endif
