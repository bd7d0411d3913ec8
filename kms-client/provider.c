/*
 * provider.c: the KMS client handle and its provider table (docs/FORMAT.md §8).
 *
 * Owns struct kms (opaque to users of kms.h), the URI grammar — `scheme:arg`
 * or a bare `scheme` — and dispatch to one provider file per scheme through
 * struct kms_provider_ops. It checks the caller's arguments once so providers
 * need not. It holds no key material and knows no blob layout: each provider
 * owns its own. Adding a provider is one row in `providers` below.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms.h"
#include "provider.h"
#include "secmem.h"

#define KMS_URI_MAX 1024   /* FORMAT.md §3: the config stores 1..1024 URI bytes */
#define SCHEME_MAX 32

static const struct kms_provider_ops *const providers[] = {
	&kms_local_ops,
	&kms_passphrase_ops,
	&kms_pkcs11_ops,
	&kms_kmip_ops,
};

/* Every call that reaches a provider (wrap, unwrap, lifecycle): what a
 * benchmark and the daemon's log report as KMS operations. */
static atomic_ulong kms_ops;

unsigned long kms_op_count(void)
{
	return atomic_load(&kms_ops);
}

struct kms {
	const struct kms_provider_ops *ops;
	void *state;   /* the provider's, released by ops->close */
};

void kms_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	flockfile(stderr);
	fputs("phifs: kms: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	va_end(ap);
}

int kms_id_format(const char *prefix, const uint8_t *bytes, size_t n, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t plen = strlen(prefix);

	if (!out || cap < plen + 2 * n + 1)
		return -ERANGE;
	memcpy(out, prefix, plen);
	for (size_t i = 0; i < n; i++) {
		out[plen + 2 * i] = hex[bytes[i] >> 4];
		out[plen + 2 * i + 1] = hex[bytes[i] & 0xf];
	}
	out[plen + 2 * n] = '\0';
	return 0;
}

/* ASCII by hand: <ctype.h> would follow a locale the daemon may have set. */
static int is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_scheme_char(unsigned char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

/*
 * RFC 3986 scheme syntax. A malformed URI is -EINVAL; a well-formed scheme we
 * lack is -EPROTONOSUPPORT. Only a validated scheme is ever printed: the URI
 * comes from a config that is not yet authenticated when it is opened.
 */
static int provider_find(const char *uri, const struct kms_provider_ops **ops, const char **arg)
{
	size_t n = strcspn(uri, ":");

	if (n == 0 || !is_alpha((unsigned char)uri[0])) {
		kms_warn("malformed KMS URI (expected scheme:argument, e.g. local:/path/keyfile)");
		return -EINVAL;
	}
	for (size_t i = 1; i < n; i++) {
		if (!is_scheme_char((unsigned char)uri[i])) {
			kms_warn("malformed KMS URI scheme (expected e.g. local:/path/keyfile)");
			return -EINVAL;
		}
	}
	*arg = uri[n] == ':' ? uri + n + 1 : NULL;
	for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
		if (strlen(providers[i]->name) == n && memcmp(providers[i]->name, uri, n) == 0) {
			*ops = providers[i];
			return 0;
		}
	}
	if (n < SCHEME_MAX)
		kms_warn("unknown KMS provider '%.*s' (known: local, passphrase, pkcs11, kmip)",
			 (int)n, uri);
	else
		kms_warn("unknown KMS provider (known: local, passphrase, pkcs11, kmip)");
	return -EPROTONOSUPPORT;
}

int kms_open(const char *uri, const struct kms_opts *opts, struct kms **out)
{
	static const struct kms_opts no_opts;
	const struct kms_provider_ops *ops = NULL;
	const char *arg = NULL;
	struct kms *k = NULL;
	int ret = -EINVAL;

	if (!out)
		goto out;
	*out = NULL;
	if (!uri || !*uri || strnlen(uri, KMS_URI_MAX + 1) > KMS_URI_MAX) {
		kms_warn("KMS URI is empty or longer than %d bytes", KMS_URI_MAX);
		goto out;
	}
	ret = secmem_init();
	if (ret)
		goto out;
	ret = provider_find(uri, &ops, &arg);
	if (ret)
		goto out;
	k = calloc(1, sizeof(*k));
	if (!k) {
		ret = -ENOMEM;
		goto out;
	}
	k->ops = ops;
	ret = ops->open(arg, opts ? opts : &no_opts, &k->state);
	if (ret)
		goto out;
	*out = k;
	k = NULL;
out:
	free(k);
	return ret;
}

void kms_close(struct kms *k)
{
	if (!k)
		return;
	k->ops->close(k->state);
	free(k);
}

/* The checks every op shares; a provider trusts them (provider.h). */
static int args_ok(const struct kms *k, const void *aad, size_t aad_len, const void *secret,
		   size_t len, const void *blob)
{
	return k && (aad || !aad_len) && secret && len && len <= KMS_BLOB_MAX && blob;
}

int kms_wrap(struct kms *k, const void *aad, size_t aad_len, const uint8_t *secret, size_t len,
	     uint8_t *blob, size_t *blob_len)
{
	if (!args_ok(k, aad, aad_len, secret, len, blob) || !blob_len)
		return -EINVAL;
	atomic_fetch_add(&kms_ops, 1);
	return k->ops->wrap(k->state, aad, aad_len, secret, len, blob, blob_len);
}

int kms_unwrap(struct kms *k, const void *aad, size_t aad_len, const uint8_t *blob,
	       size_t blob_len, uint8_t *secret, size_t len)
{
	if (!args_ok(k, aad, aad_len, secret, len, blob) || !blob_len)
		return -EINVAL;
	atomic_fetch_add(&kms_ops, 1);
	return k->ops->unwrap(k->state, aad, aad_len, blob, blob_len, secret, len);
}

const char *kms_key_id(const struct kms *k)
{
	return k ? k->ops->key_id(k->state) : NULL;
}

int kms_blob_key_id(const struct kms *k, const uint8_t *blob, size_t blob_len, char *out,
		    size_t cap)
{
	if (!k || !blob || !blob_len || !out || !cap)
		return -EINVAL;
	out[0] = '\0';
	if (!k->ops->blob_key_id)
		return -ENODATA;
	return k->ops->blob_key_id(k->state, blob, blob_len, out, cap);
}

const char *kms_provider_name(const struct kms *k)
{
	return k ? k->ops->name : NULL;
}

int kms_create_key(struct kms *k, char *id, size_t cap)
{
	if (!k || !id || !cap)
		return -EINVAL;
	id[0] = '\0';
	if (!k->ops->create_key)
		return -EOPNOTSUPP;
	atomic_fetch_add(&kms_ops, 1);
	return k->ops->create_key(k->state, id, cap);
}

int kms_describe(struct kms *k, const char *id, struct kms_key_info *info)
{
	if (!k || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	snprintf(info->state, sizeof(info->state), "unknown");
	if (!k->ops->describe)
		return -EOPNOTSUPP;
	atomic_fetch_add(&kms_ops, 1);
	return k->ops->describe(k->state, id, info);
}

int kms_health(struct kms *k)
{
	if (!k)
		return -EINVAL;
	if (!k->ops->health)
		return 0;
	atomic_fetch_add(&kms_ops, 1);
	return k->ops->health(k->state);
}

int kms_retire_key(struct kms *k, const char *id)
{
	if (!k || !id || !*id)
		return -EINVAL;
	if (!k->ops->retire_key)
		return -EOPNOTSUPP;
	atomic_fetch_add(&kms_ops, 1);
	return k->ops->retire_key(k->state, id);
}

/* ---- per-file KMS mode: compact blobs --------------------------------- */

int kms_has_compact(const struct kms *k)
{
	return k && k->ops->compact && k->ops->expand;
}

int kms_blob_compact(const struct kms *k, const uint8_t *blob, size_t blob_len, uint8_t *out,
		     size_t *out_len)
{
	if (!k || !blob || !blob_len || !out || !out_len)
		return -EINVAL;
	if (!kms_has_compact(k))
		return -EOPNOTSUPP;
	return k->ops->compact(k->state, blob, blob_len, out, out_len);
}

int kms_blob_expand(const struct kms *k, const char *kek_id, const uint8_t *in, size_t in_len,
		    uint8_t *blob, size_t *blob_len)
{
	if (!k || !kek_id || !in || !in_len || !blob || !blob_len)
		return -EINVAL;
	if (!kms_has_compact(k))
		return -EOPNOTSUPP;
	return k->ops->expand(k->state, kek_id, in, in_len, blob, blob_len);
}

/* The KEK that wrapped `blob`: named by the blob where it can say, else the
 * provider's current one (local: one key per file). */
static int wrapped_by(const struct kms *k, const uint8_t *blob, size_t blob_len, char *kek_id,
		      size_t cap)
{
	const char *cur;

	if (k->ops->blob_key_id && k->ops->blob_key_id(k->state, blob, blob_len, kek_id, cap) == 0)
		return 0;
	cur = k->ops->key_id(k->state);
	if (!cur || strlen(cur) >= cap)
		return -ERANGE;
	memcpy(kek_id, cur, strlen(cur) + 1);
	return 0;
}

int kms_wrap_compact(struct kms *k, const void *aad, size_t aad_len, const uint8_t *secret,
		     size_t len, uint8_t *blob, size_t *blob_len, char *kek_id, size_t cap)
{
	uint8_t full[KMS_BLOB_MAX];
	size_t full_len = sizeof(full);
	int ret;

	if (!kek_id || !cap || !blob_len)
		return -EINVAL;
	kek_id[0] = '\0';
	if (!kms_has_compact(k))
		return -EOPNOTSUPP;
	ret = kms_wrap(k, aad, aad_len, secret, len, full, &full_len);
	if (!ret)
		ret = wrapped_by(k, full, full_len, kek_id, cap);
	if (!ret)
		ret = k->ops->compact(k->state, full, full_len, blob, blob_len);
	if (ret)
		kek_id[0] = '\0';
	return ret;
}

int kms_unwrap_compact(struct kms *k, const char *kek_id, const void *aad, size_t aad_len,
		       const uint8_t *blob, size_t blob_len, uint8_t *secret, size_t len)
{
	uint8_t full[KMS_BLOB_MAX];
	size_t full_len = sizeof(full);
	int ret;

	ret = kms_blob_expand(k, kek_id, blob, blob_len, full, &full_len);
	if (ret)
		return ret;
	return kms_unwrap(k, aad, aad_len, full, full_len, secret, len);
}

int kms_destroy_key(struct kms *k, const char *id)
{
	if (!k || !id || !*id)
		return -EINVAL;
	if (!k->ops->destroy_key)
		return -EOPNOTSUPP;
	atomic_fetch_add(&kms_ops, 1);
	return k->ops->destroy_key(k->state, id);
}
