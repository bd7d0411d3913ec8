/*
 * keytab_shred.c: new epochs of the key table (docs/FORMAT.md §12.4) — the
 * first one (`phifs-keys enable-shred`) and each crypto-shredding step.
 *
 * Order, so that a crash anywhere leaves either the old table (every file
 * still readable) or the new one (the shredded files gone for good) and a
 * rerun finishes: (1) the epoch's new KEK is created (reused if a killed run
 * made it); (2) the new table is written to phifs.keytab.tmp under a fresh
 * TK_{e+1}, the shredded slots zero, and fsync'd; (3) renamed over
 * phifs.keytab and the directory fsync'd; (4) the KEK of every older epoch is
 * destroyed in the KMS, newest first, stopping at one already gone. Step 4 is
 * what makes copies of the old table (backups) useless. The whole run holds
 * the exclusive flock of phifs.keytab.lock, so a mounted daemon's slot
 * reservation waits and then sees the new epoch (keytab.c).
 *
 * Deliberately not here: which files and slots (phifs-keys shred), unlinking
 * them, the audit records per file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cipher.h"
#include "fdio.h"
#include "hook.h"
#include "errmsg.h"
#include "keytab.h"
#include "keytab_int.h"
#include "kms.h"
#include "secmem.h"

/* tests/sh/shred.sh: a kill -9 at a named point (kek, tmp, rename, destroy). */
void keytab_test_kill(const char *point)
{
	const char *want = getenv("PHIFS_SHRED_TEST_KILL");

	if (want && strcmp(want, point) == 0)
		raise(SIGKILL);
}

/* (1): TK for `epoch` into ns, wrapped by the epoch's KEK (created if absent) into h. */
static int epoch_key(const char *vol_uri, const uint8_t volume_id[FORMAT_ID_LEN], uint64_t epoch,
		     struct kt_secrets *ns, struct keytab_header *h, char *err, size_t errcap)
{
	struct kms_opts ko = { .create = 1 };
	struct kms *k = NULL;
	char uri[4200];
	uint8_t aad[64];
	size_t aad_len, blob_len = sizeof(h->blob);
	int ret;

	ret = keytab_kek_uri(vol_uri, epoch, uri, sizeof(uri));
	if (ret) {
		errmsg_set(err, errcap, "crypto-shredding needs a KMS that can destroy keys "
			      "(local, kmip or pkcs11); this volume uses %.*s",
			      (int)strcspn(vol_uri, ":"), vol_uri);
		return ret;
	}
	ret = kms_open(uri, &ko, &k);
	if (ret) {
		errmsg_set(err, errcap, "cannot create the KEK of key table epoch %" PRIu64
			      ": %s", epoch, strerror(-ret));
		goto out;
	}
	ret = cipher_random(ns->tk, sizeof(ns->tk));
	if (!ret)
		ret = keys_keytab_derive(ns->tk, volume_id, ns->page_key, ns->mac_key);
	aad_len = keytab_tk_aad(volume_id, epoch, aad);
	if (!ret)
		ret = kms_wrap(k, aad, aad_len, ns->tk, sizeof(ns->tk), h->blob, &blob_len);
	if (ret) {
		errmsg_set(err, errcap, "cannot wrap the key table key: %s", strerror(-ret));
		goto out;
	}
	h->epoch = epoch;
	h->blob_len = (uint16_t)blob_len;
	snprintf(h->kek_id, sizeof(h->kek_id), "%s", kms_key_id(k));
out:
	kms_close(k);
	return ret;
}

/* Zeroes the listed slots that fall in `page`; counts the ones that held a secret. */
static uint32_t page_zero(uint8_t *plain, uint32_t page, const uint32_t *slots, size_t n)
{
	uint32_t count = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t *p;

		if (slots[i] / KEYTAB_PER_PAGE != page)
			continue;
		p = plain + (size_t)(slots[i] % KEYTAB_PER_PAGE) * KEYS_SLOT_LEN;
		if (!keytab_slot_is_zero(p))
			count++;
		secmem_wipe(p, KEYS_SLOT_LEN);
	}
	return count;
}

/* (2): every page of old (none without one) re-sealed under ns into fd. */
static int pages_write(struct keytab *old, struct keytab_header *nh,
		       const struct kt_secrets *ns, const uint32_t *slots, size_t n, int fd)
{
	int ret = 0;

	for (uint32_t p = 0; !ret && p < nh->pages; p++) {
		ret = keytab_page_load(old, p);
		if (!ret) {
			nh->destroyed += page_zero(old->s->plain, p, slots, n);
			ret = keytab_page_seal(ns->page_key, nh->volume_id, nh->epoch, p,
					       old->s->plain, old->page_ct);
		}
		secmem_wipe(old->s->plain, sizeof(old->s->plain));
		if (!ret)
			ret = fdio_pwrite(fd, old->page_ct, sizeof(old->page_ct),
					  keytab_page_off(p));
	}
	return ret;
}

/* (2) and (3). */
static int table_write(int rootfd, struct keytab *old, struct keytab_header *nh,
		       const struct kt_secrets *ns, const uint32_t *slots, size_t n)
{
	int dirfd = -1, fd = -1, ret;

	dirfd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	fd = openat(dirfd, KEYTAB_TMP, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	keytab_test_kill("kek");
	ret = old ? pages_write(old, nh, ns, slots, n, fd) : 0;
	if (!ret)
		ret = keytab_header_write(ns->mac_key, fd, nh);
	if (!ret && fsync(fd) != 0)
		ret = -errno;
	if (!ret)
		keytab_test_kill("tmp");
	if (!ret && renameat(dirfd, KEYTAB_TMP, dirfd, KEYTAB_FILE) != 0)
		ret = -errno;
	if (!ret && fsync(dirfd) != 0)
		ret = -errno;
out:
	if (fd >= 0)
		close(fd);
	close(dirfd);
	return ret;
}

/* A local epoch KEK whose file is gone (asked without a KMS warning); other
 * providers answer kms_open with -ENOKEY. */
static int kek_gone(const char *uri)
{
	return strncmp(uri, "local:", 6) == 0 && access(uri + 6, F_OK) != 0 && errno == ENOENT;
}

/* (4): KEKs of epochs below `current`, newest first, until one is gone. */
static unsigned int keks_destroy(const char *vol_uri, uint64_t current)
{
	unsigned int count = 0;

	for (uint64_t e = current - 1; e >= 1; e--) {
		struct kms_opts ko = { 0 };
		struct kms *k = NULL;
		char uri[4200], id[KMS_KEY_ID_MAX];
		int ret;

		/* Gone: destroyed by an earlier run (asked without a KMS warning). */
		if (keytab_kek_uri(vol_uri, e, uri, sizeof(uri)) || kek_gone(uri) ||
		    kms_open(uri, &ko, &k))
			break;
		snprintf(id, sizeof(id), "%s", kms_key_id(k));
		ret = kms_destroy_key(k, id);
		kms_close(k);
		hook_key_op("destroy-kek", id, NULL, ret);
		if (ret)
			break;
		count++;
	}
	return count;
}

/* 1 when some listed slot still holds a secret. */
static int any_live(struct keytab *kt, const uint32_t *slots, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keytab_slot_state(kt, slots[i]) == 0)
			return 1;
	return 0;
}

int keytab_shred(int rootfd, const char *vol_uri, const uint8_t volume_id[FORMAT_ID_LEN],
		 const uint32_t *slots, size_t n, struct keytab_shred_result *r, char *err,
		 size_t errcap)
{
	struct kt_secrets *ns = secmem_alloc(sizeof(struct kt_secrets));
	struct keytab *kt = NULL;
	struct keytab_header nh;
	char from[32], to[32];
	int lockfd = -1, ret = -ENOMEM;

	memset(r, 0, sizeof(*r));
	if (!ns)
		goto out;
	ret = keytab_lock(rootfd, 1, &lockfd);
	if (ret) {
		errmsg_set(err, errcap, "cannot lock %s: %s", KEYTAB_LOCK, strerror(-ret));
		goto out;
	}
	ret = keytab_open(rootfd, vol_uri, volume_id, &kt, err, errcap);
	if (ret)
		goto out;
	r->old_epoch = r->new_epoch = kt->hdr.epoch;
	if (any_live(kt, slots, n)) {
		nh = kt->hdr;
		ret = epoch_key(vol_uri, volume_id, kt->hdr.epoch + 1, ns, &nh, err, errcap);
		if (!ret)
			ret = table_write(rootfd, kt, &nh, ns, slots, n);
		snprintf(from, sizeof(from), "keytab:%" PRIu64, kt->hdr.epoch);
		snprintf(to, sizeof(to), "keytab:%" PRIu64, nh.epoch);
		hook_key_op("keytab-epoch", from, ret ? NULL : to, ret);
		if (ret) {
			if (!err || !*err)
				errmsg_set(err, errcap, "cannot write the new key table: %s",
					      strerror(-ret));
			goto out;
		}
		r->new_epoch = nh.epoch;
		r->newly_destroyed = nh.destroyed - kt->hdr.destroyed;
		keytab_test_kill("rename");
	}
	r->keks_destroyed = keks_destroy(vol_uri, r->new_epoch);
out:
	keytab_close(kt);
	keytab_unlock(lockfd);
	secmem_free(ns);
	return ret;
}

int keytab_create(int rootfd, const char *vol_uri, const uint8_t volume_id[FORMAT_ID_LEN],
		  char *err, size_t errcap)
{
	struct kt_secrets *ns = secmem_alloc(sizeof(struct kt_secrets));
	struct keytab_header nh;
	int lockfd = -1, ret = -ENOMEM;
	char uri[4200];

	if (!ns)
		goto out;
	/* Refused before anything is written (a passphrase volume). */
	ret = keytab_kek_uri(vol_uri, 1, uri, sizeof(uri));
	if (ret) {
		errmsg_set(err, errcap, "crypto-shredding needs a KMS that can destroy keys");
		goto out;
	}
	ret = keytab_lock(rootfd, 1, &lockfd);
	if (ret)
		goto out;
	if (faccessat(rootfd, KEYTAB_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		ret = -EEXIST;
		goto out;
	}
	memset(&nh, 0, sizeof(nh));
	memcpy(nh.volume_id, volume_id, FORMAT_ID_LEN);
	ret = epoch_key(vol_uri, volume_id, 1, ns, &nh, err, errcap);
	if (!ret)
		ret = table_write(rootfd, NULL, &nh, ns, NULL, 0);
	hook_key_op("keytab-create", NULL, ret ? NULL : "keytab:1", ret);
out:
	keytab_unlock(lockfd);
	secmem_free(ns);
	return ret;
}
