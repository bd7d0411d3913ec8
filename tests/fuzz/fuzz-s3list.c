/*
 * fuzz-s3list.c: libFuzzer harness for the hand-written S3 XML reader
 * (tools/phifs-backup/s3_xml.c), which parses what an S3 endpoint — possibly
 * hostile or broken — answers to ListObjectsV2, the Object Lock probe and
 * errors. None may crash or overrun; every key handed to the callback is a
 * non-empty NUL-terminated string without control bytes, within its bound;
 * a truncated page always carries a continuation token.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "s3_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_key(void *arg, const char *key, uint64_t sz)
{
	size_t n = strnlen(key, 1025);

	(void)sz;
	if (n == 0 || n > 1024)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)key[i] < 0x20)
			__builtin_trap();
	return ++*(int *)arg > 5000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tags[] = { "Code", "ObjectLockEnabled", "Mode", "Key", "Contents" };
	struct s3_list_page pg;
	char out[64];
	int n = 0;

	if (s3_xml_list_page((const char *)data, size, on_key, &n, &pg) == 0 && pg.truncated &&
	    pg.next_token[0] == '\0')
		__builtin_trap();
	if (strnlen(pg.next_token, sizeof(pg.next_token)) > S3_XML_TOKEN_MAX)
		__builtin_trap();
	for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++)
		if (s3_xml_text((const char *)data, size, tags[t], out, sizeof(out)) == 0 &&
		    strnlen(out, sizeof(out)) >= sizeof(out))
			__builtin_trap();
	return 0;
}
