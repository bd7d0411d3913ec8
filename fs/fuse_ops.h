/*
 * fuse_ops.h: the daemon state handed to libfuse as userdata, and the ops table.
 */
#ifndef PHIFS_FUSE_OPS_H
#define PHIFS_FUSE_OPS_H

#include <fuse_lowlevel.h>
#include "inode.h"
#include "node.h"
#include "volume.h"

struct fsd_opts {
	double timeout;          /* entry/attr cache timeout, seconds */
	int writeback;           /* kernel writeback cache (default on) */
	int direct_io;           /* bypass the page cache: every read/write reaches us */
	int readonly;
};

struct fsd {
	struct volume *vol;
	struct inode_table table;
	struct node_ctx nc;
	struct fsd_opts opts;
};

extern const struct fuse_lowlevel_ops fuse_ops;

#endif
