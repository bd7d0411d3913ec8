/*
 * audit_writer.h: the daemon's audit writer thread, its bounded queue and the
 * failure policy (see audit_writer.c). Spec: docs/OPERATIONS.md "Audit".
 */
#ifndef PHIFS_AUDIT_WRITER_H
#define PHIFS_AUDIT_WRITER_H

/* Batched fdatasync period of the spool while records flow (written and
 * durable within this; audit_log_flush): each fdatasync commits the backing
 * filesystem's journal, and at 100 ms that cost an untar 30%; at 1 s it is
 * lost in noise (docs/PERFORMANCE.md, audit cost). */
#define AUDIT_SYNC_MS 1000

#include <stdint.h>
#include "format.h"

struct json_object;
struct audit_line;
struct audit_log;
struct audit_writer;

/* Names a queued item for audit_writer_join_ticket (see audit_writer_put_item_t). */
struct audit_writer_ticket {
	void *entry;                   /* NULL: nothing to join into */
	uint64_t gen;                  /* the batch it waits for */
};

/* Records waiting for the writer before the gate refuses (deny) or records
 * are counted as lost (continue). */
#define AUDIT_QUEUE_MAX 8192

/* The daemon's side of the writer, all called on the writer thread. */
struct audit_writer_cb {
	void (*interim)(void *arg);                       /* every interval_s seconds */
	/* An item's record: its time and the members after "time" (see
	 * audit_log_append_members) into out; -ENOMEM: lost. */
	int (*build)(void *arg, void *item, char time[40], struct audit_line *out);
	void (*drop)(void *item);                         /* frees an item */
	void *arg;
};

/* Starts the thread on an open log. cont: audit_on_failure=continue. */
int audit_writer_start(struct audit_log *log, const uint8_t volume_id[FORMAT_ID_LEN], int cont,
		       unsigned interval_s, const struct audit_writer_cb *cb,
		       struct audit_writer **out);
/* Takes ownership of rec (NULL counts as lost). keep: never dropped for a
 * full queue (handle summaries: bounded by the open handles). Returns once
 * the record is in the queue (accepted) or counted as lost. */
void audit_writer_put(struct audit_writer *w, struct json_object *rec, int keep);
/* The same for a captured event: cb->build makes its record on the writer
 * (NULL item counts as lost; a dropped one is freed with cb->drop). */
void audit_writer_put_item(struct audit_writer *w, void *item, int keep);
/* The same, and *t names the item while it is still queued (entry NULL when
 * it was counted as lost instead). */
void audit_writer_put_item_t(struct audit_writer *w, void *item, int keep,
			     struct audit_writer_ticket *t);
/* Offers arg to the newest queued item, still unwritten: join(item, arg)
 * returns 1 when it took arg into the item (which then records both), 0
 * when not. Returns join's answer, 0 when the queue's tail is not an item.
 * join runs under the queue's lock: it must be quick and must not block. */
int audit_writer_join(struct audit_writer *w, int (*join)(void *item, void *arg), void *arg);
/* The same for the item t names, wherever it is in the queue: 0 without
 * calling join once the writer has taken it (written or being written). */
int audit_writer_join_ticket(struct audit_writer *w, const struct audit_writer_ticket *t,
			     int (*join)(void *item, void *arg), void *arg);
/* 0, or -EIO (counted as refused) while records cannot be made durable or
 * the queue is full, under audit_on_failure=deny. */
int audit_writer_gate(struct audit_writer *w);
/* 1 while the queue is below its bound. */
int audit_writer_room(const struct audit_writer *w);
/* Writes what is queued (gives up on a failing sink), joins, frees; returns
 * the records that could not be written. NULL is fine. */
uint64_t audit_writer_stop(struct audit_writer *w);

#endif
