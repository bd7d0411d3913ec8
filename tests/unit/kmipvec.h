/* kmipvec.h: loads the captured PyKMIP messages of tests/vectors/kmip/ (hex files). */
#ifndef PHIFS_KMIPVEC_H
#define PHIFS_KMIPVEC_H

#include <limits.h>
#include "testutil.h"

#define KMIPVEC_NAMES                                                                          \
	"01_create", "02_activate", "03_encrypt_cbc_kmip12", "04_decrypt_cbc_kmip12",          \
	"05_encrypt_gcm_kmip14", "06_decrypt_gcm_kmip14", "07_get_key",                        \
	"08_locate_by_name_kmip14", "09_encrypt_gcm_kmip20", "10_locate_by_name_kmip20",       \
	"11_create_kmip20", "12_decrypt_gcm_badtag_error"

/* tests/vectors/kmip/<name>.<kind>.hex decoded (kind "request" or "response"). */
static inline uint8_t *kmipvec_load(const char *name, const char *kind, size_t *len)
{
	const char *top = getenv("top_srcdir");
	char path[PATH_MAX], hex[8192];
	size_t n;

	snprintf(path, sizeof(path), "%s/tests/vectors/kmip/%s.%s.hex", top ? top : ".", name,
		 kind);
	n = tu_read_file(AT_FDCWD, path, hex, sizeof(hex) - 1);
	while (n && (hex[n - 1] == '\n' || hex[n - 1] == '\r'))
		n--;
	hex[n] = '\0';
	return tu_hex(hex, len);
}

#endif
