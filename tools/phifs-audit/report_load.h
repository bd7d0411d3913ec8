/*
 * report_load.h: audit log files and directories read into records for
 * `phifs-audit show` and `report` (record schema: docs/AUDIT_FORMAT.md).
 * Reading only: chain and MACs are `phifs-audit verify`'s business.
 */
#ifndef PHIFS_REPORT_LOAD_H
#define PHIFS_REPORT_LOAD_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

/* One record, with the fields every reader needs pulled out once. Strings
 * point into obj (valid while the log is loaded); absent fields are NULL/-1. */
struct report_rec {
	struct json_object *obj;   /* the parsed line (owned) */
	char *line;                /* the line's bytes as read, without newline (owned) */
	int64_t t_us;              /* "time", µs since the epoch (UTC) */
	int64_t seq;               /* "seq", -1 if absent */
	int64_t uid;               /* actor.uid, -1 if absent */
	const char *user;          /* actor.user */
	const char *event;
	const char *result;        /* "ok", an errno name, or NULL */
	const char *file;          /* object.file (32 hex) */
	char stream[112];          /* whose seq chain: the spool file's STREAM, else "host vol" */
	char who[48];              /* user name, else "uid:N", else "-" */
	size_t order;              /* position in the input (stable sort) */
};

struct report_log {
	struct report_rec *r;      /* sorted by time, then input order */
	size_t n, cap;
	size_t bad_lines;          /* lines that were not a record (warned on stderr) */
};

/* Reads every path (a file, or a directory: its regular files in name order,
 * hidden files skipped). 0, or -errno when a path cannot be read (message on
 * stderr). Unparseable lines are counted in bad_lines, not fatal; a torn
 * last line (no newline: a writer's crash) is skipped with a warning. */
int report_load(const char *const *paths, size_t n, struct report_log *log);
void report_log_free(struct report_log *log);

/* "2026-11-23T16:42:15.123456Z" (fraction and offset optional: Z or ±hh:mm)
 * or a relative "24h", "7d", "30m" (before now_us) → µs since the epoch. */
int report_parse_time(const char *s, int64_t now_us, int64_t *out_us);
int64_t report_now_us(void);
/* "2026-11-23T16:42:15Z" (UTC, seconds) into out. */
void report_format_time(int64_t t_us, char out[32]);

/* A record's field, NULL/-1 when absent or of another type. */
const char *report_str(struct json_object *o, const char *key);
int64_t report_int(struct json_object *o, const char *key);

#endif
