/*
 * kmsuri.h: the attribute lists inside provider URIs, shared by the KMIP
 * (`kmip://host:port/NAME?ca=...&cert=...`) and PKCS#11 (RFC 7512:
 * `pkcs11:token=T;object=O?module-path=...`) providers: `name=value` pairs
 * separated by one character, values percent-decoded. The URI comes from a
 * config that is not yet authenticated, so every length is bounded and a
 * decoded value never holds a control byte.
 */
#ifndef PHIFS_KMS_URI_H
#define PHIFS_KMS_URI_H

#include <stddef.h>

/*
 * Finds attribute `name` in s[0..n) (pairs split by `sep`) and writes its
 * decoded value, NUL-terminated, to out. 0 found; -ENOENT absent; -EINVAL a
 * malformed pair, bad %XX, a control byte or a repeated name; -ERANGE longer
 * than cap - 1.
 */
int kms_uri_attr(const char *s, size_t n, char sep, const char *name, char *out, size_t cap);

/* Every attribute name in s[0..n) is one of `known` (NULL-terminated): 0, or
 * -EINVAL naming the first unknown one through kms_warn (a typo such as
 * "ca_file=" must not silently drop certificate verification). */
int kms_uri_known(const char *s, size_t n, char sep, const char *const *known,
		  const char *provider);

#endif
