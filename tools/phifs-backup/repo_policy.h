/* repo_policy.h: which snapshots a retention policy keeps (repo_policy.c,
 * docs/BACKUP_FORMAT.md §10.2, §10.3). */
#ifndef PHIFS_BACKUP_REPO_POLICY_H
#define PHIFS_BACKUP_REPO_POLICY_H

#include <stddef.h>
#include <stdint.h>

#define REPO_KEEP_WITHIN 0x01u
#define REPO_KEEP_DAILY 0x02u
#define REPO_KEEP_WEEKLY 0x04u
#define REPO_KEEP_MONTHLY 0x08u
#define REPO_KEEP_YEARLY 0x10u
#define REPO_KEEP_FLOOR 0x20u      /* younger than the repository's retention floor */

struct repo_policy {
	int daily, weekly, monthly, yearly;   /* periods to keep; 0 = none */
	int64_t within;                       /* seconds; 0 = none */
	int64_t floor;                        /* seconds: config.min_retention */
};

/* times: Unix seconds, oldest first. keep[i] gets the REPO_KEEP_* reasons
 * snapshot i is kept for (0 = remove). */
void repo_policy_apply(const struct repo_policy *p, const int64_t *times, size_t n, int64_t now,
		       unsigned *keep);
/* "within,daily" etc. for messages. */
void repo_policy_reasons(unsigned keep, char *out, size_t cap);

#endif
