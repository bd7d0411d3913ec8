/*
 * p11_uri.c: parses `pkcs11:token=T;object=O?module-path=M&pin-source=file:P
 * [&mechanism=aes-gcm|aes-kwp]` (RFC 7512 path attributes split by ';', query
 * attributes by '&', both percent-decoded by kmsuri.c). Unknown attributes are
 * refused, so a typo cannot silently change which key or PIN is used.
 *
 * `pin-value=` (RFC 7512 §2.3) is refused: the URI is stored in the volume
 * config (docs/FORMAT.md §3), which is not secret, and is printed in error
 * messages. The PIN lives in a file only its owner can read (pkcs11.c).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "kmsuri.h"
#include "p11_uri.h"
#include "provider.h"
#include "secmem.h"

static const char *const path_attrs[] = { "token", "object", "type", NULL };
static const char *const query_attrs[] = { "module-path", "pin-source", "pin-value",
					   "mechanism", NULL };

/* A required attribute: present, non-empty, within cap. */
static int attr_get(const char *s, size_t n, char sep, const char *name, char *out, size_t cap)
{
	int ret = kms_uri_attr(s, n, sep, name, out, cap);

	if (ret == -ENOENT || (!ret && !out[0]))
		kms_warn("pkcs11: the URI needs %s= (e.g. pkcs11:token=T;object=kek?"
			 "module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/phifs/pin)",
			 name);
	else if (ret == -ERANGE)
		kms_warn("pkcs11: URI attribute %s= is longer than %zu bytes", name, cap - 1);
	else if (ret)
		kms_warn("pkcs11: URI attribute %s= is malformed", name);
	return ret ? -EINVAL : (out[0] ? 0 : -EINVAL);
}

/* The label is part of every key id (a config field of printable ASCII). */
static int label_check(const char *label)
{
	for (const char *c = label; *c; c++) {
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) {
			kms_warn("pkcs11: object= must be printable ASCII");
			return -EINVAL;
		}
	}
	return 0;
}

static int path_check(const char *name, const char *path)
{
	if (path[0] != '/') {
		kms_warn("pkcs11: %s must be an absolute path", name);
		return -EINVAL;
	}
	return 0;
}

static int path_part(const char *s, size_t n, struct p11_uri *u)
{
	char type[16];
	int ret;

	ret = kms_uri_known(s, n, ';', path_attrs, "pkcs11");
	if (!ret)
		ret = attr_get(s, n, ';', "token", u->token, sizeof(u->token));
	if (!ret)
		ret = attr_get(s, n, ';', "object", u->object, sizeof(u->object));
	if (!ret)
		ret = label_check(u->object);
	if (ret)
		return ret;
	ret = kms_uri_attr(s, n, ';', "type", type, sizeof(type));
	if (ret == -ENOENT)
		return 0;
	if (ret || strcmp(type, "secret-key") != 0) {
		kms_warn("pkcs11: type= must be secret-key (the KEK is an AES key)");
		return -EINVAL;
	}
	return 0;
}

static int mech_part(const char *s, size_t n, struct p11_uri *u)
{
	char mech[16];
	int ret = kms_uri_attr(s, n, '&', "mechanism", mech, sizeof(mech));

	u->mech = P11_MECH_GCM;
	if (ret == -ENOENT)
		return 0;
	if (!ret && !strcmp(mech, "aes-gcm"))
		return 0;
	if (!ret && !strcmp(mech, "aes-kwp")) {
		u->mech = P11_MECH_KWP;
		return 0;
	}
	kms_warn("pkcs11: mechanism= must be aes-gcm (default) or aes-kwp");
	return -EINVAL;
}

static int query_part(const char *s, size_t n, struct p11_uri *u)
{
	char pin[8];
	const char *file;
	int ret;

	ret = kms_uri_known(s, n, '&', query_attrs, "pkcs11");
	if (ret)
		return ret;
	if (kms_uri_attr(s, n, '&', "pin-value", pin, sizeof(pin)) != -ENOENT) {
		secmem_wipe(pin, sizeof(pin));   /* never kept, never echoed */
		kms_warn("pkcs11: pin-value= is refused: the URI is stored in the volume config "
			 "and printed in messages; put the PIN in a file (mode 0600) and use "
			 "pin-source=file:/path");
		return -EINVAL;
	}
	ret = attr_get(s, n, '&', "module-path", u->module, sizeof(u->module));
	if (!ret)
		ret = path_check("module-path", u->module);
	if (!ret)
		ret = attr_get(s, n, '&', "pin-source", u->pin_file, sizeof(u->pin_file));
	if (ret)
		return ret;
	file = strncmp(u->pin_file, "file:", 5) == 0 ? u->pin_file + 5 : u->pin_file;
	memmove(u->pin_file, file, strlen(file) + 1);
	ret = path_check("pin-source (file:/path)", u->pin_file);
	if (!ret)
		ret = mech_part(s, n, u);
	return ret;
}

int p11_uri_parse(const char *arg, struct p11_uri *u)
{
	const char *q;
	int ret;

	memset(u, 0, sizeof(*u));
	if (!arg) {
		kms_warn("pkcs11: the URI needs token=, object=, module-path= and pin-source=");
		return -EINVAL;
	}
	q = strchr(arg, '?');
	if (!q) {
		kms_warn("pkcs11: the URI needs ?module-path=...&pin-source=file:...");
		return -EINVAL;
	}
	ret = path_part(arg, (size_t)(q - arg), u);
	if (!ret)
		ret = query_part(q + 1, strlen(q + 1), u);
	return ret;
}
