/*
 * le.h: the little-endian integers of the on-disk records (docs/FORMAT.md:
 * the journal §5.6, change records §7.1, the key table §12) — n bytes, n ≤ 8.
 * One definition for every record encoder and decoder.
 */
#ifndef PHIFS_LE_H
#define PHIFS_LE_H

#include <stdint.h>

static inline void le_put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t le_get(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#endif
