/*
 * fuzz-p11blob.c: libFuzzer harness for what the pkcs11 provider reads from a
 * not yet authenticated config: its blob (kms-client/p11_blob.c), its URI
 * (p11_uri.c) and KEK ids (a slot's KEK id field). None may crash; a parsed
 * blob lies inside the input, and a parsed URI is NUL-terminated, absolute
 * where it names files, and holds a printable ASCII label.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p11_blob.h"
#include "p11_uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void blob(const uint8_t *data, size_t size)
{
	struct p11_blob b;
	char id[128];

	if (p11_blob_parse(data, size, &b) != 0)
		return;
	if (b.id_len > P11_ID_MAX || b.header_len + b.body_len != size ||
	    b.body != data + b.header_len)
		__builtin_trap();
	if (p11_key_id_format("kek", b.id, b.id_len, id, sizeof(id)) != 0)
		__builtin_trap();
}

static void uri(const char *s)
{
	struct p11_uri u;

	if (p11_uri_parse(s, &u) != 0)
		return;
	if (u.module[0] != '/' || u.pin_file[0] != '/' || !u.token[0] || !u.object[0] ||
	    (u.mech != P11_MECH_GCM && u.mech != P11_MECH_KWP))
		__builtin_trap();
	for (const char *c = u.object; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			__builtin_trap();
}

static void key_id(const char *s)
{
	uint8_t id[P11_ID_MAX];
	size_t n = 0;
	char again[128];

	if (p11_key_id_parse(s, "kek", id, &n) != 0)
		return;
	if (n > P11_ID_MAX || p11_key_id_format("kek", id, n, again, sizeof(again)) != 0 ||
	    strcmp(again, s) != 0)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	blob(data, size);
	uri(s);
	key_id(s);
	free(s);
	return 0;
}
