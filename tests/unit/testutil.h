/* testutil.h: helpers shared by the cmocka unit tests (hex, temp dirs). */
#ifndef PHIFS_TESTUTIL_H
#define PHIFS_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <fcntl.h>
#include <unistd.h>

/* Decode hex into a malloc'd buffer; *len receives the byte count. */
static inline uint8_t *tu_hex(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2;
	uint8_t *out = malloc(n ? n : 1);

	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		unsigned int v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	*len = n;
	return out;
}

/* Up to cap bytes of a file (dirfd may be AT_FDCWD); the count read. */
static inline size_t tu_read_file(int dirfd, const char *name, void *buf, size_t cap)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, cap);
	assert_true(n >= 0);
	close(fd);
	return (size_t)n;
}

#endif
