/*
 * chglog_rec.h: the change record a mounted phifs stores on each backing file
 * it writes (docs/FORMAT.md §7.1): which plaintext block regions changed in
 * which write generations, so that phifs-backup can read only those
 * (docs/BACKUP_FORMAT.md §7.1). Encoding, decoding and region bitmaps only:
 * the daemon's bookkeeping is chglog.c, the backup's use is cmd_backup.c.
 */
#ifndef PHIFS_CHGLOG_REC_H
#define PHIFS_CHGLOG_REC_H

#include <stddef.h>
#include <stdint.h>

#define CHGLOG_XATTR "user.phifs.chg"  /* never a valid encrypted name (FORMAT.md §7) */
#define CHGLOG_MAGIC "PHCG"
#define CHGLOG_VERSION 1
#define CHGLOG_ID_LEN 16
#define CHGLOG_EPOCHS 4                /* epochs kept; older ones merge */
#define CHGLOG_REGIONS 65536           /* bits per bitmap (256 MiB at one block each); regions grow to fit */
#define CHGLOG_MAX_SHIFT 40            /* 2^40 blocks per region: any file */
#define CHGLOG_HDR_LEN 64
#define CHGLOG_EPOCH_HDR_LEN 18
#define CHGLOG_REC_MAX 3072            /* encoded; regions grow until it fits */

#define CHGLOG_F_WRITING 0x01          /* a generation is being written: trust nothing */

/* Dirty regions: bit r covers plaintext blocks [r << shift, (r + 1) << shift). */
struct chglog_bits {
	uint8_t shift;
	uint32_t nreg;                 /* regions in use, <= CHGLOG_REGIONS */
	uint8_t b[CHGLOG_REGIONS / 8];
};

/* Epoch i holds the regions written in generations (since, next epoch's since]. */
struct chglog_epoch {
	uint64_t since;                /* generation before the epoch's first */
	uint64_t start_s;              /* Unix seconds when it began (merge policy only) */
	struct chglog_bits bits;       /* shift and nreg equal the record's */
};

struct chglog_rec {
	uint8_t flags;                 /* CHGLOG_F_* */
	uint8_t id[CHGLOG_ID_LEN];     /* lineage: random, new whenever continuity is lost */
	uint64_t gen;                  /* last complete generation */
	int64_t mtime_ns;              /* backing st_mtim right after generation gen */
	uint64_t size;                 /* backing st_size then */
	int64_t stored_ns;             /* coarse clock when stored; > mtime_ns */
	uint8_t nepoch;
	struct chglog_epoch ep[CHGLOG_EPOCHS];
};

/* Marks blocks [first, last] (inclusive; nothing when first > last),
 * doubling the region size while they do not fit. */
void chglog_bits_mark(struct chglog_bits *b, uint64_t first, uint64_t last);
/* Coarsens to 2^shift blocks per region (no-op when already that coarse). */
void chglog_bits_coarsen(struct chglog_bits *b, unsigned shift);
/* 1 when any block of [first, last] may have changed (regions past nreg: yes). */
int chglog_bits_any(const struct chglog_bits *b, uint64_t first, uint64_t last);
/* dst |= src; both coarsened to the larger shift first. */
void chglog_bits_or(struct chglog_bits *dst, struct chglog_bits *src);

/* -ERANGE when it does not fit in cap (chglog_rec_fit first). */
int chglog_rec_encode(const struct chglog_rec *r, uint8_t *out, size_t cap, size_t *len);
/* Coarsens every epoch until the record encodes in CHGLOG_REC_MAX bytes. */
void chglog_rec_fit(struct chglog_rec *r);
/* -EBADMSG for anything not exactly a valid record. */
int chglog_rec_decode(const uint8_t *in, size_t len, struct chglog_rec *r);
/* 1 when the record is complete and names exactly this backing mtime and
 * size, stored after that mtime: what a reader may trust (FORMAT.md §7.1). */
int chglog_rec_vouches(const struct chglog_rec *r, int64_t mtime_ns, uint64_t size);
/* The regions written after generation `seen` into *out: 0, or -ESTALE when
 * the record cannot tell (writing, older than `seen`'s epoch, or ahead of gen). */
int chglog_rec_since(const struct chglog_rec *r, uint64_t seen, struct chglog_bits *out);
/* Appends generation gen+1 with regions `dirty` started at now_s, merging the
 * two adjacent epochs of shortest span when more than CHGLOG_EPOCHS. */
void chglog_rec_append(struct chglog_rec *r, struct chglog_bits *dirty, uint64_t now_s);

#endif
