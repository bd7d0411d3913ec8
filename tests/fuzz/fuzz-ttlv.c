/*
 * fuzz-ttlv.c: libFuzzer harness for the TTLV reader (kms-client/ttlv.c) and
 * the KMIP response parser above it (kmip_msg.c): both read bytes from the
 * network before anything about them is trusted. None may crash or read out
 * of bounds; a message ttlv_decode accepts must be walkable to its leaves and
 * every value read stays inside the input. Seeds: captured PyKMIP messages.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "kmip_msg.h"
#include "ttlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct ttlv *it, const uint8_t *data, size_t size)
{
	struct ttlv child;
	size_t pos = 0;
	int r;

	if (it->val < data || it->val + it->len > data + size)
		__builtin_trap();
	if (it->type != TTLV_STRUCT)
		return;
	while ((r = ttlv_next(it, &pos, &child)) == 1)
		walk(&child, data, size);
	if (r < 0)
		__builtin_trap();   /* decode accepted what a walk refuses */
}

static void responses(const uint8_t *data, size_t size)
{
	static const enum kmip_op ops[] = { KMIP_OP_CREATE, KMIP_OP_LOCATE,
					    KMIP_OP_GET_ATTRIBUTES, KMIP_OP_DECRYPT };
	char uid[KMIP_UID_MAX + 1];
	const uint8_t *p = NULL;
	struct kmip_resp r;
	uint32_t state = 0;
	int64_t date = 0;
	size_t len = 0;

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (kmip_resp_parse(data, size, ops[i], &r) != 0)
			continue;
		(void)kmip_resp_errno(&r, ops[i]);
		for (size_t n = 0; n < 4 && kmip_resp_uid_at(&r, n, uid, sizeof(uid)) == 0; n++)
			if (!kmip_uid_valid(uid, strlen(uid)))
				__builtin_trap();
		if (kmip_resp_data(&r, &p, &len) == 0 && (p < data || p + len > data + size))
			__builtin_trap();
		(void)kmip_resp_tag(&r, &p, &len);
		(void)kmip_resp_attrs(&r, &state, &date);
		(void)kmip_resp_has_version(&r, 1, 4);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ttlv root;

	if (ttlv_decode(data, size, &root) == 0)
		walk(&root, data, size);
	responses(data, size);
	return 0;
}
