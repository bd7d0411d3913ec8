/*
 * audit_rec.c: the envelope of an audit record (docs/AUDIT_FORMAT.md
 * "Record"): "time" (UTC, µs), "host", "vol", "event", "actor", "result".
 * audit_log.c adds "v", "seq", "prev" and "mac"; the callers add the event
 * fields. Shared by the daemon and the command-line tools so both write the
 * same shape. Holds no state and no PHI.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include <sodium.h>

#include "audit_actor.h"
#include "audit_rec.h"

static char cached_host[256];

static void host_init(void)
{
	if (gethostname(cached_host, sizeof(cached_host)) < 0)
		cached_host[0] = '\0';
	cached_host[sizeof(cached_host) - 1] = '\0';
}

void audit_rec_hex(const uint8_t *in, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, in, n);
}

/* The seconds part is formatted once per second per thread: gmtime_r and
 * strftime cost more than the rest of a record's envelope. */
void audit_rec_time(const struct timespec *ts, char out[40])
{
	static _Thread_local time_t last_sec = (time_t)-1;
	static _Thread_local char last[32];
	static _Thread_local size_t last_len;
	struct tm tm;

	if (ts->tv_sec != last_sec) {
		gmtime_r(&ts->tv_sec, &tm);
		last_len = strftime(last, sizeof(last), "%Y-%m-%dT%H:%M:%S", &tm);
		last_sec = ts->tv_sec;
	}
	memcpy(out, last, last_len);
	out += last_len;
	*out++ = '.';
	for (long us = ts->tv_nsec / 1000, div = 100000; div; div /= 10)
		*out++ = (char)('0' + us / div % 10);
	memcpy(out, "Z", 2);
}

const char *audit_rec_result(int result)
{
	const char *name;

	if (result >= 0)
		return "ok";
	name = strerrorname_np(-result);
	return name ? name : "EUNKNOWN";
}

/* Read once per process: a record per open must not cost a uname(2). */
const char *audit_rec_host(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, host_init);
	return cached_host;
}

struct json_object *audit_rec_new(const char *event, const uint8_t volume_id[FORMAT_ID_LEN],
				  const struct audit_actor *actor, int result)
{
	return audit_rec_new_at(event, volume_id, actor, result, NULL);
}

struct json_object *audit_rec_new_at(const char *event, const uint8_t volume_id[FORMAT_ID_LEN],
				     const struct audit_actor *actor, int result,
				     const struct timespec *at)
{
	struct json_object *rec = json_object_new_object();
	struct audit_actor self;
	struct timespec now;
	char t[40], vol[2 * FORMAT_ID_LEN + 1];

	if (!rec)
		return NULL;
	if (!actor) {
		audit_actor_fill(&self, getuid(), getgid(), getpid());
		actor = &self;
	}
	if (!at) {
		clock_gettime(CLOCK_REALTIME, &now);
		at = &now;
	}
	audit_rec_time(at, t);
	audit_rec_hex(volume_id, FORMAT_ID_LEN, vol);
	json_object_object_add(rec, "time", json_object_new_string(t));
	json_object_object_add(rec, "host", json_object_new_string(audit_rec_host()));
	json_object_object_add(rec, "vol", json_object_new_string(vol));
	json_object_object_add(rec, "event", json_object_new_string(event));
	json_object_object_add(rec, "actor", audit_actor_json(actor));
	json_object_object_add(rec, "result", json_object_new_string(audit_rec_result(result)));
	return rec;
}

struct json_object *audit_rec_key_fields(const char *op, const char *from, const char *to)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "op", json_object_new_string(op));
	if (from)
		json_object_object_add(o, "from", json_object_new_string(from));
	if (to)
		json_object_object_add(o, "to", json_object_new_string(to));
	return o;
}

struct json_object *audit_rec_copy(struct json_object *src)
{
	struct json_object *dst = NULL;

	if (!src || json_object_deep_copy(src, &dst, NULL) != 0)
		return NULL;
	return dst;
}

void audit_rec_merge(struct json_object *rec, struct json_object *extra)
{
	if (rec && extra) {
		json_object_object_foreach(extra, k, v)
			json_object_object_add(rec, k, json_object_get(v));
	}
	json_object_put(extra);
}
