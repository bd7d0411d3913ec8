/*
 * fuzz-keytab.c: libFuzzer harness for keytab_header_decode (docs/FORMAT.md
 * §12.1) and the page opener (§12.2).
 *
 * A key table is read from the cipher dir, which an attacker (or an old
 * backup) may have replaced. Memory safety, and canonicality: whatever decodes
 * encodes back to exactly the input. The input's tail beyond the header is
 * given to keytab_page_open under a fixed key: it must fail cleanly.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keytab_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[KEYS_TK_LEN], vid[FORMAT_ID_LEN];
	static uint8_t out[KEYTAB_HDR_LEN], plain[KEYTAB_PAGE_PLAIN];
	struct keytab_header h;

	if (size >= KEYTAB_HDR_LEN + KEYTAB_PAGE_LEN &&
	    keytab_page_open(key, vid, 1, 0, data + KEYTAB_HDR_LEN, plain) == 0)
		abort();   /* a forged tag under a key nobody holds */
	if (keytab_header_decode(data, size < KEYTAB_HDR_LEN ? size : KEYTAB_HDR_LEN, &h) != 0)
		return 0;
	if (keytab_header_encode(&h, out) != 0 || memcmp(out, data, KEYTAB_HDR_LEN) != 0)
		abort();
	return 0;
}
