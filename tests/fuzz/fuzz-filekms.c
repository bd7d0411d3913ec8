/*
 * fuzz-filekms.c: libFuzzer harness for the per-file KMS header field
 * (docs/FORMAT.md §4.4): a 176-byte header through format_header_decode and,
 * for wrap kind 2, its wrapped field through filekms_blob_decode — both read
 * from the untrusted backing store before the KMS sees a byte. Whatever
 * decodes must encode back to exactly the same bytes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filekms.h"
#include "format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t wrapped[FORMAT_HEADER_WRAPPED_MAX], enc[FORMAT_HEADER_LEN];
	struct format_header h;
	const uint8_t *body = NULL;
	size_t blen = 0;
	uint16_t len = 0;

	if (format_header_decode(data, size, &h) != 0)
		return 0;
	format_header_encode(&h, enc);
	if (memcmp(enc, data, FORMAT_HEADER_LEN) != 0)
		abort();
	if (h.wrap_kind != FORMAT_WRAP_KMS)
		return 0;
	if (filekms_blob_decode(h.wrapped, h.wrapped_len, &body, &blen) != 0)
		return 0;
	if (body < h.wrapped || body + blen > h.wrapped + h.wrapped_len)
		abort();
	if (filekms_blob_encode(body, blen, wrapped, sizeof(wrapped), &len) != 0 ||
	    len != h.wrapped_len || memcmp(wrapped, h.wrapped, len) != 0)
		abort();
	return 0;
}
