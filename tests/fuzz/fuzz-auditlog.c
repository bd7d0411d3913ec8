/*
 * fuzz-auditlog.c: libFuzzer harness for the audit verifier's line parsers
 * (fs/audit_verify.c, docs/AUDIT_FORMAT.md "Record envelope",
 * "Checkpoints").
 *
 * `phifs-audit verify` reads files an attacker may have written. Besides
 * memory safety (ASan/UBSan): whatever parses has the envelope the verifier
 * relies on (seq > 0, 64-hex prev, the MAC suffix at the end), and the MAC
 * check never accepts a line under a key that did not seal it.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "audit_chain.h"
#include "audit_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ckpt_line(const uint8_t *data, size_t size)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	struct audit_ckpt c;
	static const uint8_t pk[AUDIT_PK_LEN];

	if (!tok)
		return;
	o = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	if (o && audit_ckpt_parse(o, 1, &c) == 0) {
		if (!audit_stream_valid(c.stream) || strlen(c.head) != AUDIT_HEX_LEN)
			abort();
		audit_ckpt_check(&c, c.stream, pk);
	}
	json_object_put(o);
	json_tokener_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[AUDIT_KEY_LEN] = { 1 };
	struct audit_rec r;
	const char *why = NULL;
	size_t body = 0;
	uint8_t mac[AUDIT_HASH_LEN];

	if (size > AUDIT_LINE_MAX)
		return 0;
	if (audit_rec_parse((const char *)data, size, &r, &why) == 0) {
		if (r.seq == 0 || strlen(r.prev) != AUDIT_HEX_LEN ||
		    audit_chain_split((const char *)data, size, &body, mac) != 0 || body >= size)
			abort();
		/* A fuzzer cannot forge HMAC-SHA256; a check that passes means
		 * the check is broken. */
		if (audit_chain_check(key, (const char *)data, size) == 0)
			abort();
	} else if (!why || !why[0]) {
		abort();
	}
	audit_rec_free(&r);
	check_ckpt_line(data, size);
	return 0;
}
