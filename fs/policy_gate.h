/*
 * policy_gate.h: the access policy enforced by the mounted filesystem
 * (policy_gate.c). Spec: docs/FORMAT.md §11 (rules), docs/OPERATIONS.md
 * "Access policy" (which operations ask for which action).
 */
#ifndef PHIFS_POLICY_GATE_H
#define PHIFS_POLICY_GATE_H

#include <stddef.h>

struct opctx;
struct volume;
struct audit_obj;

/* Loads phifs.policy of the mounted volume (none: nothing enforced). A
 * policy that does not verify refuses the mount (-EBADMSG, -ENOKEY), with
 * the reason in err. One volume per process. */
int policy_gate_start(const struct volume *vol, char *err, size_t errcap);
void policy_gate_stop(void);

/* May c's caller do `actions` (POLICY_READ|WRITE|METADATA bits) to o, and
 * (o2 non-NULL: rename, link) write o2? 0, or -EACCES after a "denied"
 * record. A permitted access matched by an `audit` rule or by the
 * break-glass group marks c so that audit.c flags its records. */
int policy_gate_check(struct opctx *c, unsigned actions, struct audit_obj *o,
		      struct audit_obj *o2);

#endif
