/*
 * node.h: namespace operations on the backing tree (see node.c).
 */
#ifndef PHIFS_NODE_H
#define PHIFS_NODE_H

#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "inode.h"
#include "volume.h"

/* Who asks: new objects are owned by the caller (the daemon runs as root). */
struct node_caller {
	uid_t uid;
	gid_t gid;
};

struct node_ctx {
	struct volume *vol;
	struct inode_table *table;
	int readonly;
};

/* Backing name of plaintext `name` in directory `dir`. */
int node_backing_name(struct node_ctx *c, struct inode *dir, const char *name,
		      char out[NAME_MAX + 1], int *is_long, char *enc, size_t enc_cap);
/* Plaintext attributes from backing ones (sizes of files and symlinks). */
int node_fix_stat(struct node_ctx *c, struct inode *i, struct stat *st);
int node_getattr(struct node_ctx *c, struct inode *i, struct stat *st);

int node_lookup(struct node_ctx *c, struct inode *dir, const char *name, struct inode **out,
		struct stat *st);
/* Creates a regular file and its header; *fio is the open file state. */
int node_create(struct node_ctx *c, const struct node_caller *who, struct inode *dir,
		const char *name, mode_t mode, struct inode **out, struct stat *st,
		struct fileio **fio);
int node_mkdir(struct node_ctx *c, const struct node_caller *who, struct inode *dir,
	       const char *name, mode_t mode, struct inode **out, struct stat *st);
int node_mknod(struct node_ctx *c, const struct node_caller *who, struct inode *dir,
	       const char *name, mode_t mode, dev_t rdev, struct inode **out, struct stat *st);
int node_symlink(struct node_ctx *c, const struct node_caller *who, struct inode *dir,
		 const char *name, const char *target, struct inode **out, struct stat *st);
int node_link(struct node_ctx *c, struct inode *i, struct inode *dir, const char *name,
	      struct inode **out, struct stat *st);
int node_unlink(struct node_ctx *c, struct inode *dir, const char *name);
int node_rmdir(struct node_ctx *c, struct inode *dir, const char *name);
int node_rename(struct node_ctx *c, struct inode *dir, const char *name, struct inode *newdir,
		const char *newname, unsigned int flags);
int node_readlink(struct node_ctx *c, struct inode *i, char *out, size_t cap);

#endif
