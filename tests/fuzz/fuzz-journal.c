/*
 * fuzz-journal.c: libFuzzer harness for the write journal's record parser
 * (docs/FORMAT.md §5.6; fs/journal_replay.c, fs/journal_hole.c).
 *
 * Journal files sit in the cipher directory, which an attacker may edit;
 * replay parses them at every mount after a crash, before any key is used.
 * Besides memory safety (ASan/UBSan) it checks what replay relies on: an
 * accepted record lies past the header, inside its claimed old size (but an
 * UNDO of an extension over a gap: no saved bytes, offset past the old
 * size), and a HOLE record's saved bytes fit inside its write.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "journal_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *tail;
	uint64_t old_end, off, len;

	if (journal_record_check(data, size) != 0)
		return 0;
	if (size < J_FIXED2 || data[3] != '2')
		return 0;   /* PHJ1: by path, checked the same way */
	tail = data + 16 + FORMAT_ID_LEN;
	old_end = le_get(tail, 8);
	off = le_get(tail + 8, 8);
	len = le_get(tail + 16, 4);
	if (off < FORMAT_HEADER_LEN || size < J_FIXED2 + len)
		abort();
	if (data[4] == J_KIND_HOLE) {
		const uint8_t *p = tail + 20;
		uint64_t w = le_get(p, 4), h = le_get(p + 4, 4);

		if (len < 8 || h > len - 8 || len - 8 > w || off + w > old_end)
			abort();
	} else if (off + len > old_end && !(data[4] == J_KIND_UNDO && len == 0)) {
		abort();
	}
	return 0;
}
