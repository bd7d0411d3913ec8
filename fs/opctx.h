/*
 * opctx.h: the one place every FUSE operation passes through, with the
 * caller's identity, so access policy and audit can hook in without touching
 * each operation (see opctx.c).
 */
#ifndef PHIFS_OPCTX_H
#define PHIFS_OPCTX_H

#include <stdint.h>
#include <sys/types.h>

struct opctx {
	const char *op;          /* static operation name, e.g. "open" */
	uint64_t ino;            /* FUSE node id the operation is on */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int keyed;               /* counted as a volume-key user (session.c) */
	/* Set by the policy gate (policy_gate.c), read by audit.c: */
	unsigned rule;           /* the `audit` rule that matched (1-based); 0 none */
	int review;              /* OPCTX_REVIEW_*: how records of this op are flagged */
	int policy_denied;       /* refused by the policy, already recorded as such */
};

#define OPCTX_REVIEW_NONE 0
#define OPCTX_REVIEW_AUDIT 1          /* an `audit` rule matched: "flag":"policy-audit" */
#define OPCTX_REVIEW_BREAK_GLASS 2    /* break-glass group: "flag":"break-glass" + reason */

/* Policy: return 0 to permit or -EACCES/-EPERM to deny. */
typedef int (*opctx_check_fn)(void *arg, const struct opctx *c);
/* Completion: result is 0/positive count or -errno. */
typedef void (*opctx_done_fn)(void *arg, const struct opctx *c, int64_t result);

/* Policy (policy.c) installs the check, audit (audit.c) the completion; each
 * setter leaves the other hook alone. opctx_set_hooks sets both. */
void opctx_set_check(opctx_check_fn check, void *arg);
void opctx_set_done(opctx_done_fn done, void *arg);
void opctx_set_hooks(opctx_check_fn check, opctx_done_fn done, void *arg);
/* Also makes c the thread's current operation until opctx_done. */
int opctx_check(const struct opctx *c);
void opctx_done(const struct opctx *c, int64_t result);
/* The operation this thread is serving (NULL outside one): the actor of
 * events raised deep inside it (integrity failures, key operations). */
const struct opctx *opctx_current(void);

#endif
