/*
 * fuzz-config.c: libFuzzer harness for format_config_decode (docs/FORMAT.md §3).
 *
 * phifs.conf is read before any key has checked it. Besides memory safety
 * (ASan/UBSan), whatever decodes must re-encode (the encoder accepts every
 * config the decoder does) to exactly the input bytes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct format_config c;
	static uint8_t out[FORMAT_CONFIG_MAX];
	size_t len = 0;

	if (format_config_decode(data, size, &c) != 0)
		return 0;
	if (format_config_encode(&c, out, sizeof(out), &len) != 0)
		abort();
	if (len != size || memcmp(out, data, size) != 0)
		abort();
	return 0;
}
