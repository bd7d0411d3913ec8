/*
 * names.h: encrypted names (docs/FORMAT.md §6), symlink targets (§6.4) and
 * xattr names/values (§7); directory ids and long-name side files.
 */
#ifndef PHIFS_NAMES_H
#define PHIFS_NAMES_H

#include <stddef.h>
#include <stdint.h>
#include <limits.h>

#define NAMES_DIRID_FILE "phifs.dirid"
#define NAMES_DIRID_LEN 16
#define NAMES_RESERVED_PREFIX "phifs."
#define NAMES_LONG_PREFIX "phifs.ln."
#define NAMES_LONG_SUFFIX ".name"
#define NAMES_MKDIR_PREFIX "phifs.mk."  /* a directory being built (§6.1), renamed into place */
#define NAMES_ENC_MAX 512          /* longest encrypted name text incl. NUL */
#define NAMES_KEY_LEN 64

/* Plaintext name -> encrypted text (may exceed 255; see names_backing). */
int names_encrypt(const uint8_t key[NAMES_KEY_LEN], const uint8_t dirid[NAMES_DIRID_LEN],
		  const char *name, char *enc, size_t cap);
/* Encrypted text -> plaintext; -EBADMSG if it does not authenticate. */
int names_decrypt(const uint8_t key[NAMES_KEY_LEN], const uint8_t dirid[NAMES_DIRID_LEN],
		  const char *enc, char *name, size_t cap);

/* 1 if a backing name is reserved (phifs.*), else 0. */
int names_is_reserved(const char *backing);
/* 1 if backing is a long-name entry (phifs.ln.<h>, not the .name side file). */
int names_is_long(const char *backing);
/* Backing name for an encrypted text: itself if <= 255 chars, else phifs.ln.<h>.
 * *is_long tells which. out must hold NAME_MAX + 1. */
int names_backing(const char *enc, char out[NAME_MAX + 1], int *is_long);

/* Plaintext name in directory dirfd -> backing name; does not touch the disk. */
int names_to_backing(const uint8_t key[NAMES_KEY_LEN], const uint8_t dirid[NAMES_DIRID_LEN],
		     const char *name, char out[NAME_MAX + 1], int *is_long,
		     char *enc, size_t enc_cap);
/* Backing entry -> plaintext name (reads the side file for long names).
 * -ENOENT for reserved entries (skip them), -EBADMSG for undecryptable ones. */
int names_from_backing(const uint8_t key[NAMES_KEY_LEN], int dirfd,
		       const uint8_t dirid[NAMES_DIRID_LEN], const char *backing,
		       char *name, size_t cap);

/* Side files of long names (§6.3). write: create+fsync (replaces); remove: ENOENT ok. */
int names_longside_write(int dirfd, const char *backing, const char *enc);
int names_longside_read(int dirfd, const char *backing, char *enc, size_t cap);
int names_longside_remove(int dirfd, const char *backing);

/* Directory ids (§6.1): create writes a new random id (O_EXCL, fsync). */
int names_dirid_create(int dirfd);
int names_dirid_read(int dirfd, uint8_t dirid[NAMES_DIRID_LEN]);
/* 0 when the backing directory holds only reserved entries (no names), else
 * -ENOTEMPTY or -errno. heal: gives such a directory without an id a new one
 * (a crash leftover, see names.c); -ENOENT when it has names. */
int names_dir_empty(int dirfd);
int names_dirid_heal(int dirfd);

/* §6.4 symlink targets. */
int names_symlink_encrypt(const uint8_t key[NAMES_KEY_LEN], const char *target, char *out,
			  size_t cap);
int names_symlink_decrypt(const uint8_t key[NAMES_KEY_LEN], const char *enc, char *out,
			  size_t cap);

/* §7 xattrs: only "user." names; others -EOPNOTSUPP. */
int names_xattr_name_encrypt(const uint8_t key[NAMES_KEY_LEN], const char *name, char *out,
			     size_t cap);
/* Backing xattr name -> plaintext; -ENOENT if not one of ours. */
int names_xattr_name_decrypt(const uint8_t key[NAMES_KEY_LEN], const char *backing, char *out,
			     size_t cap);
/* Value bound to its backing name; *out_len = len + 16. */
int names_xattr_value_encrypt(const uint8_t key[NAMES_KEY_LEN], const char *backing_name,
			      const void *val, size_t len, uint8_t *out, size_t cap,
			      size_t *out_len);
int names_xattr_value_decrypt(const uint8_t key[NAMES_KEY_LEN], const char *backing_name,
			      const uint8_t *in, size_t len, void *out, size_t cap,
			      size_t *out_len);

#endif
