/*
 * audit_rec.h: the envelope every audit record shares — time, host, vol,
 * event, actor, result — for the daemon (audit.c) and the tools
 * (audit_tool.c). See audit_rec.c; spec docs/AUDIT_FORMAT.md "Record".
 */
#ifndef PHIFS_AUDIT_REC_H
#define PHIFS_AUDIT_REC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "format.h"

struct json_object;
struct audit_actor;

/* A new record; actor NULL: this process itself. result: 0 "ok" or -errno. */
struct json_object *audit_rec_new(const char *event, const uint8_t volume_id[FORMAT_ID_LEN],
				  const struct audit_actor *actor, int result);
/* The same with the event's time (CLOCK_REALTIME); at NULL: now. */
struct json_object *audit_rec_new_at(const char *event, const uint8_t volume_id[FORMAT_ID_LEN],
				     const struct audit_actor *actor, int result,
				     const struct timespec *at);
/* RFC 3339 UTC with microseconds: "2026-11-23T16:42:15.123456Z". */
void audit_rec_time(const struct timespec *ts, char out[40]);
void audit_rec_hex(const uint8_t *in, size_t n, char *out);
/* This machine's host name, read once ("" when it has none). */
const char *audit_rec_host(void);
/* "ok" or the errno name ("EIO"). */
const char *audit_rec_result(int result);
/* {"op":..,"from":..,"to":..} of a key operation (from/to may be NULL). */
struct json_object *audit_rec_key_fields(const char *op, const char *from, const char *to);
/* Moves extra's fields into rec and drops extra (either may be NULL). */
void audit_rec_merge(struct json_object *rec, struct json_object *extra);
/* A deep copy, or NULL (also for NULL). */
struct json_object *audit_rec_copy(struct json_object *src);

#endif
