/*
 * audit_io.c: the per-handle read/write summary of issue 4 — operation count,
 * bytes and merged byte ranges — kept in a fixed array so the read and write
 * paths never allocate. Sequential access extends the last range in O(1).
 * When more than AUDIT_IO_RANGES disjoint ranges are seen, the two with the
 * smallest gap between them are joined: the summary may then over-state what
 * was touched, never under-state it (an auditor must not miss a byte).
 * Locking and JSON belong to the caller (fs/audit.c).
 */
#include "config.h"

#include <string.h>

#include "audit_io.h"

static uint64_t end_of(const uint64_t r[2])
{
	return r[0] + r[1];
}

/* Joins the neighbours with the smallest gap; called when one range too many. */
static void join_closest(struct audit_io_dir *d)
{
	unsigned best = 0;
	uint64_t gap = UINT64_MAX;

	for (unsigned i = 0; i + 1 < d->n; i++) {
		uint64_t g = d->r[i + 1][0] - end_of(d->r[i]);

		if (g < gap) {
			gap = g;
			best = i;
		}
	}
	d->r[best][1] = end_of(d->r[best + 1]) - d->r[best][0];
	memmove(&d->r[best + 1], &d->r[best + 2], (d->n - best - 2) * sizeof(d->r[0]));
	d->n--;
}

void audit_io_add(struct audit_io_dir *d, uint64_t off, uint64_t len)
{
	uint64_t a = off, b;
	unsigned i, j;

	d->ops++;
	d->bytes += len;
	if (len == 0)
		return;
	b = len > UINT64_MAX - off ? UINT64_MAX : off + len;
	/* The common case: sequential access continues the last range. */
	if (d->n && d->r[d->n - 1][0] <= a && end_of(d->r[d->n - 1]) >= a) {
		if (b > end_of(d->r[d->n - 1]))
			d->r[d->n - 1][1] = b - d->r[d->n - 1][0];
		return;
	}
	/* i: first range ending at or after a; j: ranges starting at or before b. */
	for (i = 0; i < d->n && end_of(d->r[i]) < a; i++)
		;
	for (j = i; j < d->n && d->r[j][0] <= b; j++)
		;
	if (i == j) {
		memmove(&d->r[i + 1], &d->r[i], (d->n - i) * sizeof(d->r[0]));
		d->r[i][0] = a;
		d->r[i][1] = b - a;
		if (++d->n > AUDIT_IO_RANGES)
			join_closest(d);
		return;
	}
	/* Ranges i..j-1 overlap or touch [a, b): they become one. */
	if (d->r[i][0] < a)
		a = d->r[i][0];
	if (end_of(d->r[j - 1]) > b)
		b = end_of(d->r[j - 1]);
	d->r[i][0] = a;
	d->r[i][1] = b - a;
	memmove(&d->r[i + 1], &d->r[j], (d->n - j) * sizeof(d->r[0]));
	d->n -= j - i - 1;
}

void audit_io_note(struct audit_io *io, int write, uint64_t off, uint64_t len,
		   const struct timespec *now)
{
	if (audit_io_empty(io))
		io->first = *now;
	io->last = *now;
	audit_io_add(write ? &io->wr : &io->rd, off, len);
}

int audit_io_empty(const struct audit_io *io)
{
	return io->rd.ops == 0 && io->wr.ops == 0;
}

void audit_io_reset(struct audit_io *io)
{
	memset(io, 0, sizeof(*io));
}
