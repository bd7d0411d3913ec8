/*
 * keys.c: the key hierarchy of docs/FORMAT.md §2 and the data-key wrap of §4.2.
 *
 * Owns the one table of HKDF derivation contexts (§2.1), the unwrapped volume
 * keys by version with the purpose keys derived from them, and per-file keys:
 * making a data key, wrapping and unwrapping it, and the header MAC (§4.1).
 * Every key byte lives in secmem (guard pages, mlock, no core dump) or in a
 * stack array wiped before return.
 *
 * It deliberately does not talk to a KMS (kms-client unwraps VKs and hands
 * them to keys_volume_add), does not read or write files, and leaves byte
 * layouts to format.c.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cipher.h"
#include "keys.h"
#include "secmem.h"
#include "secpool.h"

/* §2.1, both tables. The context strings are part of the on-disk format: a
 * change here makes every existing volume unreadable. */
enum keys_purpose {
	KP_CONFIG_MAC,
	KP_DATA_KEY_WRAP,
	KP_NAMES,
	KP_XATTR,
	KP_AUDIT,
	KP_POLICY_MAC,
	KP_AUDIT_PATH_ENC,
	KP_HEADER_MAC,
	KP_BLOCK_GCM,
	KP_BLOCK_XTS,
	KP_XTS_TAIL,
	KP_KEYTAB_DATA_KEY,
	KP_KEYTAB_PAGE,
	KP_KEYTAB_MAC,
	KP_COUNT
};

static const struct {
	const char *info;     /* HKDF info, ASCII without NUL */
	size_t len;           /* output bytes */
} derivations[KP_COUNT] = {
	/* From VK_v, salt = volume id. */
	[KP_CONFIG_MAC] = { "phifs/v1/config-mac", 32 },
	[KP_DATA_KEY_WRAP] = { "phifs/v1/data-key-wrap", 32 },
	[KP_NAMES] = { "phifs/v1/names", KEYS_NAMES_LEN },
	[KP_XATTR] = { "phifs/v1/xattr", KEYS_XATTR_LEN },
	[KP_AUDIT] = { "phifs/v1/audit", KEYS_AUDIT_LEN },
	[KP_POLICY_MAC] = { "phifs/v1/policy-mac", 32 },
	[KP_AUDIT_PATH_ENC] = { "phifs/v1/audit-path-enc", KEYS_AUDIT_LEN },
	/* From DK, salt = file id. */
	[KP_HEADER_MAC] = { "phifs/v1/header-mac", 32 },
	[KP_BLOCK_GCM] = { "phifs/v1/block-gcm", CIPHER_KEY_LEN },
	[KP_BLOCK_XTS] = { "phifs/v1/block-xts", CIPHER_XTS_KEY_LEN },
	[KP_XTS_TAIL] = { "phifs/v1/xts-tail", CIPHER_KEY_LEN },
	/* §12. From header key ‖ slot secret, salt = file id. */
	[KP_KEYTAB_DATA_KEY] = { "phifs/v1/keytab-data-key", KEYS_DK_LEN },
	/* §12. From the table key TK_e, salt = volume id. */
	[KP_KEYTAB_PAGE] = { "phifs/v1/keytab-page", CIPHER_KEY_LEN },
	[KP_KEYTAB_MAC] = { "phifs/v1/keytab-mac", 32 },
};

/* §3.2: AAD prefix for wrapping a VK with a KMS provider. */
#define VK_AAD_PREFIX "phifs/v1/volume-key"
#define VK_AAD_PREFIX_LEN (sizeof(VK_AAD_PREFIX) - 1)
static_assert(VK_AAD_PREFIX_LEN + FORMAT_ID_LEN + 4 <= 64, "keys_vk_wrap_aad: out[64]");

/* §4.2: wrapped = nonce(12) ‖ ct(32) ‖ tag(16). */
#define DK_WRAPPED_LEN (CIPHER_GCM_NONCE_LEN + KEYS_DK_LEN + CIPHER_GCM_TAG_LEN)
static_assert(DK_WRAPPED_LEN == 60, "FORMAT.md §4: wrapped key length 60 for wrap kind 1");
static_assert(sizeof(struct keys_file) <= SECPOOL_SLOT, "keys_file must fit a secpool slot");
static_assert(DK_WRAPPED_LEN <= FORMAT_HEADER_WRAPPED_MAX, "FORMAT.md §4: at most 96");

/* One volume key and its purpose keys: one secmem allocation per version. */
struct vk_secrets {
	uint8_t vk[KEYS_VK_LEN];
	uint8_t config_mac[32];
	uint8_t data_key_wrap[32];
	uint8_t names[KEYS_NAMES_LEN];
	uint8_t xattr[KEYS_XATTR_LEN];
	uint8_t audit[KEYS_AUDIT_LEN];
	uint8_t policy_mac[32];
	uint8_t audit_enc[KEYS_AUDIT_LEN];
};

struct vk_entry {
	uint32_t version;
	struct vk_secrets *s;           /* secmem */
};

/*
 * Filled while a volume is being opened; afterwards only appended to (a key
 * version adopted after rotate-volume-key: entry written, then n published
 * with release order) and re-pointed (primary, atomically), so the daemon's
 * threads read it without a lock. Holds no key bytes itself.
 */
struct keys_volume {
	uint8_t volume_id[FORMAT_ID_LEN];
	unsigned int n;                 /* entries used in vks[] */
	struct vk_entry vks[FORMAT_MAX_SLOTS];
	const struct vk_entry *primary; /* NULL until keys_volume_set_primary */
	const struct vk_entry *names;   /* NULL until keys_volume_set_names */
	const struct keys_dk_wrapper *dkw;   /* per-file KMS mode, else NULL (set once) */
	void *dkw_ctx;
	const struct keys_keytab_ops *keytab;   /* §12; NULL: new files get no slot */
	void *keytab_arg;
};

void keys_volume_set_dk_wrapper(struct keys_volume *kv, const struct keys_dk_wrapper *w,
				void *ctx)
{
	kv->dkw = w;
	kv->dkw_ctx = ctx;
}

static_assert(sizeof(((struct keys_file *)0)->block_key) == CIPHER_XTS_KEY_LEN,
	      "keys_file.block_key holds the XTS key");
static_assert(sizeof(((struct keys_file *)0)->tail_key) == CIPHER_KEY_LEN, "xts-tail key");
static_assert(sizeof(((struct keys_file *)0)->header_mac_key) == 32, "header-mac key");

/* The only caller of HKDF: the output length always comes from the table. */
static int derive(enum keys_purpose p, const uint8_t *ikm, size_t ikm_len,
		  const uint8_t salt[FORMAT_ID_LEN], uint8_t *out)
{
	return cipher_hkdf_sha256(ikm, ikm_len, salt, FORMAT_ID_LEN, derivations[p].info,
				  strlen(derivations[p].info), out, derivations[p].len);
}

static const struct vk_entry *vk_find(const struct keys_volume *kv, uint32_t version)
{
	unsigned int n = __atomic_load_n(&kv->n, __ATOMIC_ACQUIRE);

	for (unsigned int i = 0; i < n; i++)
		if (kv->vks[i].version == version)
			return &kv->vks[i];
	return NULL;
}

/* ---- volume keys ------------------------------------------------------- */

int keys_volume_new(const uint8_t volume_id[FORMAT_ID_LEN], struct keys_volume **out)
{
	struct keys_volume *kv;
	int ret;

	*out = NULL;
	/* sodium_malloc needs sodium_init; idempotent, so safe to repeat here. */
	ret = secmem_init();
	if (ret)
		return ret;
	kv = calloc(1, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	memcpy(kv->volume_id, volume_id, FORMAT_ID_LEN);
	*out = kv;
	return 0;
}

void keys_volume_free(struct keys_volume *kv)
{
	if (!kv)
		return;
	for (unsigned int i = 0; i < kv->n; i++)
		secmem_free(kv->vks[i].s);
	free(kv);
}

static int vk_derive_all(const uint8_t volume_id[FORMAT_ID_LEN], struct vk_secrets *s)
{
	int ret;

	ret = derive(KP_CONFIG_MAC, s->vk, sizeof(s->vk), volume_id, s->config_mac);
	if (!ret)
		ret = derive(KP_DATA_KEY_WRAP, s->vk, sizeof(s->vk), volume_id, s->data_key_wrap);
	if (!ret)
		ret = derive(KP_NAMES, s->vk, sizeof(s->vk), volume_id, s->names);
	if (!ret)
		ret = derive(KP_XATTR, s->vk, sizeof(s->vk), volume_id, s->xattr);
	if (!ret)
		ret = derive(KP_AUDIT, s->vk, sizeof(s->vk), volume_id, s->audit);
	if (!ret)
		ret = derive(KP_POLICY_MAC, s->vk, sizeof(s->vk), volume_id, s->policy_mac);
	if (!ret)
		ret = derive(KP_AUDIT_PATH_ENC, s->vk, sizeof(s->vk), volume_id, s->audit_enc);
	return ret;
}

int keys_volume_add(struct keys_volume *kv, uint32_t version, const uint8_t vk[KEYS_VK_LEN])
{
	struct vk_secrets *s = NULL;
	int ret;

	if (vk_find(kv, version)) {
		ret = -EEXIST;
		goto out;
	}
	if (kv->n == FORMAT_MAX_SLOTS) {
		ret = -ENOSPC;
		goto out;
	}
	s = secmem_alloc(sizeof(*s));
	if (!s) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(s->vk, vk, KEYS_VK_LEN);
	ret = vk_derive_all(kv->volume_id, s);
	if (ret)
		goto out;
	kv->vks[kv->n].version = version;
	kv->vks[kv->n].s = s;
	/* Published last: a mounted daemon adopts a rotated key while serving. */
	__atomic_store_n(&kv->n, kv->n + 1, __ATOMIC_RELEASE);
	s = NULL;
out:
	secmem_free(s);
	return ret;
}

void keys_volume_evict(struct keys_volume *kv)
{
	for (unsigned int i = 0; kv && i < kv->n; i++)
		secmem_wipe(kv->vks[i].s, sizeof(*kv->vks[i].s));
	if (kv && kv->dkw)
		kv->dkw->evict(kv->dkw_ctx);
}

int keys_volume_restore(struct keys_volume *kv, uint32_t version, const uint8_t vk[KEYS_VK_LEN])
{
	const struct vk_entry *e = vk_find(kv, version);
	int ret;

	if (!e)
		return -ENOKEY;
	memcpy(e->s->vk, vk, KEYS_VK_LEN);
	ret = vk_derive_all(kv->volume_id, e->s);
	if (ret)
		secmem_wipe(e->s, sizeof(*e->s));
	else if (kv->dkw)
		kv->dkw->restore(kv->dkw_ctx);
	return ret;
}

const uint8_t *keys_volume_vk(const struct keys_volume *kv, uint32_t version)
{
	const struct vk_entry *e = kv ? vk_find(kv, version) : NULL;

	return e ? e->s->vk : NULL;
}

int keys_volume_has(const struct keys_volume *kv, uint32_t version)
{
	return kv && vk_find(kv, version) != NULL;
}

int keys_volume_set_primary(struct keys_volume *kv, uint32_t version)
{
	const struct vk_entry *e = vk_find(kv, version);

	if (!e)
		return -ENOKEY;
	__atomic_store_n(&kv->primary, e, __ATOMIC_RELEASE);
	return 0;
}

int keys_volume_set_names(struct keys_volume *kv, uint32_t version)
{
	const struct vk_entry *e = vk_find(kv, version);

	if (!e)
		return -ENOKEY;
	kv->names = e;
	return 0;
}

/* 0 until a primary is set; callers that care check keys_volume_has first. */
uint32_t keys_volume_primary(const struct keys_volume *kv)
{
	const struct vk_entry *p = __atomic_load_n(&kv->primary, __ATOMIC_ACQUIRE);

	return p ? p->version : 0;
}

const uint8_t *keys_volume_id(const struct keys_volume *kv)
{
	return kv->volume_id;
}

void keys_volume_set_keytab(struct keys_volume *kv, const struct keys_keytab_ops *ops, void *arg)
{
	kv->keytab_arg = arg;
	kv->keytab = ops;
}

int keys_keytab_derive(const uint8_t tk[KEYS_TK_LEN], const uint8_t volume_id[FORMAT_ID_LEN],
		       uint8_t page_key[KEYS_TK_LEN], uint8_t mac_key[KEYS_TK_LEN])
{
	int ret = derive(KP_KEYTAB_PAGE, tk, KEYS_TK_LEN, volume_id, page_key);

	if (!ret)
		ret = derive(KP_KEYTAB_MAC, tk, KEYS_TK_LEN, volume_id, mac_key);
	return ret;
}

/* NULL until keys_volume_set_names: there is no key to use by default. */
const uint8_t *keys_names_key(const struct keys_volume *kv)
{
	return kv->names ? kv->names->s->names : NULL;
}

const uint8_t *keys_xattr_key(const struct keys_volume *kv)
{
	return kv->names ? kv->names->s->xattr : NULL;
}

const uint8_t *keys_audit_key(const struct keys_volume *kv)
{
	return kv->names ? kv->names->s->audit : NULL;
}

const uint8_t *keys_audit_enc_key(const struct keys_volume *kv)
{
	return kv->names ? kv->names->s->audit_enc : NULL;
}

int keys_config_mac(const struct keys_volume *kv, uint32_t version, const uint8_t *body,
		    size_t len, uint8_t mac[FORMAT_MAC_LEN])
{
	const struct vk_entry *e = vk_find(kv, version);

	if (!e)
		return -ENOKEY;
	return cipher_hmac_sha256(e->s->config_mac, sizeof(e->s->config_mac), body, len, mac);
}

int keys_policy_mac(const struct keys_volume *kv, uint32_t version, const uint8_t *body,
		    size_t len, uint8_t mac[FORMAT_MAC_LEN])
{
	const struct vk_entry *e = vk_find(kv, version);

	if (!e)
		return -ENOKEY;
	return cipher_hmac_sha256(e->s->policy_mac, sizeof(e->s->policy_mac), body, len, mac);
}

int keys_random_key(uint8_t *key, size_t len)
{
	return cipher_random(key, len);
}

size_t keys_vk_wrap_aad(const uint8_t volume_id[FORMAT_ID_LEN], uint32_t version,
			uint8_t out[64])
{
	uint8_t *p = out;

	memcpy(p, VK_AAD_PREFIX, VK_AAD_PREFIX_LEN);
	p += VK_AAD_PREFIX_LEN;
	memcpy(p, volume_id, FORMAT_ID_LEN);
	p += FORMAT_ID_LEN;
	for (int i = 0; i < 4; i++)
		*p++ = (uint8_t)(version >> (8 * i));
	return (size_t)(p - out);
}

/* ---- per-file keys ----------------------------------------------------- */

static int file_alloc(struct keys_file **out)
{
	struct keys_file *fk = secpool_alloc(sizeof(*fk));   /* zeroed */

	*out = NULL;
	if (!fk)
		return -ENOMEM;
	*out = fk;
	return 0;
}

void keys_file_free(struct keys_file *fk)
{
	secpool_free(fk);
}

/* §4.3: derive the block and header-MAC keys from fk->dk and fk->file_id. */
static int file_derive(struct keys_file *fk)
{
	int ret;

	ret = derive(KP_HEADER_MAC, fk->dk, sizeof(fk->dk), fk->file_id, fk->header_mac_key);
	if (ret)
		return ret;
	switch (fk->cipher) {
	case FORMAT_CIPHER_GCM:
		return derive(KP_BLOCK_GCM, fk->dk, sizeof(fk->dk), fk->file_id, fk->block_key);
	case FORMAT_CIPHER_XTS:
		ret = derive(KP_BLOCK_XTS, fk->dk, sizeof(fk->dk), fk->file_id, fk->block_key);
		if (ret)
			return ret;
		return derive(KP_XTS_TAIL, fk->dk, sizeof(fk->dk), fk->file_id, fk->tail_key);
	default:
		return -EPROTO;
	}
}

/*
 * §4.2: seal fk->hk under the data-key-wrap key of `e` into h->wrapped. The
 * AAD is header bytes 0..27 as they will be written, so h's magic..key
 * version must be final before this is called.
 */
static int dk_wrap(const struct vk_entry *e, const struct keys_file *fk, struct format_header *h)
{
	uint8_t enc[FORMAT_HEADER_LEN];
	uint8_t *nonce = h->wrapped, *ct = h->wrapped + CIPHER_GCM_NONCE_LEN;
	int ret;

	h->wrap_kind = FORMAT_WRAP_VOLUME;
	h->wrap_key_version = e->version;
	memset(h->wrapped, 0, sizeof(h->wrapped));
	h->wrapped_len = DK_WRAPPED_LEN;
	format_header_encode(h, enc);
	ret = cipher_random(nonce, CIPHER_GCM_NONCE_LEN);
	if (ret)
		return ret;
	return cipher_gcm_seal(e->s->data_key_wrap, nonce, enc, FORMAT_HEADER_WRAP_AAD_LEN, fk->hk,
			       KEYS_DK_LEN, ct, ct + KEYS_DK_LEN);
}

/* §4.2 inverse; `hdr` is the raw header the AAD is taken from. */
static int dk_unwrap(const struct vk_entry *e, const uint8_t *hdr, const struct format_header *h,
		     uint8_t dk[KEYS_DK_LEN])
{
	const uint8_t *nonce = h->wrapped, *ct = h->wrapped + CIPHER_GCM_NONCE_LEN;

	if (h->wrapped_len != DK_WRAPPED_LEN)
		return -EBADMSG;
	return cipher_gcm_open(e->s->data_key_wrap, nonce, hdr, FORMAT_HEADER_WRAP_AAD_LEN, ct,
			       KEYS_DK_LEN, ct + KEYS_DK_LEN, dk);
}

/* §12: DK = HKDF(hk ‖ S_slot, salt = file id) for a KEYTAB header, else hk
 * itself. Whatever unwrapped hk (any wrap kind), the slot secret is mixed in
 * after, so destroying S_slot makes every copy of the header useless. */
static int file_mix(const struct keys_volume *kv, const struct format_header *h,
		    struct keys_file *fk)
{
	uint8_t ikm[KEYS_DK_LEN + KEYS_SLOT_LEN];
	int ret;

	if (!(h->flags & FORMAT_HDR_KEYTAB)) {
		memcpy(fk->dk, fk->hk, KEYS_DK_LEN);
		return 0;
	}
	if (!kv->keytab)
		return -ENOKEY;
	memcpy(ikm, fk->hk, KEYS_DK_LEN);
	ret = kv->keytab->secret(kv->keytab_arg, h->keytab_slot, ikm + KEYS_DK_LEN);
	if (!ret)
		ret = derive(KP_KEYTAB_DATA_KEY, ikm, sizeof(ikm), fk->file_id, fk->dk);
	secmem_wipe(ikm, sizeof(ikm));
	return ret;
}

/* §4.1: HMAC-SHA256 under the header-mac key over encoded bytes 0..143. */
static int header_mac(const struct keys_file *fk, const uint8_t enc[FORMAT_HEADER_LEN],
		      uint8_t mac[FORMAT_MAC_LEN])
{
	return cipher_hmac_sha256(fk->header_mac_key, sizeof(fk->header_mac_key), enc,
				  FORMAT_HEADER_MAC_OFF, mac);
}

int keys_header_seal(const struct keys_file *fk, struct format_header *h,
		     uint8_t out[FORMAT_HEADER_LEN])
{
	struct format_header check;
	int ret;

	/* A header MAC'd with another file's keys would never open again. */
	if (memcmp(h->file_id, fk->file_id, FORMAT_ID_LEN) != 0 || h->cipher != fk->cipher)
		return -EINVAL;
	format_header_encode(h, out);
	ret = header_mac(fk, out, h->mac);
	if (ret)
		return ret;
	memcpy(out + FORMAT_HEADER_MAC_OFF, h->mac, FORMAT_MAC_LEN);
	/* Never hand out a header that our own decoder would refuse. */
	if (format_header_decode(out, FORMAT_HEADER_LEN, &check) != 0)
		return -EINVAL;
	return 0;
}

int keys_file_create(const struct keys_volume *kv, uint8_t cipher, struct format_header *h,
		     struct keys_file **out)
{
	return keys_file_create_as(kv, cipher, NULL, h, out);
}

/* file_id NULL: a random one (a new file); else that one (a rekey, which
 * keeps the id because every block's AAD binds it). */
int keys_file_create_as(const struct keys_volume *kv, uint8_t cipher,
			const uint8_t *file_id, struct format_header *h, struct keys_file **out)
{
	const struct vk_entry *primary;
	struct keys_file *fk = NULL;
	uint8_t enc[FORMAT_HEADER_LEN];
	int ret;

	*out = NULL;
	if (cipher != FORMAT_CIPHER_GCM && cipher != FORMAT_CIPHER_XTS)
		return -EINVAL;
	primary = __atomic_load_n(&kv->primary, __ATOMIC_ACQUIRE);
	if (!primary)
		return -ENOKEY;
	ret = file_alloc(&fk);
	if (ret)
		goto out;
	fk->cipher = cipher;
	memset(h, 0, sizeof(*h));
	h->cipher = cipher;
	if (kv->dkw) {
		/* §4.4: the KMS wraps the header key (and may have picked the file id). */
		ret = kv->dkw->wrap_new(kv->dkw_ctx, cipher, file_id, fk->hk, h);
		if (ret)
			goto out;
		memcpy(fk->file_id, h->file_id, FORMAT_ID_LEN);
	} else {
		if (file_id)
			memcpy(fk->file_id, file_id, sizeof(fk->file_id));
		else
			ret = cipher_random(fk->file_id, sizeof(fk->file_id));
		if (!ret)
			ret = cipher_random(fk->hk, sizeof(fk->hk));
		if (ret)
			goto out;
		memcpy(h->file_id, fk->file_id, FORMAT_ID_LEN);
	}
	/* §12: with a key table every new data key (create or rekey) gets a slot,
	 * whatever wraps the header key. */
	if (kv->keytab) {
		ret = kv->keytab->reserve(kv->keytab_arg, &h->keytab_slot);
		if (ret)
			goto out;
		h->flags |= FORMAT_HDR_KEYTAB;
	}
	ret = file_mix(kv, h, fk);
	if (!ret)
		ret = file_derive(fk);
	if (!ret && !kv->dkw)
		ret = dk_wrap(primary, fk, h);
	if (!ret)
		ret = keys_header_seal(fk, h, enc);
	if (ret)
		goto out;
	*out = fk;
	fk = NULL;
out:
	keys_file_free(fk);
	return ret;
}

int keys_file_open(const struct keys_volume *kv, const uint8_t *hdr, size_t len,
		   struct format_header *h, struct keys_file **out)
{
	struct keys_file *fk = NULL;
	const struct vk_entry *e;
	uint8_t mac[FORMAT_MAC_LEN];
	int ret;

	*out = NULL;
	ret = format_header_decode(hdr, len, h);
	if (ret)
		goto out;
	if (h->wrap_kind == FORMAT_WRAP_KMS) {
		ret = kv->dkw ? file_alloc(&fk) : -ENOKEY;
		if (!ret)
			ret = kv->dkw->unwrap(kv->dkw_ctx, h, fk->hk);
		if (ret)
			goto out;
	} else {
		e = vk_find(kv, h->wrap_key_version);
		if (!e) {
			ret = -ENOKEY;
			goto out;
		}
		ret = file_alloc(&fk);
		if (ret)
			goto out;
		ret = dk_unwrap(e, hdr, h, fk->hk);
		if (ret)
			goto out;
	}
	memcpy(fk->file_id, h->file_id, FORMAT_ID_LEN);
	fk->cipher = h->cipher;
	ret = file_mix(kv, h, fk);
	if (!ret)
		ret = file_derive(fk);
	if (!ret)
		ret = header_mac(fk, hdr, mac);
	if (ret)
		goto out;
	if (!secmem_equal(mac, hdr + FORMAT_HEADER_MAC_OFF, FORMAT_MAC_LEN)) {
		ret = -EBADMSG;
		goto out;
	}
	*out = fk;
	fk = NULL;
out:
	keys_file_free(fk);
	return ret;
}

int keys_file_rewrap(const struct keys_volume *kv, uint32_t version, const struct keys_file *fk,
		     struct format_header *h)
{
	const struct vk_entry *e = vk_find(kv, version);
	struct format_header nh;
	int ret;

	if (!e && h->wrap_kind != FORMAT_WRAP_KMS)
		return -ENOKEY;
	if (memcmp(h->file_id, fk->file_id, FORMAT_ID_LEN) != 0 || h->cipher != fk->cipher)
		return -EINVAL;
	/* Build on a copy so a failure leaves the caller's header untouched. */
	nh = *h;
	if (h->wrap_kind == FORMAT_WRAP_KMS)
		ret = kv->dkw ? kv->dkw->rewrap(kv->dkw_ctx, fk->hk, &nh) : -ENOKEY;
	else
		ret = dk_wrap(e, fk, &nh);
	if (ret)
		return ret;
	*h = nh;
	return 0;
}
