/*
 * audit_log.h: the tamper-evident audit log writer and verifier — hash chain,
 * forward-secure MAC, signed checkpoints, sinks (local spool with rotation,
 * syslog). It knows nothing of FUSE: fs/audit.c turns filesystem events into
 * records and feeds them here from its writer thread; CLI tools append their
 * own events (unlock, lock, fsck, key operations) the same way.
 * Spec: docs/AUDIT_FORMAT.md.
 *
 * A record is a JSON object (json-c). The caller fills the event fields (see
 * docs/AUDIT_FORMAT.md "Record": time, host, vol, event, actor, object,
 * result, ...); audit_log_append() adds "v", "seq", "epoch", "prev" and
 * "mac" (and "time"/"host" when absent), serialises it as one line and hands
 * it to every sink.
 */
#ifndef PHIFS_AUDIT_LOG_H
#define PHIFS_AUDIT_LOG_H

#include <stddef.h>
#include <stdint.h>

struct json_object;
struct audit_log;

/* Defaults (docs/AUDIT_FORMAT.md "Parameters"). */
#define AUDIT_KEYS_DIR_DEFAULT "/var/lib/phifs/audit-keys"
#define AUDIT_ROTATE_BYTES_DEFAULT (64ull << 20)
#define AUDIT_ROTATE_SECONDS_DEFAULT 86400u
#define AUDIT_CHECKPOINT_RECORDS_DEFAULT 1000u
#define AUDIT_CHECKPOINT_SECONDS_DEFAULT 60u
#define AUDIT_EPOCH_SECONDS_DEFAULT 60u

struct audit_log_opts {
	const char *spool_dir;        /* local append-only spool directory; NULL = none */
	const char *keys_dir;         /* verification material, kept apart from the log;
				       * NULL = AUDIT_KEYS_DIR_DEFAULT */
	const char *stream;           /* stream name: one chain per writer, e.g. "<volid hex>" */
	const char *syslog;           /* NULL, "local" (RFC 5424 on /dev/log) or
				       * "tls://HOST:PORT?ca=..&cert=..&key=.." (RFC 5425);
				       * several separated by ',' */
	uint64_t rotate_bytes;        /* rotate the spool file past this size; 0 = default */
	unsigned rotate_seconds;      /* ... or this age; 0 = default */
	unsigned checkpoint_records;  /* signed checkpoint every N records; 0 = default */
	unsigned checkpoint_seconds;  /* ... or every N seconds, also when idle; 0 = default */
	unsigned mac_epoch_seconds;   /* MAC key evolves one way at this period; 0 = default */
	unsigned sync_ms;             /* batched fdatasync period; 0 = every append */
	const char *vol;              /* "vol" of the writer's own records (audit-start,
				       * checkpoint, audit-stop); NULL = omitted */
	uint64_t (*clock_ms)(void);   /* tests only: the timer clock (ms); NULL = monotonic */
};

/* Opens (or continues) the stream's chain: takes the stream's lock (waits up
 * to 10 s for another writer, then -EBUSY), writes a fresh session key and
 * public key to keys_dir, then the audit-start record and a checkpoint.
 * -errno if that cannot be made durable or a syslog sink cannot be reached. */
int audit_log_open(const struct audit_log_opts *o, struct audit_log **out);

/* keys_dir as audit_log_open uses it (the default when NULL), for messages. */
const char *audit_log_keys_dir(const char *keys_dir);

/* mkdir -p; what it creates is mode 0700 (the spool and keys_dir, and on a
 * new machine their parents such as /var/lib/phifs). */
int audit_log_mkdirs(const char *dir);
/* Appends one record (the object gains v/seq/prev/mac). 0 once taken by
 * every sink (the spool gathers a batch: written at audit_log_flush, durable
 * at the next audit_log_sync, or at once with sync_ms 0),
 * -EIO/-ENOSPC/... when a sink failed: the caller decides (fail closed or
 * continue) and later reports the gap with an "audit-gap" record. A record
 * the spool did not take does not use up a seq (the log stays gap-free).
 * Thread-compatible: callers serialise. */
int audit_log_append(struct audit_log *l, struct json_object *rec);
/* The same for a record already serialised (the daemon's, audit_pend.c):
 * time (RFC 3339, µs) and the JSON text of the members that follow it in
 * the envelope — "host", "vol", then the caller's — without braces or a
 * leading comma, never "v", "seq", "time", "epoch", "prev" or "mac". */
int audit_log_append_members(struct audit_log *l, const char *time, const char *members,
			     size_t len);
/* Writes the spool's gathered records out (one write) once that is due
 * (audit_spool_flush_due: 512 KiB gathered or the oldest a second old);
 * -errno leaves those that did not land for the next flush. */
int audit_log_flush(struct audit_log *l);
/* ms until audit_log_flush has something to write (0: nothing waits): the
 * writer's longest sleep while records wait in memory. */
uint64_t audit_log_flush_in(struct audit_log *l);
/* Makes everything appended so far durable (fdatasync); runs timers:
 * checkpoints when due, MAC epoch changes, rotation. Call at least once a second. */
int audit_log_sync(struct audit_log *l);
/* Final checkpoint, sync, wipe keys, free. NULL is fine. */
void audit_log_close(struct audit_log *l);

/* Verification (phifs-audit verify): what was found and where. */
struct audit_verify_result {
	uint64_t records;             /* records that verified */
	uint64_t checkpoints;
	int ok;                       /* 1: untouched */
	char first_bad[512];          /* "FILE:LINE: reason" of the first failure ("" if ok) */
	char bad_file[256];           /* the same, split: file ("" if ok), */
	uint64_t bad_line;            /* 1-based line (0: the file as a whole), */
	char bad_reason[192];         /* and reason */
	uint64_t torn;                /* torn final lines skipped (crash mid-write) */
	uint64_t streams;             /* streams verified */
};
/* files: spool files or spool directories (every stream in them, and every
 * stream with checkpoints in keys_dir). 0 with r->ok saying intact or not;
 * -ENOENT/-EACCES/... when a log or the verification material cannot be read
 * (r->first_bad says which); -EINVAL for a file that is not a spool file. */
int audit_verify(const char *const *files, size_t n, const char *keys_dir,
		 struct audit_verify_result *r);

#endif
