/*
 * volume.h: creating and opening a volume (docs/FORMAT.md §3): the config
 * file, the KMS round trip for volume keys, the config MAC, the root dir id.
 */
#ifndef PHIFS_VOLUME_H
#define PHIFS_VOLUME_H

#include <stddef.h>
#include <stdint.h>
#include "format.h"
#include "keys.h"
#include "kms.h"

struct volume {
	int rootfd;                      /* O_PATH|O_DIRECTORY on the cipher dir */
	uint8_t cipher;                  /* FORMAT_CIPHER_* */
	struct format_config *cfg;       /* as read (heap; not secret) */
	struct keys_volume *keys;        /* unwrapped VKs (secmem) */
	int from_keyring;                /* the keys came from `phifs unlock` (keyring.h) */
	struct kms *kms;                 /* volume_open_kms(keep_kms): still open, else NULL */
	struct filekms *filekms;         /* wrap mode 2 (filekms.h), else NULL */
	struct keytab *keytab;           /* FORMAT.md §12, with the KEYTAB incompat flag */
};

struct volume_create_opts {
	const char *kms_uri;             /* e.g. "local:/etc/phifs/kek.bin" */
	uint8_t cipher;                  /* FORMAT_CIPHER_GCM (default) or _XTS */
	struct kms_opts kms;
	uint16_t wrap_mode;              /* 0 or FORMAT_WRAP_VOLUME (default), FORMAT_WRAP_KMS */
};

/* Operator-facing error text goes to err (never PHI). */
int volume_create(const char *dir, const struct volume_create_opts *o, char *err, size_t errcap);
/* kms_override: NULL to use the URI recorded in the config — and then keys
 * left in the kernel keyring by `phifs unlock` are used first, without the
 * KMS; an override always asks that KMS. */
int volume_open(const char *dir, const char *kms_override, const struct kms_opts *ko,
		struct volume **out, char *err, size_t errcap);
/* As volume_open; with keep_kms the KMS handle that unwrapped the keys stays
 * open in v->kms (NULL when the keys came from the keyring). */
int volume_open_kms(const char *dir, const char *kms_override, const struct kms_opts *ko,
		    int keep_kms, struct volume **out, char *err, size_t errcap);
void volume_close(struct volume *v);
/* rotate-volume-key, step 1: a new random VK (returned in vk, a secmem
 * buffer of KEYS_VK_LEN) wrapped by k as version max+1, made primary; the old
 * primary's slot becomes retiring (unwrap only). One atomic config write. */
int volume_add_key(struct volume *v, struct kms *k, uint8_t *vk, uint32_t *version);
/* Sets a slot's state (FORMAT_SLOT_*) and writes the config. */
int volume_set_slot_state(struct volume *v, uint32_t version, uint16_t state);
/* A mounted daemon, when phifs.conf changed: reads it, takes new key versions
 * from the kernel keyring (where phifs-keys put them), verifies the MAC and
 * switches the primary. 0, -ENOKEY (key not there yet: retry), -EBADMSG. */
int volume_adopt_config(struct volume *v);
/* After keys_volume_evict (a lock or an idle timeout): the VKs back from the
 * kernel keyring, accepted only if the config MAC verifies; 0, -ENOKEY (not
 * unlocked), -EBADMSG (not this volume's keys; left evicted). */
int volume_restore_from_keyring(struct volume *v);
/* rotate-kms (§3.2): wraps every non-retired VK of an open volume under k's
 * current KEK and, if new_uri is set, records it as the volume's KMS; then
 * writes the config atomically. No file and no VK changes. */
int volume_rewrap(struct volume *v, struct kms *k, const char *new_uri, char *err,
		  size_t errcap);
/* Reads and parses the config without keys (for `phifs info`); MAC not checked. */
int volume_config_read(int dirfd, struct format_config *cfg);
/* Writes cfg (MAC computed under the primary VK) atomically (§3). */
int volume_config_write(int dirfd, struct format_config *cfg, const struct keys_volume *kv);
const char *volume_cipher_name(unsigned cipher);

#endif
