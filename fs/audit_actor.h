/*
 * audit_actor.h: who did it — the "actor" of an audit record (see audit_actor.c).
 * Spec: docs/AUDIT_FORMAT.md "Record" (actor).
 */
#ifndef PHIFS_AUDIT_ACTOR_H
#define PHIFS_AUDIT_ACTOR_H

#include <stdint.h>
#include <sys/types.h>

struct json_object;
struct audit_line;

struct audit_actor {
	uid_t uid;
	gid_t gid;
	pid_t pid;                  /* 0: the kernel itself (writeback, release) */
	int64_t loginuid;           /* -1: unknown or unset */
	char user[64];              /* "" when the uid has no name */
	char comm[32];              /* /proc/PID/comm; "" when gone */
	char exe[256];              /* /proc/PID/exe; "" when gone or too long */
	int review;                 /* OPCTX_REVIEW_*: the policy flagged this access */
	unsigned rule;              /* the policy's `audit` rule (1-based), 0 none */
};

/* Fills a from the request's uid/gid/pid and /proc (cached briefly per pid). */
void audit_actor_fill(struct audit_actor *a, uid_t uid, gid_t gid, pid_t pid);
/* The "actor" object written into l (its members in this order: uid, user,
 * gid, pid, comm, exe, loginuid; empty ones left out). */
void audit_actor_write(const struct audit_actor *a, struct audit_line *l);
/* The same as a json-c object; NULL on allocation failure. */
struct json_object *audit_actor_json(const struct audit_actor *a);

#endif
