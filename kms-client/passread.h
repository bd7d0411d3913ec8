/*
 * passread.h: getting a passphrase from the operator for the passphrase
 * provider: a file's first line, a command's stdout, or the terminal with echo
 * off. Never from argv or the environment.
 */
#ifndef PHIFS_KMS_PASSREAD_H
#define PHIFS_KMS_PASSREAD_H

#include <stddef.h>

#define PASSREAD_MAX 1024   /* bytes, after the trailing newline is stripped */

/*
 * At most one of passfile and extpass; neither means the terminal (/dev/tty),
 * where confirm asks twice. *out is a fresh secmem buffer of *out_len bytes
 * (1..PASSREAD_MAX, not NUL-terminated) that the caller secmem_free()s.
 * -EINVAL empty, too long, mismatch or both sources; -ENOENT/-EACCES passfile;
 * -EIO command failed or no terminal; -EINTR interrupted at the prompt.
 */
int passread_get(const char *passfile, const char *extpass, int confirm, char **out,
		 size_t *out_len);

#endif
