/*
 * p11_blob.c: layout of the pkcs11 provider's blob and the text form of its
 * KEK ids (docs/FORMAT.md §8). The blob names the KEK version that made it
 * (its CKA_ID) so that unwrap finds it after a newer version became current,
 * and the mechanism, so a volume wrapped with one keeps opening if the URI's
 * default changes. The blob comes from a config that is not yet authenticated:
 * every length is checked before use.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "p11_blob.h"
#include "p11_uri.h"
#include "provider.h"

#define HEADER_FIXED 3   /* format, mechanism, id length */

size_t p11_blob_body_len(int mech, size_t len)
{
	if (mech == P11_MECH_KWP)
		return ((len + 7) & ~(size_t)7) + P11_KWP_OVERHEAD;
	return P11_GCM_IV_LEN + len + P11_GCM_TAG_LEN;
}

size_t p11_blob_header(int mech, const uint8_t *id, size_t id_len, uint8_t *out)
{
	out[0] = P11_BLOB_FORMAT;
	out[1] = (uint8_t)mech;
	out[2] = (uint8_t)id_len;
	if (id_len)
		memcpy(out + HEADER_FIXED, id, id_len);
	return HEADER_FIXED + id_len;
}

int p11_blob_parse(const uint8_t *blob, size_t n, struct p11_blob *b)
{
	size_t min;

	memset(b, 0, sizeof(*b));
	if (n < HEADER_FIXED || blob[0] != P11_BLOB_FORMAT || blob[2] > P11_ID_MAX)
		return -EKEYREJECTED;
	b->mech = blob[1];
	b->id_len = blob[2];
	b->header_len = HEADER_FIXED + b->id_len;
	if (n < b->header_len || (b->mech != P11_MECH_GCM && b->mech != P11_MECH_KWP))
		return -EKEYREJECTED;
	memcpy(b->id, blob + HEADER_FIXED, b->id_len);
	b->body = blob + b->header_len;
	b->body_len = n - b->header_len;
	min = p11_blob_body_len(b->mech, 1);
	if (b->body_len < min || (b->mech == P11_MECH_KWP && b->body_len % 8))
		return -EKEYREJECTED;
	return 0;
}

int p11_key_id_format(const char *label, const uint8_t *id, size_t id_len, char *out,
		      size_t cap)
{
	char prefix[sizeof(P11_KEY_ID_PREFIX) + P11_LABEL_MAX + 1];
	size_t plen;
	int ret;

	plen = (size_t)snprintf(prefix, sizeof(prefix), "%s%s/", P11_KEY_ID_PREFIX, label);
	if (plen >= sizeof(prefix))
		return -ERANGE;
	if (id_len)
		return kms_id_format(prefix, id, id_len, out, cap);
	ret = snprintf(out, cap, "%s-", prefix);
	return ret < 0 || (size_t)ret >= cap ? -ERANGE : 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int p11_key_id_parse(const char *key_id, const char *label, uint8_t *id, size_t *id_len)
{
	size_t plen = strlen(P11_KEY_ID_PREFIX), llen = strlen(label);
	const char *hex;
	size_t hlen;

	if (strncmp(key_id, P11_KEY_ID_PREFIX, plen) != 0 ||
	    strncmp(key_id + plen, label, llen) != 0 || key_id[plen + llen] != '/')
		return -ENOKEY;
	hex = key_id + plen + llen + 1;
	*id_len = 0;
	if (!strcmp(hex, "-"))
		return 0;
	hlen = strlen(hex);
	if (hlen == 0 || hlen % 2 || hlen / 2 > P11_ID_MAX)
		return -ENOKEY;
	for (size_t i = 0; i < hlen / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -ENOKEY;
		id[i] = (uint8_t)(hi << 4 | lo);
	}
	*id_len = hlen / 2;
	return 0;
}

uint64_t p11_id_version(const uint8_t *id, size_t id_len)
{
	uint64_t v = 0;

	for (size_t i = 0; i < id_len && i < P11_ID_MAX; i++)
		v = v << 8 | id[i];
	return v;
}

void p11_id_of_version(uint64_t v, uint8_t id[P11_ID_MAX])
{
	for (int i = P11_ID_MAX - 1; i >= 0; i--) {
		id[i] = (uint8_t)v;
		v >>= 8;
	}
}
