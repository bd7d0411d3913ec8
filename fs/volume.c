/*
 * volume.c: a volume's life outside the FUSE loop — create (config, first
 * volume key wrapped by the KMS, root dir id) and open (parse, unwrap every
 * usable key slot, verify the config MAC before trusting anything else).
 * Implements docs/FORMAT.md §3 and §3.1. It owns the only code that writes
 * phifs.conf; it does not know how blocks or names are encrypted.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "keyring.h"
#include "names.h"
#include "secmem.h"
#include "keytab.h"
#include "errmsg.h"
#include "volume.h"
#include "filekms.h"

const char *volume_cipher_name(unsigned cipher)
{
	switch (cipher) {
	case FORMAT_CIPHER_GCM: return "AES-256-GCM";
	case FORMAT_CIPHER_XTS: return "AES-256-XTS";
	default: return "unknown";
	}
}

/* The whole file, refusing one larger than cap (-EFBIG). */
static int read_all(int fd, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t extra;
	size_t more = 0;
	int ret = fdio_read(fd, buf, cap, len);

	if (!ret && *len == cap)
		ret = fdio_read(fd, &extra, 1, &more);
	return ret ? ret : (more ? -EFBIG : 0);
}

int volume_config_read(int dirfd, struct format_config *cfg)
{
	uint8_t *buf = malloc(FORMAT_CONFIG_MAX);
	size_t len = 0;
	int fd = -1, ret;

	if (!buf)
		return -ENOMEM;
	fd = openat(dirfd, FORMAT_CONFIG_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = read_all(fd, buf, FORMAT_CONFIG_MAX, &len);
	if (ret)
		goto out;
	ret = format_config_decode(buf, len, cfg);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

int volume_config_write(int dirfd, struct format_config *cfg, const struct keys_volume *kv)
{
	uint8_t *buf = malloc(FORMAT_CONFIG_MAX);
	size_t len = 0;
	int fd = -1, ret;

	if (!buf)
		return -ENOMEM;
	ret = format_config_encode(cfg, buf, FORMAT_CONFIG_MAX, &len);
	if (ret)
		goto out;
	ret = keys_config_mac(kv, cfg->primary_version, buf, len - FORMAT_MAC_LEN, cfg->mac);
	if (ret)
		goto out;
	memcpy(buf + len - FORMAT_MAC_LEN, cfg->mac, FORMAT_MAC_LEN);
	fd = openat(dirfd, FORMAT_CONFIG_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		    0400);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = fdio_write(fd, buf, len);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (ret)
		goto out;
	if (renameat(dirfd, FORMAT_CONFIG_TMP, dirfd, FORMAT_CONFIG_FILE) < 0) {
		ret = -errno;
		goto out;
	}
	/* The rename is durable only once the directory is synced. */
	if (syncfs(dirfd) < 0)
		ret = -errno;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

static int dir_is_empty(int dirfd)
{
	DIR *d;
	struct dirent *e;
	int empty = 1, ret = fdio_opendir(dirfd, &d);

	if (ret)
		return ret;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = 0;
			break;
		}
	}
	closedir(d);
	return empty;
}

static int open_or_make_dir(const char *dir, int *out)
{
	int fd;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*out = fd;
	return 0;
}

/* A KMS URI as messages show it: without its query, which may carry
 * credentials (RFC 7512 pin-value=) — refused, but echoed by an error. */
static const char *uri_shown(const char *uri, char out[256])
{
	size_t n = strcspn(uri, "?");

	snprintf(out, 256, "%.*s%s", (int)(n > 200 ? 200 : n), uri, uri[n] ? "?..." : "");
	return out;
}

/* Wrap VK_v under the KMS into s's blob and KEK id (§3.2); s->version is v. */
static int wrap_into(struct kms *k, const uint8_t volume_id[FORMAT_ID_LEN],
		     const uint8_t vk[KEYS_VK_LEN], struct format_slot *s)
{
	uint8_t aad[64];
	size_t aad_len = keys_vk_wrap_aad(volume_id, s->version, aad);
	size_t blen = sizeof(s->wrapped);
	int ret;

	ret = kms_wrap(k, aad, aad_len, vk, KEYS_VK_LEN, s->wrapped, &blen);
	if (ret)
		return ret;
	s->wrapped_len = (uint16_t)blen;
	snprintf(s->kek_id, sizeof(s->kek_id), "%s", kms_key_id(k));
	return 0;
}

/* A new active slot for VK `version`. */
static int wrap_slot(struct kms *k, const uint8_t volume_id[FORMAT_ID_LEN], uint32_t version,
		     const uint8_t vk[KEYS_VK_LEN], struct format_slot *s)
{
	s->version = version;
	s->state = FORMAT_SLOT_ACTIVE;
	s->created = (uint64_t)time(NULL);
	return wrap_into(k, volume_id, vk, s);
}

/* Writes cfg as the volume's config (MAC under v's keys) and adopts it. */
static int config_commit(struct volume *v, struct format_config *cfg)
{
	int dfd = openat(v->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);   /* syncfs needs one */
	int ret = dfd < 0 ? -errno : volume_config_write(dfd, cfg, v->keys);

	if (dfd >= 0)
		close(dfd);
	if (!ret)
		*v->cfg = *cfg;
	return ret;
}

int volume_rewrap(struct volume *v, struct kms *k, const char *new_uri, char *err,
		  size_t errcap)
{
	struct format_config *cfg = malloc(sizeof(*cfg));
	int ret = 0;

	if (!cfg)
		return -ENOMEM;
	*cfg = *v->cfg;
	if (new_uri && (strlen(new_uri) == 0 || strlen(new_uri) > FORMAT_MAX_URI)) {
		errmsg_set(err, errcap, "KMS URI must be 1..%d bytes", FORMAT_MAX_URI);
		ret = -EINVAL;
		goto out;
	}
	for (unsigned i = 0; i < cfg->n_slots && !ret; i++) {
		struct format_slot *s = &cfg->slots[i];
		const uint8_t *vk = keys_volume_vk(v->keys, s->version);

		if (s->state == FORMAT_SLOT_RETIRED)
			continue;       /* never unwrapped again: keeps its old blob */
		ret = vk ? wrap_into(k, cfg->volume_id, vk, s) : -ENOKEY;
		if (ret)
			errmsg_set(err, errcap, "cannot wrap volume key v%u under %s: %s", s->version,
			       kms_key_id(k) ? kms_key_id(k) : "the new KEK", strerror(-ret));
	}
	if (ret)
		goto out;
	if (new_uri)
		snprintf(cfg->kms_uri, sizeof(cfg->kms_uri), "%s", new_uri);
	ret = config_commit(v, cfg);
	if (ret)
		errmsg_set(err, errcap, "cannot write the new config: %s", strerror(-ret));
out:
	explicit_bzero(cfg, sizeof(*cfg));
	free(cfg);
	return ret;
}

int volume_create(const char *dir, const struct volume_create_opts *o, char *err, size_t errcap)
{
	struct format_config *cfg = calloc(1, sizeof(*cfg));
	struct keys_volume *kv = NULL;
	struct kms *k = NULL;
	struct kms_opts ko = o->kms;
	uint8_t *vk = secmem_alloc(KEYS_VK_LEN);
	char shown[256];
	int dirfd = -1, ret;

	if (!cfg || !vk) {
		ret = -ENOMEM;
		goto out;
	}
	if (strlen(o->kms_uri) == 0 || strlen(o->kms_uri) > FORMAT_MAX_URI) {
		errmsg_set(err, errcap, "KMS URI must be 1..%d bytes", FORMAT_MAX_URI);
		ret = -EINVAL;
		goto out;
	}
	ret = open_or_make_dir(dir, &dirfd);
	if (ret) {
		errmsg_set(err, errcap, "cannot open cipher directory %s: %s", dir, strerror(-ret));
		goto out;
	}
	ret = dir_is_empty(dirfd);
	if (ret <= 0) {
		ret = ret < 0 ? ret : -EEXIST;
		errmsg_set(err, errcap, "%s is not empty; refusing to create a volume there", dir);
		goto out;
	}
	ko.create = 1;
	ko.confirm = 1;
	ret = kms_open(o->kms_uri, &ko, &k);
	if (ret) {
		errmsg_set(err, errcap, "cannot open KMS %s: %s", uri_shown(o->kms_uri, shown),
		       strerror(-ret));
		goto out;
	}
	cfg->version = FORMAT_VERSION;
	cfg->cipher = o->cipher ? o->cipher : FORMAT_CIPHER_GCM;
	cfg->block_size = FORMAT_BLOCK_LEN;
	cfg->name_scheme = FORMAT_NAMES_SIV;
	cfg->wrap_mode = o->wrap_mode ? o->wrap_mode : FORMAT_WRAP_VOLUME;
	if (cfg->wrap_mode == FORMAT_WRAP_KMS && !kms_has_compact(k)) {
		errmsg_set(err, errcap, "per-file KMS mode needs a KMS that wraps each file's key "
		       "(local, pkcs11 or kmip); the %s provider cannot", kms_provider_name(k));
		ret = -EINVAL;
		goto out;
	}
	cfg->created = (uint64_t)time(NULL);
	cfg->primary_version = 1;
	cfg->names_version = 1;
	snprintf(cfg->kms_uri, sizeof(cfg->kms_uri), "%s", o->kms_uri);
	ret = keys_random_key(cfg->volume_id, FORMAT_ID_LEN);
	if (!ret)
		ret = keys_random_key(vk, KEYS_VK_LEN);
	if (ret)
		goto out;
	ret = wrap_slot(k, cfg->volume_id, 1, vk, &cfg->slots[0]);
	if (ret) {
		errmsg_set(err, errcap, "KMS %s could not wrap the volume key: %s",
		       uri_shown(o->kms_uri, shown),
		       strerror(-ret));
		goto out;
	}
	cfg->n_slots = 1;
	if (cfg->wrap_mode == FORMAT_WRAP_KMS) {
		/* §3.3: the first KEK table entry is the KEK that just wrapped VK_1. */
		cfg->n_keks = 1;
		cfg->keks[0].ref = 1;
		snprintf(cfg->keks[0].id, sizeof(cfg->keks[0].id), "%s", cfg->slots[0].kek_id);
	}
	ret = keys_volume_new(cfg->volume_id, &kv);
	if (!ret)
		ret = keys_volume_add(kv, 1, vk);
	if (!ret)
		ret = keys_volume_set_primary(kv, 1);
	if (!ret)
		ret = keys_volume_set_names(kv, 1);
	if (ret)
		goto out;
	ret = names_dirid_create(dirfd);
	if (ret) {
		errmsg_set(err, errcap, "cannot write the root directory id: %s", strerror(-ret));
		goto out;
	}
	/* The config goes last: a half-made volume has no phifs.conf and cannot mount. */
	ret = volume_config_write(dirfd, cfg, kv);
	if (ret)
		errmsg_set(err, errcap, "cannot write %s: %s", FORMAT_CONFIG_FILE, strerror(-ret));
out:
	secmem_free(vk);
	keys_volume_free(kv);
	kms_close(k);
	free(cfg);
	if (dirfd >= 0)
		close(dirfd);
	return ret;
}

static int unlock_slot(struct kms *k, const struct format_config *cfg, const struct format_slot *s,
		       struct keys_volume *kv)
{
	uint8_t aad[64];
	size_t aad_len = keys_vk_wrap_aad(cfg->volume_id, s->version, aad);
	uint8_t *vk = secmem_alloc(KEYS_VK_LEN);
	int ret;

	if (!vk)
		return -ENOMEM;
	ret = kms_unwrap(k, aad, aad_len, s->wrapped, s->wrapped_len, vk, KEYS_VK_LEN);
	if (!ret)
		ret = keys_volume_add(kv, s->version, vk);
	secmem_free(vk);
	return ret;
}

static int verify_mac(int dirfd, const struct format_config *cfg, const struct keys_volume *kv)
{
	uint8_t *buf = malloc(FORMAT_CONFIG_MAX);
	uint8_t mac[FORMAT_MAC_LEN];
	size_t len = 0;
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = format_config_encode(cfg, buf, FORMAT_CONFIG_MAX, &len);
	if (!ret)
		ret = keys_config_mac(kv, cfg->primary_version, buf, len - FORMAT_MAC_LEN, mac);
	if (!ret && !secmem_equal(mac, cfg->mac, FORMAT_MAC_LEN))
		ret = -EBADMSG;
	free(buf);
	(void)dirfd;
	return ret;
}

static int unlock_all(struct kms *k, const char *uri, const struct format_config *cfg,
		      struct keys_volume *kv, char *err, size_t errcap)
{
	const struct format_slot *primary = format_config_slot(cfg, cfg->primary_version);
	char blob_id[KMS_KEY_ID_MAX + 1], shown[256];
	int ret;

	if (!primary) {
		errmsg_set(err, errcap, "config names primary key v%u but has no such slot",
		       cfg->primary_version);
		return -EBADMSG;
	}
	ret = unlock_slot(k, cfg, primary, kv);
	if (ret == -EKEYREJECTED) {
		const char *have = kms_key_id(k);

		if (kms_blob_key_id(k, primary->wrapped, primary->wrapped_len, blob_id,
				    sizeof(blob_id)) == 0)
			have = blob_id;
		errmsg_set(err, errcap,
		       "wrong key: volume key v%u was wrapped by %s, but the KMS (%s) offers %s",
		       primary->version, primary->kek_id, uri_shown(uri, shown),
		       have ? have : "another key");
		return ret;
	}
	if (ret) {
		errmsg_set(err, errcap, "KMS failed to unwrap volume key v%u: %s", primary->version,
		       strerror(-ret));
		return ret;
	}
	for (unsigned i = 0; i < cfg->n_slots; i++) {
		const struct format_slot *s = &cfg->slots[i];

		if (s == primary || s->state == FORMAT_SLOT_RETIRED)
			continue;
		ret = unlock_slot(k, cfg, s, kv);
		if (ret) {
			errmsg_set(err, errcap, "cannot unwrap volume key v%u (%s): %s", s->version,
			       s->kek_id, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* Primary and names versions selected: the volume is usable. */
static int keys_select(struct volume *v)
{
	int ret = keys_volume_set_primary(v->keys, v->cfg->primary_version);

	if (!ret)
		ret = keys_volume_set_names(v->keys, v->cfg->names_version);
	return ret;
}

/*
 * Every non-retired VK from the kernel keyring, handed to put (add at open,
 * restore after an eviction), then accepted only if the config MAC verifies
 * under them: a key planted under our name is refused.
 */
static int keys_from_keyring(struct volume *v,
			     int (*put)(struct keys_volume *, uint32_t, const uint8_t *))
{
	uint8_t *vk = secmem_alloc(KEYS_VK_LEN);
	int ret = vk ? 0 : -ENOMEM;

	for (unsigned i = 0; i < v->cfg->n_slots && !ret; i++) {
		const struct format_slot *s = &v->cfg->slots[i];

		if (s->state == FORMAT_SLOT_RETIRED)
			continue;
		ret = keyring_load(v->cfg->volume_id, s->version, vk);
		if (!ret)
			ret = put(v->keys, s->version, vk);
	}
	if (!ret)
		ret = verify_mac(v->rootfd, v->cfg, v->keys);
	secmem_free(vk);
	return ret;
}

/* At open: any miss frees the keys (-ENOKEY) and the caller asks the KMS. */
static int unlock_from_keyring(struct volume *v)
{
	int ret = keys_volume_new(v->cfg->volume_id, &v->keys);

	if (!ret)
		ret = keys_from_keyring(v, keys_volume_add);
	if (!ret)
		ret = keys_select(v);
	if (ret) {
		keys_volume_free(v->keys);
		v->keys = NULL;
	}
	return ret;
}

int volume_add_key(struct volume *v, struct kms *k, uint8_t *vk, uint32_t *version)
{
	struct format_config *cfg = malloc(sizeof(*cfg));
	uint32_t newv = 0, oldp = v->cfg->primary_version;
	int ret;

	if (!cfg)
		return -ENOMEM;
	*cfg = *v->cfg;
	for (unsigned i = 0; i < cfg->n_slots; i++)
		if (cfg->slots[i].version > newv)
			newv = cfg->slots[i].version;
	newv++;
	ret = cfg->n_slots < FORMAT_MAX_SLOTS ? keys_random_key(vk, KEYS_VK_LEN) : -ENOSPC;
	if (!ret)
		ret = wrap_slot(k, cfg->volume_id, newv, vk, &cfg->slots[cfg->n_slots]);
	if (!ret)
		ret = keys_volume_add(v->keys, newv, vk);
	if (ret)
		goto out;
	cfg->n_slots++;
	for (unsigned i = 0; i < cfg->n_slots; i++)
		if (cfg->slots[i].version == oldp)
			cfg->slots[i].state = FORMAT_SLOT_RETIRING;
	cfg->primary_version = newv;
	/* The MAC goes under the new primary: set it before the write. */
	ret = keys_volume_set_primary(v->keys, newv);
	if (!ret)
		ret = config_commit(v, cfg);
	if (ret)
		(void)keys_volume_set_primary(v->keys, oldp);
	else
		*version = newv;
out:
	explicit_bzero(cfg, sizeof(*cfg));
	free(cfg);
	return ret;
}

int volume_set_slot_state(struct volume *v, uint32_t version, uint16_t state)
{
	struct format_config *cfg = malloc(sizeof(*cfg));
	int ret = -ENOKEY;

	if (!cfg)
		return -ENOMEM;
	*cfg = *v->cfg;
	for (unsigned i = 0; i < cfg->n_slots; i++) {
		if (cfg->slots[i].version != version)
			continue;
		cfg->slots[i].state = state;
		ret = 0;
	}
	if (!ret)
		ret = config_commit(v, cfg);
	free(cfg);
	return ret;
}

int volume_adopt_config(struct volume *v)
{
	struct format_config *cfg = malloc(sizeof(*cfg));
	uint8_t *vk = secmem_alloc(KEYS_VK_LEN);
	int ret = cfg && vk ? volume_config_read(v->rootfd, cfg) : -ENOMEM;

	if (!ret && memcmp(cfg->volume_id, v->cfg->volume_id, FORMAT_ID_LEN) != 0)
		ret = -EBADMSG;
	for (unsigned i = 0; !ret && i < cfg->n_slots; i++) {
		const struct format_slot *s = &cfg->slots[i];

		if (s->state == FORMAT_SLOT_RETIRED || keys_volume_has(v->keys, s->version))
			continue;
		ret = keyring_load(cfg->volume_id, s->version, vk);   /* left by phifs-keys */
		if (!ret)
			ret = keys_volume_add(v->keys, s->version, vk);
	}
	/* Authentic only if its MAC verifies under its own primary key. */
	if (!ret)
		ret = verify_mac(v->rootfd, cfg, v->keys);
	if (!ret)
		ret = keys_volume_set_primary(v->keys, cfg->primary_version);
	if (!ret)
		*v->cfg = *cfg;
	secmem_free(vk);
	free(cfg);
	return ret;
}

int volume_restore_from_keyring(struct volume *v)
{
	int ret = keys_from_keyring(v, keys_volume_restore);

	if (ret)
		keys_volume_evict(v->keys);
	return ret;
}

int volume_open(const char *dir, const char *kms_override, const struct kms_opts *ko,
		struct volume **out, char *err, size_t errcap)
{
	return volume_open_kms(dir, kms_override, ko, 0, out, err, errcap);
}

/* §12: a volume with the KEYTAB flag opens its key table too, and keys.c
 * mixes slot secrets into data keys from then on. */
static int keytab_attach(struct volume *v, const char *kms_override, char *err, size_t errcap)
{
	int ret;

	if (!(v->cfg->incompat_flags & FORMAT_INCOMPAT_KEYTAB))
		return 0;
	ret = keytab_open(v->rootfd, kms_override ? kms_override : v->cfg->kms_uri,
			  v->cfg->volume_id, &v->keytab, err, errcap);
	if (!ret)
		keys_volume_set_keytab(v->keys, &keytab_ops, v->keytab);
	return ret;
}

int volume_open_kms(const char *dir, const char *kms_override, const struct kms_opts *ko,
		    int keep_kms, struct volume **out, char *err, size_t errcap)
{
	struct volume *v = calloc(1, sizeof(*v));
	struct kms *k = NULL;
	const char *uri;
	char shown[256];
	int ret;

	if (!v)
		return -ENOMEM;
	v->rootfd = -1;
	v->cfg = calloc(1, sizeof(*v->cfg));
	if (!v->cfg) {
		ret = -ENOMEM;
		goto out;
	}
	v->rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (v->rootfd < 0) {
		ret = -errno;
		errmsg_set(err, errcap, "cannot open cipher directory %s: %s", dir, strerror(errno));
		goto out;
	}
	ret = volume_config_read(v->rootfd, v->cfg);
	if (ret == -ENOENT) {
		errmsg_set(err, errcap, "%s is not a phifs volume (no %s)", dir, FORMAT_CONFIG_FILE);
		goto out;
	} else if (ret == -EPROTO) {
		errmsg_set(err, errcap, "%s uses a format or feature this phifs does not support", dir);
		goto out;
	} else if (ret) {
		errmsg_set(err, errcap, "%s: config is unreadable or corrupt: %s", dir, strerror(-ret));
		goto out;
	}
	v->cipher = (uint8_t)v->cfg->cipher;
	if (!kms_override && unlock_from_keyring(v) == 0) {
		v->from_keyring = 1;     /* `phifs unlock` left them: no KMS round trip */
		goto done;
	}
	uri = kms_override ? kms_override : v->cfg->kms_uri;
	ret = kms_open(uri, ko, &k);
	if (ret) {
		errmsg_set(err, errcap, "cannot open KMS %s: %s", uri_shown(uri, shown), strerror(-ret));
		if (ret == -ENOENT)
			ret = -ENOKEY;   /* a missing key file: "cannot unlock", not "no volume" */
		goto out;
	}
	ret = keys_volume_new(v->cfg->volume_id, &v->keys);
	if (ret)
		goto out;
	ret = unlock_all(k, uri, v->cfg, v->keys, err, errcap);
	if (ret)
		goto out;
	ret = verify_mac(v->rootfd, v->cfg, v->keys);
	if (ret == -EBADMSG) {
		errmsg_set(err, errcap, "%s: config has been modified (MAC mismatch); refusing to open",
		       dir);
		goto out;
	}
	if (!ret)
		ret = keys_select(v);
	if (ret) {
		errmsg_set(err, errcap, "%s: key versions in the config are not usable", dir);
		goto out;
	}
done:
	ret = filekms_attach(v, kms_override);
	if (ret) {
		errmsg_set(err, errcap, "cannot set up per-file KMS mode: %s", strerror(-ret));
		goto out;
	}
	ret = keytab_attach(v, kms_override, err, errcap);
	if (ret)
		goto out;
	if (keep_kms) {
		v->kms = k;       /* the caller wraps a new key with it (rotation) */
		k = NULL;
	}
	*out = v;
	v = NULL;
out:
	kms_close(k);
	volume_close(v);
	return ret;
}

void volume_close(struct volume *v)
{
	if (!v)
		return;
	filekms_free(v->filekms);
	kms_close(v->kms);
	keys_volume_free(v->keys);
	keytab_close(v->keytab);
	if (v->rootfd >= 0)
		close(v->rootfd);
	free(v->cfg);
	free(v);
}
