/*
 * p11_uri.h: the `pkcs11:` KMS URI (RFC 7512 subset, docs/OPERATIONS.md
 * "PKCS#11 / HSM"), parsed into what the pkcs11 provider needs. Pure string
 * work (fuzzed by tests/fuzz/fuzz-p11blob.c).
 */
#ifndef PHIFS_P11_URI_H
#define PHIFS_P11_URI_H

#include <limits.h>

#define P11_TOKEN_MAX 32    /* CK_TOKEN_INFO.label: 32 bytes, blank-padded */
#define P11_LABEL_MAX 64    /* our bound on the KEK's CKA_LABEL (it is in every key id) */
#define P11_PIN_MAX 256     /* bytes of a PIN file's first line */

enum p11_mech {
	P11_MECH_GCM = 1,   /* CKM_AES_GCM: 12-byte IV, AAD, 128-bit tag */
	P11_MECH_KWP = 2,   /* CKM_AES_KEY_WRAP_PAD (RFC 5649): no AAD */
};

struct p11_uri {
	char token[P11_TOKEN_MAX + 1];    /* token label */
	char object[P11_LABEL_MAX + 1];   /* KEK label; printable ASCII */
	char module[PATH_MAX];            /* absolute path of the PKCS#11 module */
	char pin_file[PATH_MAX];          /* absolute path of the user PIN file */
	int mech;                         /* enum p11_mech new wraps use */
};

/* arg: the URI after "pkcs11:". 0, or -EINVAL with one kms_warn line naming
 * what is wrong (never a value that could be a PIN). */
int p11_uri_parse(const char *arg, struct p11_uri *u);

#endif
