/* xattr.h: encrypted extended attributes (docs/FORMAT.md §7); see xattr.c. */
#ifndef PHIFS_XATTR_H
#define PHIFS_XATTR_H

#include <sys/types.h>
#include "inode.h"
#include "volume.h"

int xattr_set(struct volume *v, struct inode *i, const char *name, const void *value,
	      size_t size, int flags);
/* Value length (size 0 asks for the length only) or -errno. */
ssize_t xattr_get(struct volume *v, struct inode *i, const char *name, void *buf, size_t size);
ssize_t xattr_list(struct volume *v, struct inode *i, char *buf, size_t size);
int xattr_remove(struct volume *v, struct inode *i, const char *name);

#endif
