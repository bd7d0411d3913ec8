/*
 * pkcs11.c: the `pkcs11:` provider (docs/FORMAT.md §8, docs/OPERATIONS.md
 * "PKCS#11 / HSM"): wraps volume keys inside a token under a sensitive,
 * non-extractable AES-256 KEK, so the KEK's bytes never reach this process.
 *
 * Owns the two wrapping mechanisms and the provider ops. The URI is parsed by
 * p11_uri.c, the module/session/login by p11_module.c, the KEK versions by
 * p11_keys.c, the blob layout by p11_blob.c.
 *
 *  - aes-gcm (default): C_Encrypt with CKM_AES_GCM, a random 12-byte IV and
 *    AAD = blob header ‖ caller's AAD, so the blob is bound to its volume and
 *    key version, and to the KEK version and mechanism it names.
 *  - aes-kwp: CKM_AES_KEY_WRAP_PAD (RFC 5649) of a session key object holding
 *    the secret (a token wraps key objects, not bytes). KWP binds no AAD: a
 *    blob moved from another slot or volume under the same KEK unwraps, and
 *    only the config MAC (FORMAT.md §3.1 step 4) then refuses the volume.
 * Unwrap uses the mechanism and KEK version the blob names.
 *
 * Re-wrapping inside the token (unwrap to a sensitive session key, wrap under
 * the new version) does not fit kms.h, whose unwrap hands the secret back;
 * it is left to the rotation work.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cipher.h"
#include "p11_blob.h"
#include "p11_keys.h"
#include "p11_module.h"
#include "p11_uri.h"
#include "provider.h"
#include "secmem.h"

#define HEALTH_AAD "phifs/pkcs11/health"
#define HEALTH_LEN 32

struct pkcs11 {
	struct p11_uri uri;
	struct p11 p;
	struct p11_key cur;               /* the version new wraps use */
	char key_id[KMS_KEY_ID_MAX];      /* its id, p11_key_id_format */
};

static void mech_type(int mech, CK_MECHANISM_TYPE *type, CK_FLAGS *need)
{
	*type = mech == P11_MECH_KWP ? CKM_AES_KEY_WRAP_PAD : CKM_AES_GCM;
	*need = mech == P11_MECH_KWP ? CKF_WRAP | CKF_UNWRAP : CKF_ENCRYPT | CKF_DECRYPT;
}

/* The token must offer the configured mechanism before anything is wrapped. */
static int mech_check(struct pkcs11 *s)
{
	CK_MECHANISM_INFO mi;
	CK_MECHANISM_TYPE type;
	CK_FLAGS need;
	CK_RV rv;

	mech_type(s->uri.mech, &type, &need);
	memset(&mi, 0, sizeof(mi));   /* some modules leave fields unset */
	rv = s->p.f->C_GetMechanismInfo(s->p.slot, type, &mi);
	if (rv != CKR_OK || (mi.flags & need) != need) {
		kms_warn("pkcs11: token '%s' (module %s) does not offer %s", s->uri.token,
			 s->uri.module, s->uri.mech == P11_MECH_KWP ? "CKM_AES_KEY_WRAP_PAD" :
			 "CKM_AES_GCM");
		return -EOPNOTSUPP;
	}
	return 0;
}

static int current_set(struct pkcs11 *s, const struct p11_key *k)
{
	s->cur = *k;
	return p11_key_id_format(s->uri.object, k->id, k->id_len, s->key_id, sizeof(s->key_id));
}

static int current_load(struct pkcs11 *s, int create)
{
	struct p11_key k;
	int ret = p11_keys_current(&s->p, s->uri.object, &k);

	if (ret == -ENOKEY && create)
		ret = p11_keys_generate(&s->p, s->uri.object, 1, &k);
	if (ret == -ENOKEY) {
		kms_warn("pkcs11: token '%s' (module %s) holds no active AES key labelled '%s'",
			 s->uri.token, s->uri.module, s->uri.object);
		return -ENOENT;
	}
	return ret ? ret : current_set(s, &k);
}

static void pkcs11_close(void *state)
{
	struct pkcs11 *s = state;

	if (!s)
		return;
	p11_close(&s->p);
	free(s);
}

static int pkcs11_open(const char *arg, const struct kms_opts *opts, void **state)
{
	struct pkcs11 *s = calloc(1, sizeof(*s));
	int ret = -ENOMEM;

	if (!s)
		goto out;
	ret = p11_uri_parse(arg, &s->uri);
	if (ret)
		goto out;
	ret = p11_open(&s->p, s->uri.module, s->uri.token, s->uri.pin_file);
	if (ret)
		goto out;
	ret = mech_check(s);
	if (!ret)
		ret = current_load(s, opts->create);
	if (ret)
		goto out;
	*state = s;
	s = NULL;
out:
	pkcs11_close(s);
	return ret;
}

static void gcm_params(CK_GCM_PARAMS *g, uint8_t *iv, uint8_t *aad, size_t aad_len)
{
	memset(g, 0, sizeof(*g));
	g->pIv = iv;
	g->ulIvLen = P11_GCM_IV_LEN;
	g->ulIvBits = P11_GCM_IV_LEN * 8;
	g->pAAD = aad;
	g->ulAADLen = aad_len;
	g->ulTagBits = P11_GCM_TAG_LEN * 8;
}

/* header ‖ aad in one buffer (not secret). */
static uint8_t *aad_join(const uint8_t *header, size_t hlen, const void *aad, size_t aad_len)
{
	uint8_t *a = malloc(hlen + aad_len);

	if (!a)
		return NULL;
	memcpy(a, header, hlen);
	if (aad_len)
		memcpy(a + hlen, aad, aad_len);
	return a;
}

/* blob = header ‖ iv ‖ C_Encrypt(secret) (ciphertext ‖ tag). */
static int gcm_wrap(struct pkcs11 *s, const void *aad, size_t aad_len, const uint8_t *secret,
		    size_t len, uint8_t *blob, size_t hlen)
{
	uint8_t *iv = blob + hlen, *all = NULL;
	CK_GCM_PARAMS g;
	CK_MECHANISM m = { CKM_AES_GCM, &g, sizeof(g) };
	CK_ULONG out = len + P11_GCM_TAG_LEN;
	CK_RV rv;
	int ret;

	ret = cipher_random(iv, P11_GCM_IV_LEN);
	if (ret)
		return ret;
	all = aad_join(blob, hlen, aad, aad_len);
	if (!all)
		return -ENOMEM;
	gcm_params(&g, iv, all, hlen + aad_len);
	rv = s->p.f->C_EncryptInit(s->p.session, &m, s->cur.h);
	if (rv == CKR_OK)
		rv = s->p.f->C_Encrypt(s->p.session, (CK_BYTE *)secret, len,
				       iv + P11_GCM_IV_LEN, &out);
	free(all);
	if (rv != CKR_OK || out != len + P11_GCM_TAG_LEN) {
		kms_warn("pkcs11: AES-GCM encrypt with %s failed: %s", s->key_id, p11_rv_name(rv));
		return rv == CKR_OK ? -EIO : p11_ret_io(rv);
	}
	return 0;
}

/*
 * The session-only secret key object KWP wraps (from `value`) or unwraps to
 * (value NULL). Sensitive when we only wrap it; readable when we unwrap it,
 * since kms.h hands the secret back. Returns the attribute count.
 */
struct kwp_object {
	CK_OBJECT_CLASS cls;
	CK_KEY_TYPE type;
	CK_BBOOL no, yes, sensitive;
	CK_ATTRIBUTE a[6];
};

static CK_ULONG kwp_template(struct kwp_object *t, CK_BBOOL sensitive, const uint8_t *value,
			     size_t len)
{
	t->cls = CKO_SECRET_KEY;
	t->type = CKK_GENERIC_SECRET;
	t->no = CK_FALSE;
	t->yes = CK_TRUE;
	t->sensitive = sensitive;
	t->a[0] = (CK_ATTRIBUTE){ CKA_CLASS, &t->cls, sizeof(t->cls) };
	t->a[1] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &t->type, sizeof(t->type) };
	t->a[2] = (CK_ATTRIBUTE){ CKA_TOKEN, &t->no, sizeof(t->no) };
	t->a[3] = (CK_ATTRIBUTE){ CKA_SENSITIVE, &t->sensitive, sizeof(t->sensitive) };
	t->a[4] = (CK_ATTRIBUTE){ CKA_EXTRACTABLE, &t->yes, sizeof(t->yes) };
	t->a[5] = (CK_ATTRIBUTE){ CKA_VALUE, (void *)value, len };
	return value ? 6 : 5;
}

/* The secret as a session key object: what C_WrapKey takes. */
static int kwp_wrap(struct pkcs11 *s, const uint8_t *secret, size_t len, uint8_t *out,
		    size_t out_len)
{
	struct kwp_object t;
	CK_ULONG n = kwp_template(&t, CK_TRUE, secret, len);
	CK_MECHANISM m = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
	CK_ULONG got = out_len;
	CK_RV rv;

	rv = s->p.f->C_CreateObject(s->p.session, t.a, n, &obj);
	if (rv == CKR_OK) {
		rv = s->p.f->C_WrapKey(s->p.session, &m, s->cur.h, obj, out, &got);
		(void)s->p.f->C_DestroyObject(s->p.session, obj);
	}
	if (rv != CKR_OK || got != out_len) {
		kms_warn("pkcs11: AES key wrap with %s failed: %s", s->key_id, p11_rv_name(rv));
		return rv == CKR_OK ? -EIO : p11_ret_io(rv);
	}
	return 0;
}

static int pkcs11_wrap(void *state, const void *aad, size_t aad_len, const uint8_t *secret,
		       size_t len, uint8_t *blob, size_t *blob_len)
{
	struct pkcs11 *s = state;
	uint8_t header[3 + P11_ID_MAX];
	size_t hlen = p11_blob_header(s->uri.mech, s->cur.id, s->cur.id_len, header);
	size_t body = p11_blob_body_len(s->uri.mech, len);
	int ret;

	if (*blob_len < hlen + body)
		return -EINVAL;
	memcpy(blob, header, hlen);
	if (s->uri.mech == P11_MECH_KWP)
		ret = kwp_wrap(s, secret, len, blob + hlen, body);
	else
		ret = gcm_wrap(s, aad, aad_len, secret, len, blob, hlen);
	if (ret)
		return ret;
	*blob_len = hlen + body;
	return 0;
}

static int gcm_unwrap(struct pkcs11 *s, CK_OBJECT_HANDLE kek, const void *aad, size_t aad_len,
		      const uint8_t *blob, const struct p11_blob *b, uint8_t *plain, size_t len)
{
	uint8_t *all = aad_join(blob, b->header_len, aad, aad_len);
	CK_GCM_PARAMS g;
	CK_MECHANISM m = { CKM_AES_GCM, &g, sizeof(g) };
	CK_ULONG out = len + P11_GCM_TAG_LEN;
	CK_RV rv;

	if (!all)
		return -ENOMEM;
	gcm_params(&g, (uint8_t *)b->body, all, b->header_len + aad_len);
	rv = s->p.f->C_DecryptInit(s->p.session, &m, kek);
	if (rv == CKR_OK)
		rv = s->p.f->C_Decrypt(s->p.session, (CK_BYTE *)b->body + P11_GCM_IV_LEN,
				       b->body_len - P11_GCM_IV_LEN, plain, &out);
	free(all);
	if (rv == CKR_OK && out != len)
		return -EKEYREJECTED;
	return p11_ret(rv);
}

/* C_UnwrapKey into a session object, then its CKA_VALUE. */
static int kwp_unwrap(struct pkcs11 *s, CK_OBJECT_HANDLE kek, const struct p11_blob *b,
		      uint8_t *plain, size_t cap, size_t len)
{
	struct kwp_object t;
	CK_ULONG n = kwp_template(&t, CK_FALSE, NULL, 0);
	CK_ATTRIBUTE value = { CKA_VALUE, plain, cap };
	CK_MECHANISM m = { CKM_AES_KEY_WRAP_PAD, NULL, 0 };
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
	CK_RV rv;

	rv = s->p.f->C_UnwrapKey(s->p.session, &m, kek, (CK_BYTE *)b->body, b->body_len, t.a, n,
				 &obj);
	if (rv != CKR_OK)
		return p11_ret(rv);
	rv = s->p.f->C_GetAttributeValue(s->p.session, obj, &value, 1);
	(void)s->p.f->C_DestroyObject(s->p.session, obj);
	if (rv != CKR_OK)
		return p11_ret_io(rv);
	return value.ulValueLen == len ? 0 : -EKEYREJECTED;
}

static int blob_kek(struct pkcs11 *s, const struct p11_blob *b, CK_OBJECT_HANDLE *h)
{
	struct p11_key k;
	char id[KMS_KEY_ID_MAX];
	int ret = p11_keys_by_id(&s->p, s->uri.object, b->id, b->id_len, &k);

	if (ret == -ENOKEY) {
		if (p11_key_id_format(s->uri.object, b->id, b->id_len, id, sizeof(id)) == 0)
			kms_warn("pkcs11: token '%s' holds no key %s, which wrapped this blob",
				 s->uri.token, id);
		return -EKEYREJECTED;
	}
	*h = k.h;
	return ret;
}

static int pkcs11_unwrap(void *state, const void *aad, size_t aad_len, const uint8_t *blob,
			 size_t blob_len, uint8_t *secret, size_t len)
{
	struct pkcs11 *s = state;
	struct p11_blob b;
	CK_OBJECT_HANDLE kek = CK_INVALID_HANDLE;
	size_t cap = len + P11_GCM_TAG_LEN;   /* ≥ what either mechanism writes */
	uint8_t *plain = NULL;
	int ret;

	ret = p11_blob_parse(blob, blob_len, &b);
	if (!ret && b.body_len != p11_blob_body_len(b.mech, len))
		ret = -EKEYREJECTED;
	if (!ret)
		ret = blob_kek(s, &b, &kek);
	if (ret)
		goto out;
	plain = secmem_alloc(cap);
	if (!plain) {
		ret = -ENOMEM;
		goto out;
	}
	if (b.mech == P11_MECH_KWP)
		ret = kwp_unwrap(s, kek, &b, plain, cap, len);
	else
		ret = gcm_unwrap(s, kek, aad, aad_len, blob, &b, plain, len);
	if (!ret)
		memcpy(secret, plain, len);
out:
	secmem_free(plain);   /* wipes */
	return ret;
}

static const char *pkcs11_key_id(const void *state)
{
	const struct pkcs11 *s = state;

	return s->key_id;
}

static int pkcs11_blob_key_id(const void *state, const uint8_t *blob, size_t blob_len,
			      char *out, size_t cap)
{
	const struct pkcs11 *s = state;
	struct p11_blob b;
	int ret = p11_blob_parse(blob, blob_len, &b);

	return ret ? ret : p11_key_id_format(s->uri.object, b.id, b.id_len, out, cap);
}

/* Compact form (kms_wrap_compact): mechanism ‖ body; the CKA_ID comes back
 * from the KEK id, and the rebuilt header is what GCM authenticated. */
static int pkcs11_compact(const void *state, const uint8_t *blob, size_t blob_len,
			  uint8_t *out, size_t *out_len)
{
	struct p11_blob b;

	(void)state;
	if (p11_blob_parse(blob, blob_len, &b))
		return -EKEYREJECTED;
	if (*out_len < 1 + b.body_len)
		return -EINVAL;
	out[0] = (uint8_t)b.mech;
	memcpy(out + 1, b.body, b.body_len);
	*out_len = 1 + b.body_len;
	return 0;
}

static int pkcs11_expand(const void *state, const char *kek_id, const uint8_t *in,
			 size_t in_len, uint8_t *blob, size_t *blob_len)
{
	const struct pkcs11 *s = state;
	uint8_t id[P11_ID_MAX];
	size_t id_len = 0, hlen;
	struct p11_blob b;

	if (in_len < 2 || p11_key_id_parse(kek_id, s->uri.object, id, &id_len))
		return -EKEYREJECTED;
	if (*blob_len < 3 + id_len + in_len - 1)
		return -EINVAL;
	hlen = p11_blob_header(in[0], id, id_len, blob);
	memcpy(blob + hlen, in + 1, in_len - 1);
	*blob_len = hlen + in_len - 1;
	return p11_blob_parse(blob, *blob_len, &b) ? -EKEYREJECTED : 0;
}

/* A new version, one above the newest of any state, becomes current. */
static int pkcs11_create_key(void *state, char *id, size_t cap)
{
	struct pkcs11 *s = state;
	struct p11_key k;
	uint64_t newest = 0;
	int ret = p11_keys_newest(&s->p, s->uri.object, &newest);

	if (ret && ret != -ENOKEY)
		return ret;
	ret = p11_keys_generate(&s->p, s->uri.object, newest + 1, &k);
	if (!ret)
		ret = current_set(s, &k);
	if (!ret && snprintf(id, cap, "%s", s->key_id) >= (int)cap)
		ret = -ERANGE;
	return ret;
}

/* id NULL: the current version. */
static int key_lookup(struct pkcs11 *s, const char *id, struct p11_key *k)
{
	uint8_t raw[P11_ID_MAX];
	size_t raw_len = 0;
	int ret;

	if (!id) {
		*k = s->cur;
		return 0;
	}
	ret = p11_key_id_parse(id, s->uri.object, raw, &raw_len);
	if (!ret)
		ret = p11_keys_by_id(&s->p, s->uri.object, raw, raw_len, k);
	return ret;
}

static int pkcs11_describe(void *state, const char *id, struct kms_key_info *info)
{
	struct pkcs11 *s = state;
	struct p11_key k;
	int ret = key_lookup(s, id, &k);

	if (!ret && !id)   /* re-read: its state may have changed since open */
		ret = p11_keys_by_id(&s->p, s->uri.object, s->cur.id, s->cur.id_len, &k);
	if (ret)
		return ret;
	ret = p11_key_id_format(s->uri.object, k.id, k.id_len, info->id, sizeof(info->id));
	snprintf(info->state, sizeof(info->state), "%s", k.active ? "active" : "deactivated");
	info->created = k.created;
	info->version = k.version <= UINT32_MAX ? (uint32_t)k.version : 0;
	return ret;
}

/* Token and session answer, and the current version still wraps and unwraps. */
static int pkcs11_health(void *state)
{
	struct pkcs11 *s = state;
	static const char aad[] = HEALTH_AAD;
	uint8_t blob[KMS_BLOB_MAX];
	size_t blob_len = sizeof(blob);
	uint8_t *probe = secmem_alloc(2 * HEALTH_LEN);
	int ret = p11_alive(&s->p);

	if (!probe)
		return -ENOMEM;
	if (!ret)
		ret = cipher_random(probe, HEALTH_LEN);
	if (!ret)
		ret = pkcs11_wrap(s, aad, sizeof(aad) - 1, probe, HEALTH_LEN, blob, &blob_len);
	if (!ret)
		ret = pkcs11_unwrap(s, aad, sizeof(aad) - 1, blob, blob_len, probe + HEALTH_LEN,
				    HEALTH_LEN);
	if (!ret && !secmem_equal(probe, probe + HEALTH_LEN, HEALTH_LEN))
		ret = -EIO;
	secmem_free(probe);
	return ret;
}

/* The current version is refused: wraps would silently move to an older one. */
static int pkcs11_retire_key(void *state, const char *id)
{
	struct pkcs11 *s = state;
	struct p11_key k;
	int ret = key_lookup(s, id, &k);

	if (ret)
		return ret;
	if (k.id_len == s->cur.id_len && memcmp(k.id, s->cur.id, k.id_len) == 0) {
		kms_warn("pkcs11: %s is the current key; create a new one before retiring it",
			 s->key_id);
		return -EBUSY;
	}
	return p11_keys_retire(&s->p, &k);
}

/* Crypto-shredding (FORMAT.md §12.4): C_DestroyObject on the version named by
 * id — also the current one: a key-table epoch's label has only that one. */
static int pkcs11_destroy_key(void *state, const char *id)
{
	struct pkcs11 *s = state;
	struct p11_key k;
	int ret = key_lookup(s, id, &k);

	return ret ? ret : p11_keys_destroy(&s->p, &k);
}

const struct kms_provider_ops kms_pkcs11_ops = {
	.name = "pkcs11",
	.open = pkcs11_open,
	.close = pkcs11_close,
	.wrap = pkcs11_wrap,
	.unwrap = pkcs11_unwrap,
	.key_id = pkcs11_key_id,
	.blob_key_id = pkcs11_blob_key_id,
	.create_key = pkcs11_create_key,
	.describe = pkcs11_describe,
	.health = pkcs11_health,
	.retire_key = pkcs11_retire_key,
	.compact = pkcs11_compact,
	.expand = pkcs11_expand,
	.destroy_key = pkcs11_destroy_key,
};
