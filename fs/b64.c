/*
 * b64.c: base64url without padding (RFC 4648 §5), the text form of encrypted
 * names, symlink targets and xattr names (docs/FORMAT.md §1, §6, §7).
 *
 * Decoding is strict because its input is attacker-controlled backing names:
 * only the base64url alphabet, no '=', no length ≡ 1 (mod 4) and no non-zero
 * trailing bits. Each byte string therefore has exactly one accepted text, so
 * a plaintext name maps to one backing name and never to two entries. This
 * file knows nothing about names or keys (names.c does).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include "b64.h"

static const char b64_alphabet[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Sextet value of c, or -1 for anything outside the base64url alphabet. */
static int sextet(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

size_t b64_encoded_len(size_t n)
{
	static const size_t tail[3] = { 0, 2, 3 };

	return n / 3 * 4 + tail[n % 3];
}

int b64_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	/* n / 3 * 4 must not wrap; no caller comes near this. */
	if (n > SIZE_MAX / 4 * 3 - 3)
		return -ENAMETOOLONG;
	if (cap < b64_encoded_len(n) + 1)
		return -ENAMETOOLONG;
	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
	return 0;
}

/* Decoded length of n characters; n % 4 == 1 is never a valid length. */
static size_t decoded_len(size_t n)
{
	static const size_t tail[4] = { 0, 0, 1, 2 };

	return n / 4 * 3 + tail[n % 4];
}

int b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t i, o = 0, rem = n % 4;
	uint32_t v = 0;
	int s;

	if (rem == 1)
		return -EINVAL;
	if (cap < decoded_len(n))
		return -ENOSPC;
	for (i = 0; i < n; i++) {
		s = sextet((unsigned char)in[i]);
		if (s < 0)
			return -EINVAL;
		v = v << 6 | (uint32_t)s;
		if (i % 4 == 3) {
			out[o++] = (uint8_t)(v >> 16);
			out[o++] = (uint8_t)(v >> 8);
			out[o++] = (uint8_t)v;
			v = 0;
		}
	}
	/*
	 * Leftover bits of the final character must be zero: otherwise several
	 * texts would decode to the same bytes (non-canonical encodings).
	 */
	if (rem == 2) {
		if (v & 0x0f)
			return -EINVAL;
		out[o++] = (uint8_t)(v >> 4);
	} else if (rem == 3) {
		if (v & 0x03)
			return -EINVAL;
		out[o++] = (uint8_t)(v >> 10);
		out[o++] = (uint8_t)(v >> 2);
	}
	*outlen = o;
	return 0;
}
