/*
 * audit_path.c: how an audit record names a file without naming it.
 * audit_paths=hmac (default) gives HMAC-SHA256 of the plaintext path under the
 * volume's "phifs/v1/audit" key: not PHI without the key, yet an investigator
 * holding it can test a known path. =encrypted gives AES-256-GCM under
 * "phifs/v1/audit-path-enc" (nonce ‖ ciphertext ‖ tag, base64, AAD = volume
 * id) that phifs-audit can open with the volume key. =plain is opt-in.
 *
 * Plaintext paths are found from the backing tree: /proc/self/fd of the
 * O_PATH fd gives the backing path, whose components decrypt with names.c.
 * Directories' plaintext paths are cached by backing path: a backing path is
 * a function of the plaintext path and the directory ids, so a cached path
 * never goes stale (a renamed directory simply gets another backing path);
 * its dirid can (a directory removed and made again under the same name),
 * and a name that then fails to decrypt clears the cache once. Before
 * that, the plaintext path of an inode is cached by inode number and a
 * generation that every rename through the mount moves on
 * (audit_paths_moved; an unlink or rmdir only drops its own inode's entry,
 * audit_paths_forget — an empty directory or a file has no descendants), which spares the /proc readlink of most records (a
 * file's create, setattrs and summary name the same inode or parent); an
 * entry's event (create, mkdir, link...) fills its new inode's slot, so the
 * records that follow a create never look it up. The same slots remember a
 * regular file's header file id once a record saw it (its create or open),
 * so an unlink's record need not open the file to read it; a forget drops
 * it (the inode number may be reused).
 * It does not decide what is recorded (audit.c) and logs nothing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "audit_line.h"
#include "audit_path.h"
#include "audit_rec.h"
#include "b64.h"
#include "cipher.h"
#include "inode.h"
#include "keys.h"
#include "names.h"
#include "secmem.h"
#include "volume.h"

#define DIR_CACHE_SLOTS 512
#define INO_CACHE_SLOTS 16384   /* paths of recently named inodes: ~1-2 MiB at most */
#define AAD_PREFIX "phifs/v1/audit-path"

struct dir_slot {
	char *backing;                  /* relative backing path; NULL = empty */
	char *plain;                    /* its plaintext path */
	uint8_t dirid[NAMES_DIRID_LEN];
};

struct ino_slot {
	uint64_t ino, gen;              /* gen 0: empty */
	char *plain;                    /* plaintext path (memory only) */
	uint64_t id_ino;                /* file_id is this inode's header id; 0: none */
	uint8_t file_id[FORMAT_ID_LEN]; /* renames keep it: only a forget drops it */
};

struct audit_paths {
	enum audit_paths_mode mode;
	const struct volume *vol;
	uint8_t *keys;                  /* secmem: hmac key ‖ enc key */
	struct cipher_hmac *hmac;       /* the hmac key set up once; guarded by hmac_lock */
	pthread_mutex_t hmac_lock;
	uint8_t volume_id[FORMAT_ID_LEN];
	char root[PATH_MAX];            /* backing path of the cipher dir */
	size_t rootlen;
	pthread_mutex_t lock;           /* guards cache and icache */
	struct dir_slot cache[DIR_CACHE_SLOTS];
	struct ino_slot icache[INO_CACHE_SLOTS];
};

/* Moved on by every rename (and an unlink or rmdir of an unknown inode):
 * cached inode paths older than the current value are not used. */
static uint64_t path_gen = 1;
/* Moved on by every audit_paths_forget: a path computed while one happened
 * is not cached (it may name the entry just removed). */
static uint64_t forget_seq;
/* Live instances (the daemon's records, the policy gate): a forget reaches
 * each one's cache. Guarded by live_lock. */
#define LIVE_MAX 4
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct audit_paths *live[LIVE_MAX];

void audit_paths_moved(void)
{
	__atomic_add_fetch(&path_gen, 1, __ATOMIC_SEQ_CST);
}

static void live_set(struct audit_paths *p, struct audit_paths *to)
{
	pthread_mutex_lock(&live_lock);
	for (int i = 0; i < LIVE_MAX; i++)
		if (live[i] == p) {
			live[i] = to;
			break;
		}
	pthread_mutex_unlock(&live_lock);
}

/* The slot of backing inode ino. Hashed, not ino % slots: ext4 numbers
 * inodes by block group (8192 a group here), so the files of directories in
 * groups of the same parity fell on the same slots — a readall after an
 * untar missed the cache on 54 % of its opens (docs/PERFORMANCE.md). */
static unsigned ino_slot(uint64_t ino)
{
	return (unsigned)((ino * 0x9e3779b97f4a7c15ull) >> 50) % INO_CACHE_SLOTS;
}

static void slot_clear(struct ino_slot *s)
{
	if (s->plain)
		explicit_bzero(s->plain, strlen(s->plain));
	free(s->plain);
	s->plain = NULL;
	s->gen = 0;
}

static void slot_forget(struct ino_slot *s, uint64_t ino)
{
	if (s->ino == ino)
		slot_clear(s);
	if (s->id_ino == ino)
		s->id_ino = 0;
}

/* A directory slot emptied; its plaintext path (PHI) wiped. Under p->lock. */
static void dir_slot_clear(struct dir_slot *s)
{
	free(s->backing);
	s->backing = NULL;
	if (s->plain)
		explicit_bzero(s->plain, strlen(s->plain));
	free(s->plain);
	s->plain = NULL;
}

static const char *const mode_names[] = { "none", "hmac", "encrypted", "plain" };

int audit_paths_parse(const char *s, enum audit_paths_mode *mode)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, mode_names[i])) {
			*mode = (enum audit_paths_mode)i;
			return 0;
		}
	return -EINVAL;
}

const char *audit_paths_name(enum audit_paths_mode mode)
{
	return mode_names[mode];
}

enum audit_paths_mode audit_paths_mode_of(const struct audit_paths *p)
{
	return p ? p->mode : AUDIT_PATHS_NONE;
}

static int fd_path(int fd, char *out, size_t cap)
{
	char proc[64];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, out, cap - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= cap - 1)
		return -ENAMETOOLONG;
	out[n] = '\0';
	return 0;
}

int audit_paths_new(enum audit_paths_mode mode, const struct volume *vol,
		    struct audit_paths **out)
{
	struct audit_paths *p = calloc(1, sizeof(*p));
	const uint8_t *hk = keys_audit_key(vol->keys), *ek = keys_audit_enc_key(vol->keys);
	int ret;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->hmac_lock, NULL);
	p->mode = mode;
	p->vol = vol;
	memcpy(p->volume_id, keys_volume_id(vol->keys), FORMAT_ID_LEN);
	p->keys = secmem_alloc(2 * KEYS_AUDIT_LEN);
	ret = p->keys && hk && ek ? 0 : -ENOMEM;
	if (!ret) {
		memcpy(p->keys, hk, KEYS_AUDIT_LEN);
		memcpy(p->keys + KEYS_AUDIT_LEN, ek, KEYS_AUDIT_LEN);
		ret = fd_path(vol->rootfd, p->root, sizeof(p->root));
	}
	if (!ret)
		ret = cipher_hmac_new(p->keys, KEYS_AUDIT_LEN, &p->hmac);
	if (ret) {
		audit_paths_free(p);
		return ret;
	}
	p->rootlen = strlen(p->root);
	live_set(NULL, p);   /* a full table only costs that instance its forgets */
	*out = p;
	return 0;
}

void audit_paths_free(struct audit_paths *p)
{
	if (!p)
		return;
	live_set(p, NULL);
	cipher_hmac_free(p->hmac);
	secmem_free(p->keys);
	for (int i = 0; i < DIR_CACHE_SLOTS; i++)
		dir_slot_clear(&p->cache[i]);
	for (int i = 0; i < INO_CACHE_SLOTS; i++)
		slot_clear(&p->icache[i]);   /* file ids are not secret */
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->hmac_lock);
	free(p);
}

static unsigned slot_of(const char *backing)
{
	unsigned h = 2166136261u;

	for (; *backing; backing++)
		h = (h ^ (unsigned char)*backing) * 16777619u;
	return h % DIR_CACHE_SLOTS;
}

static int cache_get(struct audit_paths *p, const char *backing, char *plain, size_t cap,
		     uint8_t dirid[NAMES_DIRID_LEN])
{
	struct dir_slot *s = &p->cache[slot_of(backing)];
	int ret = -ENOENT;

	pthread_mutex_lock(&p->lock);
	if (s->backing && !strcmp(s->backing, backing) && strlen(s->plain) < cap) {
		strcpy(plain, s->plain);
		memcpy(dirid, s->dirid, NAMES_DIRID_LEN);
		ret = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

static void cache_put(struct audit_paths *p, const char *backing, const char *plain,
		      const uint8_t dirid[NAMES_DIRID_LEN])
{
	struct dir_slot *s = &p->cache[slot_of(backing)];
	char *b = strdup(backing), *v = strdup(plain);

	if (!b || !v) {
		free(b);
		free(v);
		return;
	}
	pthread_mutex_lock(&p->lock);
	dir_slot_clear(s);
	s->backing = b;
	s->plain = v;
	memcpy(s->dirid, dirid, NAMES_DIRID_LEN);
	pthread_mutex_unlock(&p->lock);
}

/* Every directory slot dropped. A name that does not decrypt under a cached
 * dirid means that directory was removed and made again: the same backing
 * path (a function of the plaintext path and the ancestors' dirids), a new
 * dirid of its own. Rare: the cache fills again as paths are looked up. */
static void cache_clear(struct audit_paths *p)
{
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < DIR_CACHE_SLOTS; i++)
		dir_slot_clear(&p->cache[i]);
	pthread_mutex_unlock(&p->lock);
}

/* One backing component under the directory `parent` (backing rel path,
 * plaintext path, dirid) → the child's plaintext path. */
static int decrypt_child(struct audit_paths *p, const char *parent, const uint8_t *dirid,
			 const char *comp, const char *parent_plain, char *out, size_t cap)
{
	char name[NAME_MAX + 1];
	int dfd = -1, ret;

	if (names_is_long(comp)) {
		dfd = openat(p->vol->rootfd, parent[0] ? parent : ".",
			     O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0)
			return -errno;
	}
	ret = names_from_backing(keys_names_key(p->vol->keys), dfd, dirid, comp, name,
				 sizeof(name));
	if (dfd >= 0)
		close(dfd);
	if (ret)
		return ret;
	if ((size_t)snprintf(out, cap, "%s/%s", strcmp(parent_plain, "/") ? parent_plain : "",
			     name) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

/* Plaintext path and dirid of the directory at backing rel path `rel` ("" = root). */
static int dir_resolve(struct audit_paths *p, const char *rel, char *plain, size_t cap,
		       uint8_t dirid[NAMES_DIRID_LEN])
{
	char parent[PATH_MAX], pplain[PATH_MAX];
	uint8_t pdirid[NAMES_DIRID_LEN];
	const char *slash = strrchr(rel, '/');
	int fd, ret;

	if (!cache_get(p, rel, plain, cap, dirid))
		return 0;
	if (!rel[0]) {
		ret = names_dirid_read(p->vol->rootfd, dirid);
		if (!ret)
			snprintf(plain, cap, "/");
	} else {
		snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - rel) : 0, rel);
		ret = dir_resolve(p, parent, pplain, sizeof(pplain), pdirid);
		if (!ret)
			ret = decrypt_child(p, parent, pdirid, slash ? slash + 1 : rel, pplain,
					    plain, cap);
		if (!ret) {
			fd = openat(p->vol->rootfd, rel, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			ret = fd < 0 ? -errno : names_dirid_read(fd, dirid);
			if (fd >= 0)
				close(fd);
		}
	}
	if (!ret)
		cache_put(p, rel, plain, dirid);
	return ret;
}

static int icache_get(struct audit_paths *p, uint64_t ino, uint64_t gen, char *out, size_t cap)
{
	struct ino_slot *s = &p->icache[ino_slot(ino)];
	int ret = -ENOENT;

	pthread_mutex_lock(&p->lock);
	if (s->gen == gen && s->ino == ino && strlen(s->plain) < cap) {
		strcpy(out, s->plain);
		ret = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

/* seq: forget_seq when the path was looked up; a forget since then (it
 * increments forget_seq before it clears, both ordered by p->lock) means the
 * path may name a removed entry: not cached. */
static void icache_put(struct audit_paths *p, uint64_t ino, uint64_t gen, uint64_t seq,
		       const char *plain)
{
	struct ino_slot *s = &p->icache[ino_slot(ino)];
	char *v = strdup(plain);

	if (!v)
		return;
	pthread_mutex_lock(&p->lock);
	if (__atomic_load_n(&forget_seq, __ATOMIC_SEQ_CST) == seq) {
		slot_clear(s);
		s->plain = v;
		s->ino = ino;
		s->gen = gen;
		v = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	if (v)
		explicit_bzero(v, strlen(v));
	free(v);
}

void audit_paths_forget(uint64_t ino)
{
	if (!ino) {
		audit_paths_moved();
		return;
	}
	__atomic_add_fetch(&forget_seq, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&live_lock);
	for (int i = 0; i < LIVE_MAX; i++) {
		struct audit_paths *p = live[i];
		struct ino_slot *s = p ? &p->icache[ino_slot(ino)] : NULL;

		if (!p)
			continue;
		pthread_mutex_lock(&p->lock);
		slot_forget(s, ino);
		pthread_mutex_unlock(&p->lock);
	}
	pthread_mutex_unlock(&live_lock);
}

/* The plaintext path of inode i itself, from /proc and the backing tree. */
static int inode_path_once(struct audit_paths *p, struct inode *i, char *out, size_t cap)
{
	char abs[PATH_MAX], dplain[PATH_MAX], *rel, *slash;
	uint8_t dirid[NAMES_DIRID_LEN];
	int ret = fd_path(i->fd, abs, sizeof(abs));

	if (ret)
		return ret;
	/* Outside the root, or removed ("... (deleted)": a backing name has no
	 * space, so the suffix is the kernel's): no path to give. */
	if (strncmp(abs, p->root, p->rootlen) || (abs[p->rootlen] && abs[p->rootlen] != '/') ||
	    strstr(abs + p->rootlen, " (deleted)"))
		return -ENOENT;
	rel = abs + p->rootlen + (abs[p->rootlen] == '/');
	if (S_ISDIR(i->type) || !rel[0])
		return dir_resolve(p, rel, out, cap, dirid);
	slash = strrchr(rel, '/');
	if (slash)
		*slash = '\0';
	ret = dir_resolve(p, slash ? rel : "", dplain, sizeof(dplain), dirid);
	if (!ret)
		ret = decrypt_child(p, slash ? rel : "", dirid, slash ? slash + 1 : rel, dplain, out,
				    cap);
	return ret;
}

/* inode_path_once, again without the directory cache when a name failed to
 * decrypt under a cached dirid (cache_clear). */
static int inode_path(struct audit_paths *p, struct inode *i, char *out, size_t cap)
{
	int ret = inode_path_once(p, i, out, cap);

	if (ret == -EBADMSG) {
		cache_clear(p);
		ret = inode_path_once(p, i, out, cap);
	}
	return ret;
}

void audit_paths_note_id(struct audit_paths *p, uint64_t ino, const uint8_t id[FORMAT_ID_LEN])
{
	struct ino_slot *s = &p->icache[ino_slot(ino)];

	if (!ino)
		return;
	pthread_mutex_lock(&p->lock);
	s->id_ino = ino;
	memcpy(s->file_id, id, FORMAT_ID_LEN);
	pthread_mutex_unlock(&p->lock);
}

int audit_paths_id_of(struct audit_paths *p, uint64_t ino, uint8_t id[FORMAT_ID_LEN])
{
	struct ino_slot *s = &p->icache[ino_slot(ino)];
	int ret = -ENOENT;

	pthread_mutex_lock(&p->lock);
	if (ino && s->id_ino == ino) {
		memcpy(id, s->file_id, FORMAT_ID_LEN);
		ret = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return ret;
}

int audit_path_of(struct audit_paths *p, struct inode *dir, const char *name, char *out,
		  size_t cap)
{
	return audit_path_of_entry(p, dir, name, NULL, out, cap);
}

int audit_path_of_entry(struct audit_paths *p, struct inode *dir, const char *name,
			struct inode *child, char *out, size_t cap)
{
	uint64_t gen = __atomic_load_n(&path_gen, __ATOMIC_SEQ_CST);
	uint64_t seq = __atomic_load_n(&forget_seq, __ATOMIC_SEQ_CST);
	char base[PATH_MAX];
	int ret = icache_get(p, (uint64_t)dir->ino, gen, base, sizeof(base));

	if (ret) {
		ret = inode_path(p, dir, base, sizeof(base));
		if (!ret)
			icache_put(p, (uint64_t)dir->ino, gen, seq, base);
	}
	if (!ret && name &&
	    (size_t)snprintf(out, cap, "%s/%s", strcmp(base, "/") ? base : "", name) >= cap)
		ret = -ENAMETOOLONG;
	else if (!ret && !name && (size_t)snprintf(out, cap, "%s", base) >= cap)
		ret = -ENAMETOOLONG;
	/* The entry's own inode (just created, or named by a link): its later
	 * records (setattr, the I/O summary, opens) find its path here. */
	if (!ret && name && child)
		icache_put(p, (uint64_t)child->ino, gen, seq, out);
	explicit_bzero(base, sizeof(base));
	return ret;
}

static size_t aad_of(const uint8_t volume_id[FORMAT_ID_LEN], uint8_t aad[64])
{
	memcpy(aad, AAD_PREFIX, sizeof(AAD_PREFIX) - 1);
	memcpy(aad + sizeof(AAD_PREFIX) - 1, volume_id, FORMAT_ID_LEN);
	return sizeof(AAD_PREFIX) - 1 + FORMAT_ID_LEN;
}

/* "<base64 of nonce ‖ ciphertext ‖ tag>" of plain, written into l. */
static int enc_ref(struct audit_paths *p, const char *plain, struct audit_line *l)
{
	size_t len = strlen(plain), blen = CIPHER_GCM_NONCE_LEN + len + CIPHER_GCM_TAG_LEN;
	size_t elen = b64_encoded_len(blen);
	uint8_t *buf = malloc(blen), aad[64];
	size_t alen = aad_of(p->volume_id, aad);
	char *out;
	int ret = -ENOMEM;

	if (!buf)
		goto out;
	ret = -EIO;
	if (cipher_random(buf, CIPHER_GCM_NONCE_LEN) ||
	    cipher_gcm_seal(p->keys + KEYS_AUDIT_LEN, buf, aad, alen, plain, len,
			    buf + CIPHER_GCM_NONCE_LEN, buf + CIPHER_GCM_NONCE_LEN + len))
		goto out;
	ret = -ENOMEM;
	out = audit_line_room(l, elen + 3);
	if (!out)
		goto out;
	out[0] = '"';
	ret = b64_encode(buf, blen, out + 1, elen + 1);
	if (ret)
		goto out;
	out[1 + elen] = '"';
	l->len += elen + 2;
out:
	free(buf);
	return ret;
}

int audit_path_ref_write(struct audit_paths *p, const char *plain, struct audit_line *l)
{
	uint8_t mac[CIPHER_HMAC_LEN];
	size_t mark = l->len;
	int ret = 0;

	if (!p || !plain || p->mode == AUDIT_PATHS_NONE)
		return -ENOENT;
	audit_line_raw(l, "{", 1);
	switch (p->mode) {
	case AUDIT_PATHS_NONE:
		break;
	case AUDIT_PATHS_HMAC:
		audit_line_key(l, "hmac");
		pthread_mutex_lock(&p->hmac_lock);
		ret = cipher_hmac_run(p->hmac, plain, strlen(plain), mac) ? -EIO : 0;
		pthread_mutex_unlock(&p->hmac_lock);
		if (!ret)
			audit_line_hex(l, mac, sizeof(mac));
		break;
	case AUDIT_PATHS_ENCRYPTED:
		audit_line_key(l, "enc");
		ret = enc_ref(p, plain, l);
		break;
	case AUDIT_PATHS_PLAIN:
		audit_line_key(l, "plain");
		audit_line_str(l, plain);
		break;
	}
	audit_line_raw(l, "}", 1);
	if (!ret)
		ret = audit_line_done(l);
	if (ret && !l->err)
		l->len = mark;
	return ret;
}

/* The FUSE threads' xattr names: the same text, parsed (one serialiser). */
struct json_object *audit_path_ref(struct audit_paths *p, const char *plain)
{
	struct audit_line l = { 0 };
	struct json_object *o = NULL;

	if (audit_path_ref_write(p, plain, &l) == 0) {
		audit_line_raw(&l, "", 1);
		if (!audit_line_done(&l))
			o = json_tokener_parse(l.buf);
	}
	audit_line_free(&l);
	return o;
}

int audit_path_decrypt(const uint8_t key[32], const uint8_t volume_id[FORMAT_ID_LEN],
		       const char *b64, char *out, size_t cap)
{
	size_t n = strlen(b64), len = 0;
	uint8_t *buf = malloc(n + 1), aad[64];
	size_t alen = aad_of(volume_id, aad);
	int ret = buf ? b64_decode(b64, n, buf, n + 1, &len) : -ENOMEM;

	if (!ret && (len < CIPHER_GCM_NONCE_LEN + CIPHER_GCM_TAG_LEN ||
		     len - CIPHER_GCM_NONCE_LEN - CIPHER_GCM_TAG_LEN >= cap))
		ret = -EBADMSG;
	if (!ret) {
		len -= CIPHER_GCM_NONCE_LEN + CIPHER_GCM_TAG_LEN;
		ret = cipher_gcm_open(key, buf, aad, alen, buf + CIPHER_GCM_NONCE_LEN, len,
				      buf + CIPHER_GCM_NONCE_LEN + len, out);
	}
	if (!ret)
		out[len] = '\0';
	free(buf);
	return ret;
}
