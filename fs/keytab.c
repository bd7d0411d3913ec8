/*
 * keytab.c: the open key table `phifs.keytab` (docs/FORMAT.md §12.3): reading
 * a slot secret when a file opens, reserving slots in batches when files are
 * created, and noticing that crypto-shredding put a new table (a new epoch) in
 * place.
 *
 * A slot is never handed out twice, also across crashes: a batch is made
 * durable (pages, then the header's next-free counter, each fdatasync'd)
 * before any slot of it is handed out; a crash forgets at most the rest of a
 * batch. The shredder (keytab_shred.c) and this file serialise on an flock of
 * phifs.keytab.lock; the shredder copies next-free, so reserved slots survive
 * a new epoch. Before each use the table's name is stat'ed: a different inode
 * means a new epoch, which is loaded (its TK unwrapped by the epoch's KEK).
 *
 * Secrets (TK_e, its page and MAC keys, a decrypted page) live in one secmem
 * allocation; a page is wiped right after the one slot is copied out.
 * Deliberately not here: byte layout (keytab_format.c), new epochs and KEK
 * destruction (keytab_shred.c), the DK derivation (keys.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cipher.h"
#include "fdio.h"
#include "errmsg.h"
#include "keytab.h"
#include "keytab_int.h"
#include "kms.h"
#include "secmem.h"

/* uri with ".keytab.<epoch>" inserted at name_end (an offset into uri). */
static int uri_insert(const char *uri, size_t name_end, uint64_t epoch, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%.*s.keytab.%" PRIu64 "%s", (int)name_end, uri, epoch,
			 uri + name_end);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/*
 * §12.4: the epoch's KEK lives in the volume's own KMS under a name of its
 * own, so destroying it never touches the volume's KEK: local — the key file
 * path; kmip — the key NAME (kmip://H:P/NAME?...); pkcs11 — the object label
 * (object=L). The passphrase provider has nothing to destroy.
 */
int keytab_kek_uri(const char *vol_uri, uint64_t epoch, char *out, size_t cap)
{
	const char *p;

	if (strncmp(vol_uri, "local:", 6) == 0)
		return uri_insert(vol_uri, strlen(vol_uri), epoch, out, cap);
	if (strncmp(vol_uri, "kmip://", 7) == 0 && (p = strchr(vol_uri + 7, '/')) != NULL)
		return uri_insert(vol_uri, strcspn(vol_uri, "?"), epoch, out, cap);
	if (strncmp(vol_uri, "pkcs11:", 7) == 0 &&
	    ((p = strstr(vol_uri, ";object=")) != NULL ||
	     (p = strstr(vol_uri, ":object=")) != NULL) && p < vol_uri + strcspn(vol_uri, "?")) {
		p += strlen(";object=");
		return uri_insert(vol_uri, (size_t)(p - vol_uri) + strcspn(p, ";?"), epoch, out, cap);
	}
	return -EOPNOTSUPP;
}

int keytab_lock(int rootfd, int exclusive, int *lockfd)
{
	int fd = openat(rootfd, KEYTAB_LOCK, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	*lockfd = -1;
	if (fd < 0) {
		/* A read-only cipher dir has no writer for a reader to wait for. */
		if (!exclusive && (errno == EROFS || errno == EACCES))
			return 0;
		return -errno;
	}
	while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0) {
		if (errno != EINTR) {
			int e = errno;

			close(fd);
			return -e;
		}
	}
	*lockfd = fd;
	return 0;
}

void keytab_unlock(int lockfd)
{
	if (lockfd >= 0)
		close(lockfd);   /* drops the flock */
}

/* TK_e from the epoch's KEK; then the page and MAC keys. */
static int tk_unwrap(struct keytab *kt, const struct keytab_header *h, char *err, size_t errcap)
{
	struct kms_opts ko = { 0 };
	struct kms *k = NULL;
	char uri[4200];
	uint8_t aad[64];
	size_t aad_len;
	int ret;

	ret = keytab_kek_uri(kt->vol_uri, h->epoch, uri, sizeof(uri));
	if (ret) {
		errmsg_set(err, errcap, "key table: the passphrase provider cannot hold table keys");
		return ret;
	}
	ret = kms_open(uri, &ko, &k);
	if (ret == -ENOENT || ret == -ENOKEY) {   /* no key file / no such key in the KMS */
		errmsg_set(err, errcap, "key table epoch %" PRIu64 ": its table key was destroyed "
		       "(crypto-shredding); this phifs.keytab is an old copy: copy phifs.keytab "
		       "from the live volume or the newest snapshot", h->epoch);
		ret = -EKEYREVOKED;
		goto out;
	} else if (ret) {
		errmsg_set(err, errcap, "key table epoch %" PRIu64 ": cannot open its KEK: %s",
		       h->epoch, strerror(-ret));
		goto out;
	}
	aad_len = keytab_tk_aad(kt->volume_id, h->epoch, aad);
	ret = kms_unwrap(k, aad, aad_len, h->blob, h->blob_len, kt->s->tk, KEYS_TK_LEN);
	if (!ret)
		ret = keys_keytab_derive(kt->s->tk, kt->volume_id, kt->s->page_key, kt->s->mac_key);
	if (ret)
		errmsg_set(err, errcap, "key table epoch %" PRIu64 ": table key does not unwrap: %s",
		       h->epoch, strerror(-ret));
out:
	kms_close(k);
	return ret;
}

/* Reads and authenticates the header at fd under the loaded keys. */
static int header_read(struct keytab *kt, int fd, struct keytab_header *h)
{
	uint8_t enc[KEYTAB_HDR_LEN], mac[FORMAT_MAC_LEN];
	size_t got;
	int ret = fdio_pread(fd, enc, sizeof(enc), 0, &got);

	if (!ret && got != sizeof(enc))
		ret = -EBADMSG;
	if (!ret)
		ret = keytab_header_decode(enc, sizeof(enc), h);
	if (!ret && (h->epoch != kt->hdr.epoch || memcmp(h->volume_id, kt->volume_id,
							   FORMAT_ID_LEN) != 0))
		ret = -EBADMSG;
	if (!ret)
		ret = keytab_header_mac(kt->s->mac_key, enc, mac);
	if (!ret && !secmem_equal(mac, h->mac, FORMAT_MAC_LEN))
		ret = -EBADMSG;
	return ret;
}

/* Opens the table now at the name: a first open or a new epoch. */
static int load(struct keytab *kt, char *err, size_t errcap)
{
	uint8_t enc[KEYTAB_HDR_LEN];
	struct keytab_header h;
	struct stat st;
	size_t got;
	int fd, ret, writable = 1;

	fd = openat(kt->rootfd, KEYTAB_FILE, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && (errno == EROFS || errno == EACCES)) {
		writable = 0;
		fd = openat(kt->rootfd, KEYTAB_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		ret = -errno;
		errmsg_set(err, errcap, "cannot open %s: %s", KEYTAB_FILE, strerror(errno));
		return ret;
	}
	ret = fstat(fd, &st) == 0 ? 0 : -errno;
	if (!ret)
		ret = fdio_pread(fd, enc, sizeof(enc), 0, &got);
	if (!ret && got != sizeof(enc))
		ret = -EBADMSG;
	if (!ret)
		ret = keytab_header_decode(enc, sizeof(enc), &h);
	if (!ret && memcmp(h.volume_id, kt->volume_id, FORMAT_ID_LEN) != 0)
		ret = -EBADMSG;
	if (ret) {
		errmsg_set(err, errcap, "%s is corrupt or another volume's", KEYTAB_FILE);
		goto out;
	}
	ret = tk_unwrap(kt, &h, err, errcap);
	if (ret)
		goto out;
	kt->hdr = h;
	ret = header_read(kt, fd, &h);
	if (ret) {
		errmsg_set(err, errcap, "%s: header MAC mismatch (modified)", KEYTAB_FILE);
		goto out;
	}
	if (kt->fd >= 0)
		close(kt->fd);
	kt->fd = fd;
	fd = -1;
	kt->writable = writable;
	kt->dev = st.st_dev;
	kt->ino = st.st_ino;
out:
	if (fd >= 0)
		close(fd);
	if (ret)
		secmem_wipe(kt->s, sizeof(*kt->s));
	return ret;
}

/* Under kt->mu: loads a new epoch if the table at the name is another file.
 * locked: the caller holds the exclusive flock already. */
static int refresh(struct keytab *kt, int locked)
{
	struct stat st;
	int lockfd = -1, ret;

	if (fstatat(kt->rootfd, KEYTAB_FILE, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	if (kt->fd >= 0 && st.st_dev == kt->dev && st.st_ino == kt->ino)
		return 0;
	if (!locked) {
		ret = keytab_lock(kt->rootfd, 0, &lockfd);
		if (ret)
			return ret;
	}
	ret = load(kt, NULL, 0);
	keytab_unlock(lockfd);
	return ret;
}

int keytab_open(int rootfd, const char *vol_uri, const uint8_t volume_id[FORMAT_ID_LEN],
		struct keytab **out, char *err, size_t errcap)
{
	struct keytab *kt = calloc(1, sizeof(*kt));
	int ret = -ENOMEM;

	*out = NULL;
	if (!kt)
		return -ENOMEM;
	kt->fd = -1;
	kt->rootfd = -1;
	pthread_mutex_init(&kt->mu, NULL);
	memcpy(kt->volume_id, volume_id, FORMAT_ID_LEN);
	kt->vol_uri = strdup(vol_uri);
	kt->s = secmem_alloc(sizeof(*kt->s));
	if (!kt->vol_uri || !kt->s)
		goto out;
	kt->rootfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
	if (kt->rootfd < 0) {
		ret = -errno;
		goto out;
	}
	ret = load(kt, err, errcap);
	if (ret)
		goto out;
	*out = kt;
	kt = NULL;
out:
	keytab_close(kt);
	return ret;
}

void keytab_close(struct keytab *kt)
{
	if (!kt)
		return;
	if (kt->fd >= 0)
		close(kt->fd);
	if (kt->rootfd >= 0)
		close(kt->rootfd);
	secmem_free(kt->s);
	free(kt->vol_uri);
	pthread_mutex_destroy(&kt->mu);
	free(kt);
}

void keytab_evict(struct keytab *kt)
{
	if (!kt)
		return;
	pthread_mutex_lock(&kt->mu);
	secmem_wipe(kt->s, sizeof(*kt->s));
	kt->ino = 0;         /* refresh() loads the table (and its key) again */
	kt->dev = 0;
	pthread_mutex_unlock(&kt->mu);
}

int keytab_header_get(struct keytab *kt, struct keytab_header *h)
{
	int ret;

	pthread_mutex_lock(&kt->mu);
	ret = refresh(kt, 0);
	if (!ret)
		ret = header_read(kt, kt->fd, h);
	pthread_mutex_unlock(&kt->mu);
	return ret;
}

int keytab_peek(const char *dir, struct keytab_header *h)
{
	uint8_t enc[KEYTAB_HDR_LEN];
	size_t got = 0;
	int dfd, fd, ret;

	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	fd = dfd < 0 ? -1 : openat(dfd, KEYTAB_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ret = fd < 0 ? -errno : fdio_pread(fd, enc, sizeof(enc), 0, &got);
	if (!ret)
		ret = got == sizeof(enc) ? keytab_header_decode(enc, sizeof(enc), h) : -EBADMSG;
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return ret;
}

/* ---- slots -------------------------------------------------------------- */

int keytab_slot_is_zero(const uint8_t *p)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < KEYS_SLOT_LEN; i++)
		acc |= p[i];
	return acc == 0;
}

/* Under kt->mu: page p decrypted into kt->s->plain (caller wipes it). */
int keytab_page_load(struct keytab *kt, uint32_t page)
{
	size_t got;
	int ret = fdio_pread(kt->fd, kt->page_ct, sizeof(kt->page_ct), keytab_page_off(page), &got);

	if (!ret && got != sizeof(kt->page_ct))
		ret = -EBADMSG;
	if (!ret)
		ret = keytab_page_open(kt->s->page_key, kt->volume_id, kt->hdr.epoch, page,
				       kt->page_ct, kt->s->plain);
	return ret;
}

/* Under kt->mu, after refresh: copies slot's secret to out (NULL: only checks). */
static int slot_read(struct keytab *kt, uint32_t slot, uint8_t *out)
{
	const uint8_t *p;
	int ret;

	if (slot >= kt->hdr.next_free)
		return -ERANGE;
	ret = keytab_page_load(kt, slot / KEYTAB_PER_PAGE);
	if (ret)
		goto out;
	p = kt->s->plain + (size_t)(slot % KEYTAB_PER_PAGE) * KEYS_SLOT_LEN;
	if (keytab_slot_is_zero(p))
		ret = -EKEYREVOKED;
	else if (out)
		memcpy(out, p, KEYS_SLOT_LEN);
out:
	secmem_wipe(kt->s->plain, sizeof(kt->s->plain));
	return ret;
}

static int keytab_secret(void *arg, uint32_t slot, uint8_t out[KEYS_SLOT_LEN])
{
	struct keytab *kt = arg;
	int ret;

	pthread_mutex_lock(&kt->mu);
	ret = refresh(kt, 0);
	if (!ret)
		ret = slot_read(kt, slot, out);
	pthread_mutex_unlock(&kt->mu);
	if (ret == -ERANGE)
		ret = -EBADMSG;    /* a header naming a slot never handed out */
	return ret;
}

int keytab_slot_state(struct keytab *kt, uint32_t slot)
{
	int ret;

	pthread_mutex_lock(&kt->mu);
	ret = refresh(kt, 0);
	if (!ret)
		ret = slot_read(kt, slot, NULL);
	pthread_mutex_unlock(&kt->mu);
	return ret;
}

/* Fresh random secrets for a new page (never all-zero: that means shredded). */
int keytab_page_fill(uint8_t *plain)
{
	int ret = cipher_random(plain, KEYTAB_PAGE_PLAIN);

	for (size_t i = 0; !ret && i < KEYTAB_PER_PAGE; i++)
		if (keytab_slot_is_zero(plain + i * KEYS_SLOT_LEN))
			ret = cipher_random(plain + i * KEYS_SLOT_LEN, KEYS_SLOT_LEN);
	return ret;
}

int keytab_header_write(const uint8_t mac_key[KEYS_TK_LEN], int fd, struct keytab_header *h)
{
	uint8_t enc[KEYTAB_HDR_LEN];
	int ret = keytab_header_encode(h, enc);

	if (!ret)
		ret = keytab_header_mac(mac_key, enc, h->mac);
	if (ret)
		return ret;
	memcpy(enc + KEYTAB_HDR_MAC_OFF, h->mac, FORMAT_MAC_LEN);
	return fdio_pwrite(fd, enc, sizeof(enc), 0);
}

/* Under kt->mu and the exclusive flock: one durable batch [next_free, +BATCH). */
static int reserve_batch(struct keytab *kt)
{
	struct keytab_header h;
	uint64_t end;
	uint32_t need;
	int ret;

	ret = header_read(kt, kt->fd, &h);     /* the durable counter, not our copy */
	if (ret)
		return ret;
	end = (uint64_t)h.next_free + KEYTAB_BATCH;
	if (end > (uint64_t)KEYTAB_MAX_PAGES * KEYTAB_PER_PAGE)
		return -ENOSPC;
	need = (uint32_t)((end + KEYTAB_PER_PAGE - 1) / KEYTAB_PER_PAGE);
	for (uint32_t p = h.pages; p < need; p++) {
		ret = keytab_page_fill(kt->s->plain);
		if (!ret)
			ret = keytab_page_seal(kt->s->page_key, kt->volume_id, h.epoch, p,
					       kt->s->plain, kt->page_ct);
		secmem_wipe(kt->s->plain, sizeof(kt->s->plain));
		if (!ret)
			ret = fdio_pwrite(kt->fd, kt->page_ct, sizeof(kt->page_ct),
					  keytab_page_off(p));
		if (ret)
			return ret;
	}
	/* Pages durable before the header counts them. */
	if (need > h.pages && fdatasync(kt->fd) != 0)
		return -errno;
	kt->res_next = h.next_free;
	h.pages = need > h.pages ? need : h.pages;
	h.next_free = (uint32_t)end;
	ret = keytab_header_write(kt->s->mac_key, kt->fd, &h);
	if (!ret && fdatasync(kt->fd) != 0)
		ret = -errno;
	if (ret)
		return ret;
	kt->hdr = h;
	kt->res_end = (uint32_t)end;
	return 0;
}

static int keytab_reserve(void *arg, uint32_t *slot)
{
	struct keytab *kt = arg;
	int lockfd = -1, ret;

	pthread_mutex_lock(&kt->mu);
	ret = refresh(kt, 0);
	if (ret || kt->res_next < kt->res_end)
		goto out;
	if (!kt->writable) {
		ret = -EROFS;
		goto out;
	}
	ret = keytab_lock(kt->rootfd, 1, &lockfd);
	if (ret)
		goto out;
	/* A shred may have put a new epoch in place while we waited. */
	ret = refresh(kt, 1);
	if (!ret)
		ret = reserve_batch(kt);
out:
	if (!ret)
		*slot = kt->res_next++;
	keytab_unlock(lockfd);
	pthread_mutex_unlock(&kt->mu);
	return ret;
}

const struct keys_keytab_ops keytab_ops = {
	.reserve = keytab_reserve,
	.secret = keytab_secret,
};
