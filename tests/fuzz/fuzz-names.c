/*
 * fuzz-names.c: libFuzzer harness for the parsers of attacker-controlled
 * backing names (fs/names.c, fs/b64.c; docs/FORMAT.md §6, §7).
 *
 * The input, as a string, is offered to every decoder that reads backing
 * text: names_decrypt (fixed key and dir id), names_symlink_decrypt,
 * names_xattr_name_decrypt, names_is_long/names_is_reserved, and raw to
 * b64_decode. None may crash. Whatever is accepted must be canonical: decoded
 * bytes re-encode to the same text, and a decrypted name, target or xattr
 * name re-encrypts to exactly the input, so one plaintext never has two
 * backing forms. Seeds in corpus/names/ are valid encryptions under this key.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -Ifs -Ikms-client \
 *   tests/fuzz/fuzz-names.c fs/names.c fs/b64.c fs/cipher.c fs/secmem.c \
 *   -lcrypto -lsodium -o /tmp/fz
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TEXT_MAX 8192

static const uint8_t fz_dirid[NAMES_DIRID_LEN] = {
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
	0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
};

static void fz_key(uint8_t key[NAMES_KEY_LEN])
{
	for (int i = 0; i < NAMES_KEY_LEN; i++)
		key[i] = (uint8_t)i;
}

static void check_b64(const uint8_t *data, size_t size)
{
	static uint8_t raw[TEXT_MAX];
	static char text[TEXT_MAX * 2];
	size_t n;

	if (b64_decode((const char *)data, size, raw, sizeof(raw), &n))
		return;
	if (b64_encode(raw, n, text, sizeof(text)) || strlen(text) != size ||
	    memcmp(text, data, size))
		abort();
}

static void check_name(const uint8_t *key, const char *in)
{
	char name[NAME_MAX + 1], again[NAMES_ENC_MAX];

	/* A long entry's name is reserved; a decryptable text never is. */
	if (names_is_long(in) && !names_is_reserved(in))
		abort();
	if (names_decrypt(key, fz_dirid, in, name, sizeof(name)))
		return;
	if (names_encrypt(key, fz_dirid, name, again, sizeof(again)) || strcmp(again, in))
		abort();
}

static void check_symlink(const uint8_t *key, const char *in)
{
	static char target[PATH_MAX + 1], again[TEXT_MAX];

	if (names_symlink_decrypt(key, in, target, sizeof(target)))
		return;
	if (names_symlink_encrypt(key, target, again, sizeof(again)) || strcmp(again, in))
		abort();
}

static void check_xattr_name(const uint8_t *key, const char *in)
{
	char name[NAME_MAX + 1], again[NAME_MAX + 1];

	if (names_xattr_name_decrypt(key, in, name, sizeof(name)))
		return;
	if (names_xattr_name_encrypt(key, name, again, sizeof(again)) || strcmp(again, in))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char in[TEXT_MAX + 1];
	uint8_t key[NAMES_KEY_LEN];

	if (size > TEXT_MAX)
		return 0;
	fz_key(key);
	check_b64(data, size);
	/* Backing names are C strings: the text ends at the first NUL. */
	memcpy(in, data, size);
	in[size] = '\0';
	check_name(key, in);
	check_symlink(key, in);
	check_xattr_name(key, in);
	return 0;
}
