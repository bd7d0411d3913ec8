/*
 * fuzz-header.c: libFuzzer harness for format_header_decode (docs/FORMAT.md §4).
 *
 * The decoder reads bytes from an untrusted backing store. Besides memory
 * safety (ASan/UBSan), it checks canonicality: whatever decodes must encode
 * back to exactly the input, so no two byte strings mean the same header.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct format_header h;
	uint8_t out[FORMAT_HEADER_LEN];

	if (format_header_decode(data, size, &h) != 0)
		return 0;
	format_header_encode(&h, out);
	if (size != FORMAT_HEADER_LEN || memcmp(out, data, size) != 0)
		abort();
	return 0;
}
