/*
 * writebehind.c: stream detection for write-behind (writebehind.h).
 *
 * The backing file system keeps a sequential writer's pages dirty until its
 * own thresholds (gigabytes on a large server) or the writer's fsync, which
 * then waits for all of it at once. fileio_write asks the backing file to
 * start writing out each completed window of a stream (SYNC_FILE_RANGE_WRITE
 * starts the I/O, it does not wait for it), so the disk works while the
 * daemon encrypts the rest.
 *
 * A write continues the stream when it starts less than WB_AHEAD past the
 * stream's front or less than WB_BEHIND behind it (concurrent requests
 * arrive out of order); anything else starts a new stream there. A window
 * is pushed only when the stream wrote at least three quarters of its
 * bytes, so writes scattered over a range (a database file) push nothing.
 * Lock-free: the offsets are atomics, and a lost race only costs an extra or
 * a missing push, never data (the pages stay dirty for the usual writeback).
 */
#include "config.h"

#include "writebehind.h"

static void wb_restart(struct wb_state *s, uint64_t off, uint64_t end, uint64_t block)
{
	atomic_store_explicit(&s->front, end, memory_order_relaxed);
	atomic_store_explicit(&s->from, off / block * block, memory_order_relaxed);
	atomic_store_explicit(&s->fill, end - off, memory_order_relaxed);
}

int wb_step(struct wb_state *s, uint64_t off, uint64_t end, uint64_t block, uint64_t *from,
	    uint64_t *to)
{
	uint64_t front = atomic_load_explicit(&s->front, memory_order_relaxed);
	uint64_t start, upto, fill;

	if (off > front + WB_AHEAD || off + WB_BEHIND < front) {
		wb_restart(s, off, end, block);
		return 0;
	}
	fill = atomic_fetch_add_explicit(&s->fill, end - off, memory_order_relaxed) + (end - off);
	if (end > front)
		atomic_store_explicit(&s->front, front = end, memory_order_relaxed);
	start = atomic_load_explicit(&s->from, memory_order_relaxed);
	if (front < start + WB_LAG + WB_WINDOW)
		return 0;
	upto = (front - WB_LAG) / block * block;
	if (fill < (upto - start) / 4 * 3) {
		wb_restart(s, off, end, block);  /* scattered, not a stream */
		return 0;
	}
	if (!atomic_compare_exchange_strong_explicit(&s->from, &start, upto, memory_order_relaxed,
						     memory_order_relaxed))
		return 0;
	atomic_fetch_sub_explicit(&s->fill, fill < upto - start ? fill : upto - start,
				  memory_order_relaxed);
	*from = start;
	*to = upto;
	return 1;
}
