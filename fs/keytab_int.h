/*
 * keytab_int.h: what keytab.c shares with keytab_shred.c only (the open
 * table's fields and page helpers). Not for other files: they use keytab.h.
 */
#ifndef PHIFS_KEYTAB_INT_H
#define PHIFS_KEYTAB_INT_H

#include <pthread.h>
#include <sys/types.h>
#include "keytab.h"

struct kt_secrets {
	uint8_t tk[KEYS_TK_LEN];
	uint8_t page_key[KEYS_TK_LEN];
	uint8_t mac_key[KEYS_TK_LEN];
	uint8_t plain[KEYTAB_PAGE_PLAIN];   /* one decrypted page, wiped after use */
};

struct keytab {
	pthread_mutex_t mu;             /* guards every field below */
	int rootfd;                     /* the cipher dir (dup'ed, owned) */
	int fd;                         /* phifs.keytab of the loaded epoch, or -1 */
	int writable;                   /* fd is O_RDWR */
	dev_t dev;                      /* identity of fd's file: another one at */
	ino_t ino;                      /* the name means a new epoch */
	char *vol_uri;                  /* the volume's KMS URI: where epoch KEKs live */
	uint8_t volume_id[FORMAT_ID_LEN];
	struct keytab_header hdr;       /* of the loaded epoch (MAC verified) */
	struct kt_secrets *s;           /* secmem */
	uint32_t res_next, res_end;     /* reserved slots not yet handed out: [next, end) */
	uint8_t page_ct[KEYTAB_PAGE_LEN];
};

/* Page p decrypted into kt->s->plain under kt->mu (the caller wipes it). */
int keytab_page_load(struct keytab *kt, uint32_t page);
int keytab_slot_is_zero(const uint8_t *p);
/* Fresh random slot secrets, none all-zero. */
int keytab_page_fill(uint8_t *plain);
/* Encodes h, MACs it under mac_key (into h->mac) and writes it at offset 0. */
int keytab_header_write(const uint8_t mac_key[KEYS_TK_LEN], int fd, struct keytab_header *h);

#endif
