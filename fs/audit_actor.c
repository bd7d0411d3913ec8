/*
 * audit_actor.c: the actor of an audit record — uid, gid, pid from the FUSE
 * request, plus the user name, process name, executable and login uid, read
 * from the password database and /proc. Those reads cost several syscalls,
 * and a program opening many files asks many times: results are cached per
 * pid for AUDIT_ACTOR_TTL_MS (a pid reused within that window by another
 * program of the same uid would be misnamed for at most that long; the uid,
 * gid and pid themselves always come from the request).
 * It does not decide anything (policy.c does) and holds no PHI.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "audit_actor.h"
#include "audit_line.h"
#include "fdio.h"

#define AUDIT_ACTOR_SLOTS 64
#define AUDIT_ACTOR_TTL_MS 2000

struct actor_slot {
	struct audit_actor a;
	uint64_t at_ms;             /* CLOCK_MONOTONIC_COARSE when filled; 0 = empty */
};

/* Guarded by cache_lock. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct actor_slot cache[AUDIT_ACTOR_SLOTS];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* First line of /proc/PID/NAME without its newline; "" on any failure. */
static void proc_read(pid_t pid, const char *name, char *out, size_t cap)
{
	char path[64];
	size_t got = 0;
	int fd;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fdio_read(fd, out, cap - 1, &got) < 0)
		got = 0;
	close(fd);
	out[got] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

static void from_proc(struct audit_actor *a)
{
	char path[64], buf[32];
	ssize_t n;

	proc_read(a->pid, "comm", a->comm, sizeof(a->comm));
	snprintf(path, sizeof(path), "/proc/%ld/exe", (long)a->pid);
	n = readlink(path, a->exe, sizeof(a->exe) - 1);
	a->exe[n > 0 && (size_t)n < sizeof(a->exe) - 1 ? n : 0] = '\0';
	proc_read(a->pid, "loginuid", buf, sizeof(buf));
	a->loginuid = buf[0] ? strtoll(buf, NULL, 10) : -1;
	if (a->loginuid == 4294967295LL)
		a->loginuid = -1;
}

static void user_name(uid_t uid, char *out, size_t cap)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	out[0] = '\0';
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(out, cap, "%s", res->pw_name);
}

void audit_actor_fill(struct audit_actor *a, uid_t uid, gid_t gid, pid_t pid)
{
	struct actor_slot *s = &cache[(unsigned)pid % AUDIT_ACTOR_SLOTS];
	uint64_t now = now_ms();

	pthread_mutex_lock(&cache_lock);
	if (pid > 0 && s->at_ms && now - s->at_ms < AUDIT_ACTOR_TTL_MS && s->a.pid == pid &&
	    s->a.uid == uid) {
		*a = s->a;
		a->gid = gid;
		pthread_mutex_unlock(&cache_lock);
		return;
	}
	pthread_mutex_unlock(&cache_lock);
	memset(a, 0, sizeof(*a));
	a->uid = uid;
	a->gid = gid;
	a->pid = pid;
	a->loginuid = -1;
	user_name(uid, a->user, sizeof(a->user));
	if (pid > 0)
		from_proc(a);
	if (pid <= 0)
		return;
	pthread_mutex_lock(&cache_lock);
	s->a = *a;
	s->at_ms = now ? now : 1;
	pthread_mutex_unlock(&cache_lock);
}

static int same_actor(const struct audit_actor *a, const struct audit_actor *b)
{
	return a->uid == b->uid && a->gid == b->gid && a->pid == b->pid &&
	       a->loginuid == b->loginuid && !strcmp(a->user, b->user) &&
	       !strcmp(a->comm, b->comm) && !strcmp(a->exe, b->exe);
}

static void write_members(const struct audit_actor *a, struct audit_line *l)
{
	audit_line_raw(l, "{", 1);
	audit_line_key(l, "uid");
	audit_line_int(l, a->uid);
	if (a->user[0]) {
		audit_line_key(l, "user");
		audit_line_str(l, a->user);
	}
	audit_line_key(l, "gid");
	audit_line_int(l, a->gid);
	audit_line_key(l, "pid");
	audit_line_int(l, a->pid);
	if (a->comm[0]) {
		audit_line_key(l, "comm");
		audit_line_str(l, a->comm);
	}
	if (a->exe[0]) {
		audit_line_key(l, "exe");
		audit_line_str(l, a->exe);
	}
	if (a->loginuid >= 0) {
		audit_line_key(l, "loginuid");
		audit_line_int(l, a->loginuid);
	}
	audit_line_raw(l, "}", 1);
}

/* The writer's last actor and its text: records in a row are mostly one
 * program's (an untar makes five per file), so the text is copied, not
 * written again. Per thread; texts too long for it are not kept. */
#define ACTOR_TEXT_MAX 640
static _Thread_local struct {
	struct audit_actor a;
	size_t len;                 /* 0: nothing kept */
	char text[ACTOR_TEXT_MAX];
} last_actor;

void audit_actor_write(const struct audit_actor *a, struct audit_line *l)
{
	size_t start = l->len;

	if (last_actor.len && same_actor(a, &last_actor.a)) {
		audit_line_raw(l, last_actor.text, last_actor.len);
		return;
	}
	write_members(a, l);
	last_actor.len = 0;
	if (!l->err && l->len - start <= ACTOR_TEXT_MAX) {
		last_actor.a = *a;
		memcpy(last_actor.text, l->buf + start, l->len - start);
		last_actor.len = l->len - start;
	}
}

/* The tools' records and the writer's gap record still build json-c trees:
 * the same text, parsed (rare records, one serialiser). */
struct json_object *audit_actor_json(const struct audit_actor *a)
{
	struct audit_line l = { 0 };
	struct json_object *o = NULL;

	audit_actor_write(a, &l);
	audit_line_raw(&l, "", 1);
	if (!audit_line_done(&l))
		o = json_tokener_parse(l.buf);
	audit_line_free(&l);
	return o;
}
