/*
 * writebehind.h: when a sequential writer's backing bytes should be pushed
 * to the disk early (docs/ARCHITECTURE.md "Write path"). Kept apart from
 * fileio_write.c so the stream detection can be tested without a file.
 */
#ifndef PHIFS_WRITEBEHIND_H
#define PHIFS_WRITEBEHIND_H

#include <stdatomic.h>
#include <stdint.h>

/* Plaintext bytes pushed at once, and how far behind the stream's front that
 * stays: the kernel sends a stream as concurrent requests, which the FUSE
 * threads may run up to ~25 MiB out of order. */
#define WB_WINDOW (8u << 20)
#define WB_LAG (8u << 20)
/* A write continues the stream when it starts at most this far past its
 * front, or this far behind it. */
#define WB_AHEAD (16u << 20)
#define WB_BEHIND (64u << 20)

/* Per open file; zero-initialised. */
struct wb_state {
	_Atomic uint64_t front;         /* furthest end of the current stream */
	_Atomic uint64_t from;          /* start of what has not been pushed yet */
	_Atomic uint64_t fill;          /* bytes the stream wrote since `from` moved */
};

/* Records the write [off, end). 1 when [*from, *to) (plaintext, multiples of
 * block) should be written out now, 0 when nothing is due. */
int wb_step(struct wb_state *s, uint64_t off, uint64_t end, uint64_t block, uint64_t *from,
	    uint64_t *to);

#endif
