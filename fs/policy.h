/*
 * policy.h: the volume's access policy (docs/FORMAT.md §11, usage in
 * docs/OPERATIONS.md "Access policy"): an ordered rule list parsed from text,
 * evaluated first-match-wins for one access. Parsing touches nothing outside
 * the text (fuzzed); policy_resolve() looks user and group names up; the
 * stored, MAC'd file is policy_store.h's.
 */
#ifndef PHIFS_POLICY_H
#define PHIFS_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define POLICY_MAX_RULES 1024
#define POLICY_MAX_LINE 4096

enum policy_effect { POLICY_PERMIT, POLICY_AUDIT, POLICY_DENY };
enum policy_action {
	POLICY_READ = 1,          /* open for reading, readdir, readlink */
	POLICY_WRITE = 2,         /* open for writing, create, mkdir, unlink, rename, link, truncate */
	POLICY_METADATA = 4,      /* chmod, chown, utimens, xattrs */
	POLICY_ANY = 7,
};

struct policy;

/* Who asks: from the FUSE request and /proc (groups: supplementary gids). */
struct policy_who {
	uint32_t uid, gid;
	const uint32_t *groups;
	size_t ngroups;
	const char *exe;          /* executable path, NULL if unknown */
	int no_break_glass;       /* no `phifs unlock --break-glass` session is active:
				   * the break-glass group gets the ordinary rules */
};

/* How a decision came about (for the audit record). */
struct policy_match {
	unsigned rule;            /* 1-based index of the matching rule; 0: the default */
	int learn;                /* learn mode: a deny reported, not enforced */
	int break_glass;          /* who is in the break-glass group: permitted, flagged */
};

/* Parses the text (docs/FORMAT.md §11). 0, -EINVAL with "line N: reason" in
 * err (no content of the line: paths in a policy are PHI), -ENOMEM. */
int policy_parse(const char *text, size_t len, struct policy **out, char *err, size_t errcap);
/* Looks user= and group= names up (getpwnam/getgrnam). A rule naming an
 * unknown user or group never matches; their count is returned (>= 0). */
int policy_resolve(struct policy *p);
void policy_free(struct policy *p);
size_t policy_rules(const struct policy *p);

/* First matching rule's effect, or the default. path: plaintext, relative to
 * the volume root with a leading '/'. In learn mode a deny comes back as
 * POLICY_AUDIT with m->learn set; a break-glass member's access, while a
 * break-glass session is active, as POLICY_AUDIT with m->break_glass set. */
enum policy_effect policy_eval(const struct policy *p, const struct policy_who *who,
			       const char *path, enum policy_action action, time_t now,
			       struct policy_match *m);
const char *policy_effect_name(enum policy_effect e);

/* Shared with `phifs-audit report`'s working hours: "mon-fri", "sat,sun" →
 * bit tm_wday; "07:00-19:00" → minutes after midnight (start may exceed end:
 * a window across midnight). 0 or -EINVAL. */
int policy_parse_days(const char *s, size_t len, unsigned *mask);
int policy_parse_hours(const char *s, size_t len, int *start_min, int *end_min);

#endif
