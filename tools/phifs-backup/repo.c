/*
 * repo.c: creating and opening a backup repository (docs/BACKUP_FORMAT.md
 * §3 config, §4 repository key and its derived keys). It owns the KMS round
 * trip for the repository key and keeps every key in secret memory
 * (fs/secmem.h), wiping the raw key as soon as the derived keys exist. It
 * does not read or write data, indexes or snapshots.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cipher.h"
#include "kms.h"
#include "backend_s3.h"
#include "repo.h"
#include "repo_json.h"
#include "repo_obj.h"
#include "repo_util.h"
#include "secmem.h"

#define KEY_AAD "phifs-backup/v1/repo-key"
#define CONFIG_MAX 8192

static const struct {
	const char *info;
	size_t off;
} derive_table[] = {
	{ "phifs-backup/v1/encrypt", offsetof(struct repo_keys, encrypt) },
	{ "phifs-backup/v1/chunk-id", offsetof(struct repo_keys, chunk_id) },
	{ "phifs-backup/v1/config-mac", offsetof(struct repo_keys, config_mac) },
	{ "phifs-backup/v1/mac", offsetof(struct repo_keys, mac) },
};

static void seterr(char *err, size_t cap, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void seterr(char *err, size_t cap, int e, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!err || !cap)
		return;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	n = strlen(err);
	snprintf(err + n, cap - n, ": %s", strerror(-e));
}

/* The derived keys of §4.1 from the raw repository key. */
static int derive(const uint8_t *rk, const uint8_t id[REPO_ID_BYTES], struct repo_keys **out)
{
	struct repo_keys *k = secmem_alloc(sizeof(*k));
	int ret = 0;

	*out = NULL;
	if (!k)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(derive_table) / sizeof(derive_table[0]) && !ret; i++)
		ret = cipher_hkdf_sha256(rk, REPO_KEY_LEN, id, REPO_ID_BYTES, derive_table[i].info,
					 strlen(derive_table[i].info), (uint8_t *)k + derive_table[i].off,
					 32);
	if (ret) {
		secmem_free(k);
		return ret;
	}
	*out = k;
	return 0;
}

static size_t key_aad(const uint8_t id[REPO_ID_BYTES], uint8_t aad[64])
{
	size_t n = strlen(KEY_AAD);

	memcpy(aad, KEY_AAD, n);
	memcpy(aad + n, id, REPO_ID_BYTES);
	return n + REPO_ID_BYTES;
}

static struct kms_opts kms_opts_env(int create)
{
	struct kms_opts o = { 0 };

	o.create = create;
	o.passfile = getenv("PHIFS_BACKUP_PASSFILE");
	return o;
}

/* --- config (§3) --- */

static struct json_object *config_json(const struct repo_config *c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "version", json_object_new_int(c->version));
	json_object_object_add(o, "id", json_object_new_string(c->id_hex));
	json_object_object_add(o, "created", json_object_new_int64(c->created));
	json_object_object_add(o, "kms", json_object_new_string(c->kms));
	json_object_object_add(o, "min_retention", json_object_new_int64(c->min_retention));
	json_object_object_add(o, "chunk_max", json_object_new_int64(c->chunk_max));
	json_object_object_add(o, "pack_size", json_object_new_int64(c->pack_size));
	return o;
}

static int config_write(struct repo *r)
{
	struct json_object *o = config_json(&r->cfg);
	uint8_t mac[32];
	char buf[CONFIG_MAX], hex[65];
	size_t len;
	const char *text = repo_json_text(o, &len);
	int ret;

	if (len + 66 > sizeof(buf)) {
		ret = -E2BIG;
		goto out;
	}
	ret = cipher_hmac_sha256(r->keys->config_mac, 32, text, len, mac);
	if (ret)
		goto out;
	repo_hex(mac, 32, hex);
	memcpy(buf, text, len);
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "\n%s\n", hex);
	ret = backend_put(r->be, "config", buf, len);
out:
	json_object_put(o);
	return ret;
}

static int config_fields(struct json_object *o, struct repo_config *c)
{
	const char *id = repo_json_str(o, "id"), *kms = repo_json_str(o, "kms");
	int64_t v, chunk, pack;

	if (repo_json_i64(o, "version", &v))
		return -EBADMSG;
	if (v < REPO_VERSION_MIN || v > REPO_VERSION)
		return -EPROTO;
	c->version = (int)v;
	if (!id || !kms || strlen(kms) >= sizeof(c->kms) || repo_unhex(id, c->id, REPO_ID_BYTES) ||
	    repo_json_i64(o, "created", &c->created) ||
	    repo_json_i64(o, "min_retention", &c->min_retention) || c->min_retention < 0 ||
	    repo_json_i64(o, "chunk_max", &chunk) || repo_json_i64(o, "pack_size", &pack) ||
	    chunk < 4096 || chunk > 64 * 1048576 || pack < chunk || pack > 1024 * 1048576)
		return -EBADMSG;
	repo_hex(c->id, REPO_ID_BYTES, c->id_hex);
	snprintf(c->kms, sizeof(c->kms), "%s", kms);
	c->chunk_max = (uint32_t)chunk;
	c->pack_size = (uint32_t)pack;
	return 0;
}

/* Parses config; *mac_ok is checked once the key is known (config_verify). */
static int config_read(struct repo *r, uint8_t **raw, size_t *raw_len, size_t *json_len)
{
	struct json_object *o = NULL;
	uint8_t *nl;
	int ret;

	ret = backend_get(r->be, "config", raw, raw_len);
	if (ret)
		return ret;
	nl = memchr(*raw, '\n', *raw_len);
	if (!nl || *raw_len != (size_t)(nl - *raw) + 66 || (*raw)[*raw_len - 1] != '\n')
		return -EBADMSG;
	*json_len = (size_t)(nl - *raw);
	ret = repo_json_parse(*raw, *json_len, &o);
	if (!ret)
		ret = config_fields(o, &r->cfg);
	json_object_put(o);
	return ret;
}

static int config_verify(struct repo *r, const uint8_t *raw, size_t json_len)
{
	uint8_t mac[32], want[32];
	char hex[65];
	int ret;

	memcpy(hex, raw + json_len + 1, 64);
	hex[64] = '\0';
	if (repo_unhex(hex, want, 32))
		return -EBADMSG;
	ret = cipher_hmac_sha256(r->keys->config_mac, 32, raw, json_len, mac);
	if (ret)
		return ret;
	return secmem_equal(mac, want, 32) ? 0 : -EBADMSG;
}

/* --- key objects (§4) --- */

static int key_write(struct repo *r, struct kms *k, const uint8_t *rk)
{
	uint8_t blob[KMS_BLOB_MAX], aad[64];
	size_t blen = sizeof(blob), len;
	char hex[2 * KMS_BLOB_MAX + 1];
	struct json_object *o = NULL;
	const char *text;
	int ret;

	ret = kms_wrap(k, aad, key_aad(r->cfg.id, aad), rk, REPO_KEY_LEN, blob, &blen);
	if (ret)
		return ret;
	repo_hex(blob, blen, hex);
	o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int(REPO_KEY_VERSION));
	json_object_object_add(o, "kms", json_object_new_string(r->cfg.kms));
	json_object_object_add(o, "kek_id", json_object_new_string(kms_key_id(k) ? kms_key_id(k) : ""));
	json_object_object_add(o, "created", json_object_new_int64(repo_now()));
	json_object_object_add(o, "wrapped", json_object_new_string(hex));
	text = repo_json_text(o, &len);
	ret = repo_put_object(r, "keys", text, len, NULL);
	json_object_put(o);
	return ret;
}

struct key_try {
	struct repo *r;
	struct kms *k;
	uint8_t *rk;          /* secmem, REPO_KEY_LEN */
	int found;
	int last_err;
};

static int key_try_one(void *arg, const char *name, uint64_t size)
{
	struct key_try *t = arg;
	struct json_object *o = NULL;
	uint8_t *buf = NULL, blob[KMS_BLOB_MAX], aad[64];
	size_t len;
	const char *hex, *kek;
	int ret;

	if (size > 4 * KMS_BLOB_MAX)
		return 0;
	ret = backend_get(t->r->be, name, &buf, &len);
	if (!ret)
		ret = repo_json_parse(buf, len, &o);
	hex = ret ? NULL : repo_json_str(o, "wrapped");
	kek = ret ? NULL : repo_json_str(o, "kek_id");
	if (!hex || strlen(hex) % 2 || strlen(hex) / 2 > sizeof(blob) ||
	    repo_unhex(hex, blob, strlen(hex) / 2)) {
		ret = ret ? ret : -EBADMSG;
		goto out;
	}
	ret = kms_unwrap(t->k, aad, key_aad(t->r->cfg.id, aad), blob, strlen(hex) / 2, t->rk,
			 REPO_KEY_LEN);
	if (!ret) {
		t->found = 1;
		snprintf(t->r->kek_id, sizeof(t->r->kek_id), "%s", kek ? kek : "");
	}
out:
	if (ret)
		t->last_err = ret;
	json_object_put(o);
	free(buf);
	return t->found;
}

/* --- open / create --- */

static int repo_alloc(const char *url, int create, struct repo **out)
{
	struct repo *r = calloc(1, sizeof(*r));
	int ret;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	ret = backend_open(url, create, &r->be);
	if (ret) {
		free(r);
		return ret;
	}
	*out = r;
	return 0;
}

static int unwrap_key(struct repo *r, char *err, size_t errcap)
{
	struct kms_opts ko = kms_opts_env(0);
	struct key_try t = { r, NULL, NULL, 0, -ENOKEY };
	int ret;

	t.rk = secmem_alloc(REPO_KEY_LEN);
	if (!t.rk)
		return -ENOMEM;
	ret = kms_open(r->cfg.kms, &ko, &t.k);
	if (ret) {
		seterr(err, errcap, ret, "cannot open the repository's KMS (%s)", r->cfg.kms);
		ret = -ENOKEY;
		goto out;
	}
	ret = backend_list(r->be, "keys/", key_try_one, &t);
	if (ret < 0)
		goto out;
	ret = t.found ? derive(t.rk, r->cfg.id, &r->keys) : t.last_err;
	if (ret == -ENOKEY)
		seterr(err, errcap, ret, "no key object in the repository");
	else if (ret == -EKEYREJECTED)
		seterr(err, errcap, ret, "no key object unwraps with %s", r->cfg.kms);
out:
	kms_close(t.k);
	secmem_free(t.rk);
	return ret;
}

int repo_open_msg(const char *url, struct repo **out, char *err, size_t errcap)
{
	struct repo *r = NULL;
	uint8_t *raw = NULL;
	size_t raw_len = 0, json_len = 0;
	int ret;

	*out = NULL;
	if (err && errcap)
		err[0] = '\0';
	ret = repo_alloc(url, 0, &r);
	if (ret) {
		seterr(err, errcap, ret, "cannot open repository %s", url);
		return ret;
	}
	ret = config_read(r, &raw, &raw_len, &json_len);
	if (ret) {
		if (ret == -ENOENT)
			seterr(err, errcap, ret, "%s is not a phifs-backup repository", url);
		else
			seterr(err, errcap, ret, "%s: repository config unreadable or unsupported", url);
		goto out;
	}
	ret = unwrap_key(r, err, errcap);
	if (ret)
		goto out;
	ret = config_verify(r, raw, json_len);
	if (ret)
		seterr(err, errcap, ret, "%s: config has been modified (MAC mismatch)", url);
	else   /* only once the floor is authenticated */
		backend_s3_set_retention(r->be, r->cfg.min_retention);
out:
	free(raw);
	if (ret)
		repo_close(r);
	else
		*out = r;
	return ret;
}

int repo_open(const char *url, struct repo **out)
{
	return repo_open_msg(url, out, NULL, 0);
}

static int create_keys(struct repo *r, char *err, size_t errcap)
{
	struct kms_opts ko = kms_opts_env(1);
	struct kms *k = NULL;
	uint8_t *rk = secmem_alloc(REPO_KEY_LEN);
	int ret;

	if (!rk)
		return -ENOMEM;
	ret = kms_open(r->cfg.kms, &ko, &k);
	if (ret) {
		seterr(err, errcap, ret, "cannot open KMS %s", r->cfg.kms);
		ret = -ENOKEY;
		goto out;
	}
	ret = cipher_random(rk, REPO_KEY_LEN);
	if (!ret)
		ret = derive(rk, r->cfg.id, &r->keys);
	if (!ret)
		ret = key_write(r, k, rk);
	if (ret)
		seterr(err, errcap, ret, "cannot wrap and store the repository key");
out:
	kms_close(k);
	secmem_free(rk);
	return ret;
}

static int exists_cb(void *arg, const char *name, uint64_t size)
{
	(void)arg;
	(void)name;
	(void)size;
	return 1;
}

int repo_create(const char *url, const char *kms_uri, int64_t min_retention, uint32_t chunk_max,
		struct repo **out, char *err, size_t errcap)
{
	struct repo *r = NULL;
	uint64_t size;
	int ret;

	*out = NULL;
	if (strlen(kms_uri) >= sizeof(r->cfg.kms) || strstr(kms_uri, "pin-value=")) {
		seterr(err, errcap, -EINVAL, "KMS URI refused (too long, or holds a secret: use pin-source=file:)");
		return -EINVAL;
	}
	ret = repo_alloc(url, 1, &r);
	if (ret) {
		seterr(err, errcap, ret, "cannot create repository %s", url);
		return ret;
	}
	ret = backend_stat(r->be, "config", &size);
	if (ret == 0 || (ret == -ENOENT && backend_list(r->be, "keys/", exists_cb, NULL) == 1))
		ret = -EEXIST;
	else if (ret == -ENOENT)
		ret = 0;
	if (ret) {
		seterr(err, errcap, ret, "cannot create a repository in %s", url);
		goto out;
	}
	r->cfg.version = REPO_VERSION;
	r->cfg.created = repo_now();
	r->cfg.min_retention = min_retention;
	backend_s3_set_retention(r->be, min_retention);
	r->cfg.chunk_max = chunk_max ? chunk_max : REPO_CHUNK_MAX;
	r->cfg.pack_size = REPO_PACK_SIZE;
	snprintf(r->cfg.kms, sizeof(r->cfg.kms), "%s", kms_uri);
	ret = cipher_random(r->cfg.id, REPO_ID_BYTES);
	if (ret)
		goto out;
	repo_hex(r->cfg.id, REPO_ID_BYTES, r->cfg.id_hex);
	/* key first, config last: a config means a usable repository */
	ret = create_keys(r, err, errcap);
	if (!ret) {
		ret = config_write(r);
		if (ret)
			seterr(err, errcap, ret, "cannot write the config of %s", url);
	}
out:
	if (ret)
		repo_close(r);
	else
		*out = r;
	return ret;
}

int repo_put_object(struct repo *r, const char *prefix, const void *buf, size_t len,
		    uint8_t id[32])
{
	uint8_t own[32];
	char name[100];
	int ret = repo_obj_id(buf, len, id ? id : own);

	if (ret)
		return ret;
	repo_obj_name(prefix, id ? id : own, name, sizeof(name));
	return backend_put(r->be, name, buf, len);
}

int repo_put_sealed(struct repo *r, uint8_t type, const char *prefix, const void *pt, size_t len,
		    uint8_t id[32])
{
	uint8_t *sealed = NULL;
	size_t slen = 0;
	int ret = repo_obj_seal(r->keys->encrypt, type, NULL, pt, len, REPO_Z_ALWAYS, &sealed, &slen);

	if (!ret)
		ret = repo_put_object(r, prefix, sealed, slen, id);
	free(sealed);
	return ret;
}

int repo_mac(const struct repo *r, const void *data, size_t len, uint8_t out[REPO_MAC_LEN])
{
	if (!r->keys)
		return -ENOKEY;
	return cipher_hmac_sha256(r->keys->mac, 32, data, len, out);
}

void repo_close(struct repo *r)
{
	if (!r)
		return;
	secmem_free(r->keys);
	backend_close(r->be);
	free(r);
}
