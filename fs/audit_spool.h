/*
 * audit_spool.h: the local append-only spool of one audit stream (see
 * audit_spool.c). Spec: docs/AUDIT_FORMAT.md "Files and rotation".
 */
#ifndef PHIFS_AUDIT_SPOOL_H
#define PHIFS_AUDIT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "audit_chain.h"

/* "<stream>.<first seq, 20 decimal digits>.log" */
#define AUDIT_SPOOL_NAME_MAX (AUDIT_STREAM_MAX + 1 + 20 + 4 + 1)

struct audit_spool;

/* Where the stream's chain stands on disk: the last complete line's seq and
 * hash (0 and zeros when the stream is new). */
struct audit_tail {
	uint64_t seq;
	char head[AUDIT_HEX_LEN + 1];
};

/* Parses a spool file name: 0 with the stream and the first seq, or -EINVAL. */
int audit_spool_name_parse(const char *name, char stream[AUDIT_STREAM_MAX + 1], uint64_t *first);
/* Opens the stream's spool in dir (created 0700 if missing) and finds its
 * tail. rotate_bytes/rotate_ms: the current file's limits. */
int audit_spool_open(const char *dir, const char *stream, uint64_t rotate_bytes, uint64_t rotate_ms,
		     uint64_t now_ms, struct audit_spool **out, struct audit_tail *tail);
/* 1 when the current file is past its size or age (the writer then
 * checkpoints, and calls audit_spool_rotate). */
int audit_spool_due(const struct audit_spool *s, uint64_t now_ms);
/* Syncs and closes the current file; the next write starts a new one. */
int audit_spool_rotate(struct audit_spool *s);
/* Appends line + '\n' to the batch (record seq names a new file). 0 or -errno. */
int audit_spool_write(struct audit_spool *s, uint64_t seq, const char *line, size_t len, uint64_t now_ms);
/* line + '\n' in one write(2) on an O_APPEND fd: a record lands whole or
 * as a torn tail, never interleaved. Also the checkpoint file's writer. */
int audit_spool_write_line(int fd, const char *line, size_t len);
/* fdatasync of what was written since the last sync. */
/* Writes the batch in one write(2): 0, or -errno (whole lines that landed
 * stay; the rest waits for the next flush, in a new file). */
int audit_spool_flush(struct audit_spool *s);
/* The batch is worth a write(2) once it holds AUDIT_SPOOL_FLUSH_BYTES or its
 * first line is AUDIT_SPOOL_FLUSH_MS old (at once while the spool is failing).
 * flush_in: 0 nothing waits, 1 due now, else ms until due; flush_due:
 * audit_spool_flush when due, else 0. */
#define AUDIT_SPOOL_FLUSH_BYTES (512u << 10)
#define AUDIT_SPOOL_FLUSH_MS 1000u
uint64_t audit_spool_flush_in(const struct audit_spool *s, uint64_t now_ms);
int audit_spool_flush_due(struct audit_spool *s, uint64_t now_ms);
/* Takes back the last n bytes written to the batch if they have not landed
 * (0), else -ENOENT. */
int audit_spool_unwrite(struct audit_spool *s, size_t n);
/* Flush, then fdatasync. */
int audit_spool_sync(struct audit_spool *s);
void audit_spool_close(struct audit_spool *s);

#endif
