/*
 * fuzz-chglog.c: libFuzzer harness for chglog_rec_decode (docs/FORMAT.md
 * §7.1). The record is read from a backing file's xattr, which anyone with
 * write access to the cipher directory can set. Besides memory safety, it
 * checks that whatever decodes encodes back to exactly the input (one
 * encoding per record), and that asking it for any generation stays in bounds.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chglog_rec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct chglog_rec r;
	static struct chglog_bits out;
	static uint8_t enc[CHGLOG_REC_MAX];
	size_t len;

	if (chglog_rec_decode(data, size, &r) != 0)
		return 0;
	if (chglog_rec_encode(&r, enc, sizeof(enc), &len) != 0 || len != size ||
	    memcmp(enc, data, size) != 0)
		abort();
	for (unsigned i = 0; i < r.nepoch; i++)
		(void)chglog_rec_since(&r, r.ep[i].since, &out);
	(void)chglog_rec_since(&r, r.gen, &out);
	(void)chglog_bits_any(&out, 0, UINT64_MAX >> 12);
	return 0;
}
