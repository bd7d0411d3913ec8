/* b64.h: base64url without padding (RFC 4648 §5), for encrypted names. */
#ifndef PHIFS_B64_H
#define PHIFS_B64_H

#include <stddef.h>
#include <stdint.h>

/* Encoded length for n input bytes (no NUL). */
size_t b64_encoded_len(size_t n);
/* Writes NUL-terminated text; -ENAMETOOLONG if cap < encoded_len + 1. */
int b64_encode(const uint8_t *in, size_t n, char *out, size_t cap);
/* Strict: rejects padding, other alphabets, non-canonical trailing bits. -EINVAL / -ENOSPC. */
int b64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen);

#endif
