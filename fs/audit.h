/*
 * audit.h: filesystem and CLI events → audit records (see audit.c). The
 * record format and the log itself are fs/audit_log.h's; this is the event
 * side: what the daemon and the tools call. Spec: docs/OPERATIONS.md "Audit",
 * docs/AUDIT_FORMAT.md "Record".
 */
#ifndef PHIFS_AUDIT_H
#define PHIFS_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "audit_path.h"
#include "format.h"

struct json_object;
struct inode;
struct opctx;
struct fsd;
struct audit_handle;

/* Where records go when no audit= / --audit is given (PHIFS_AUDIT_DIR overrides). */
#define AUDIT_DEFAULT_DIR "/var/log/phifs/audit"

struct audit_opts {
	const char *spool_dir;          /* NULL or "off": auditing off (warned) */
	const char *keys_dir;           /* NULL: audit_keys_dir(NULL) */
	const char *syslog;             /* audit_log_opts.syslog, NULL = none */
	int per_op;                     /* audit_mode=per-op: a record per read/write */
	enum audit_paths_mode paths;    /* default AUDIT_PATHS_HMAC */
	int on_failure_continue;        /* audit_on_failure=continue (default deny) */
	unsigned interval_s;            /* interim summaries of open handles; 0 = 60 */
};

/* The spool dir of an audit= / --audit value (NULL: the default). */
const char *audit_dir_or_default(const char *v);
/* audit_keys= / the tools' keys dir: v, else PHIFS_AUDIT_KEYS_DIR, else NULL
 * (audit_log.c's default). */
const char *audit_keys_dir(const char *v);
int audit_is_off(const char *dir);
/* Creates the spool dir (0700) if missing and refuses one inside the cipher
 * dir or the mount point (-EINVAL with err filled). */
int audit_check_dir(const char *spool, const char *cipherdir, const char *mountpoint, char *err,
		    size_t errcap);

/* ---- the daemon --------------------------------------------------------- */

/* Opens the log (audit_log.c writes its "audit-start"), starts the writer
 * thread, installs the hooks (integrity, key operations, opctx completion). */
int audit_start(const struct audit_opts *o, struct fsd *fs, char *err, size_t errcap);
/* "mount" once the mount is live (mountpoint is an operator path, not PHI). */
void audit_mounted(const char *mountpoint);
/* Final summaries of handles still open, "unmount", then the log's close
 * ("audit-stop"). */
void audit_stop(void);

/* Fail-closed gate for new opens and namespace changes: -EIO while records
 * cannot be made durable under audit_on_failure=deny; 0 otherwise. */
int audit_gate(void);

/* The object of an event: an entry (dir + plaintext name) or an inode. */
struct audit_obj {
	struct inode *dir;              /* with name: the entry's directory */
	const char *name;               /* plaintext entry name; NULL: i itself */
	struct inode *i;                /* the object, when known */
	int has_id;
	uint8_t file_id[FORMAT_ID_LEN];
	uint64_t ino;                   /* backing inode; 0 = unknown */
};

/* Before a destructive op (unlink, rmdir, rename): the entry's inode and
 * file id while it still exists. No-op when auditing is off. */
void audit_probe(struct audit_obj *o);
/* A namespace or attribute event ("create", "mkdir", "unlink", "rename",
 * "setattr", ...). obj2: destination of rename/link (NULL otherwise); extra:
 * event fields (ownership passes; NULL for none). */
void audit_event(const struct opctx *c, const char *event, struct audit_obj *obj,
		 struct audit_obj *obj2, struct json_object *extra, int result);
/* Event fields helpers. */
/* "setattr": valid (FUSE_SET_ATTR_*) and the new size become "attrs" and
 * "size" on the writer thread (no json-c object on the FUSE thread). */
void audit_setattr(const struct opctx *c, struct audit_obj *obj, int valid, uint64_t size,
		   int result);
struct json_object *audit_xattr_field(const char *name);
struct json_object *audit_node_type(mode_t mode);        /* mknod: {"type":"fifo"...} */
struct json_object *audit_rename_flags(unsigned flags);

/* open/create: records "open" (or "create" for created files) and, when ok,
 * returns the handle state that carries the opener's identity (NULL when
 * auditing is off or on allocation failure: I/O then goes unsummarised, and
 * an "audit-gap" says so). */
struct audit_handle *audit_open_event(const struct opctx *c, const char *event,
				      struct audit_obj *obj, int flags, int result);
/* Reads/writes on a handle: a counter update (summary) or a record (per-op). */
void audit_io_read(struct audit_handle *h, uint64_t off, int64_t result);
void audit_io_write(struct audit_handle *h, uint64_t off, int64_t result);
/* release: the final summary; frees h (NULL is fine). */
void audit_release(struct audit_handle *h);

/* Access denied. reason "permission" (an EACCES/EPERM result) or "policy";
 * rule: the policy rule index or -1; learn: a would-be denial (learn mode). */
void audit_denied(const struct opctx *c, const char *reason, int rule, int learn,
		  struct audit_obj *obj);

/* ---- the command-line tools ---------------------------------------------- */

struct audit_tool;
/* Opens stream "<volid>-tools" in dir (NULL: the default; "off": returns 0 with
 * *out NULL after a warning on stderr). -errno with err filled if the spool
 * is not writable: the tool must then refuse a key operation. Installs the
 * key-operation hook, so hook_key_op() calls become "key" records. */
int audit_tool_open(const char *dir, const uint8_t volume_id[FORMAT_ID_LEN],
		    struct audit_tool **out, char *err, size_t errcap);
/* One record of `event` (the tool's own identity as actor); extra as above. */
int audit_tool_event(struct audit_tool *t, const char *event, struct json_object *extra,
		     int result);
void audit_tool_close(struct audit_tool *t);

#endif
