/*
 * repo_policy.c: the retention policy of `forget` (docs/BACKUP_FORMAT.md
 * §10.3): keep what is within a duration, the newest snapshot of each of
 * the last N days, ISO weeks, months and years (UTC) that have one, and
 * whatever the retention floor (§10.2) protects. Pure: no repository I/O.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "repo_policy.h"

enum { DAY, WEEK, MONTH, YEAR, NKINDS };

static int64_t period(int kind, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[16];

	gmtime_r(&tt, &tm);
	switch (kind) {
	case DAY:
		return (int64_t)(tm.tm_year + 1900) * 1000 + tm.tm_yday;
	case WEEK:
		strftime(buf, sizeof(buf), "%G%V", &tm);   /* ISO 8601 week-year and week */
		return strtoll(buf, NULL, 10);
	case MONTH:
		return (int64_t)(tm.tm_year + 1900) * 12 + tm.tm_mon;
	default:
		return tm.tm_year + 1900;
	}
}

void repo_policy_apply(const struct repo_policy *p, const int64_t *times, size_t n, int64_t now,
		       unsigned *keep)
{
	int left[NKINDS] = { p->daily, p->weekly, p->monthly, p->yearly };
	static const unsigned reason[NKINDS] = { REPO_KEEP_DAILY, REPO_KEEP_WEEKLY,
						 REPO_KEEP_MONTHLY, REPO_KEEP_YEARLY };
	int64_t last[NKINDS];
	int have[NKINDS] = { 0 };

	for (size_t i = n; i-- > 0;) {            /* newest first */
		keep[i] = 0;
		if (p->within && now - times[i] <= p->within)
			keep[i] |= REPO_KEEP_WITHIN;
		if (p->floor && now - times[i] < p->floor)
			keep[i] |= REPO_KEEP_FLOOR;
		for (int k = 0; k < NKINDS; k++) {
			int64_t per = period(k, times[i]);

			if (left[k] <= 0 || (have[k] && last[k] == per))
				continue;
			keep[i] |= reason[k];
			last[k] = per;
			have[k] = 1;
			left[k]--;
		}
	}
}

void repo_policy_reasons(unsigned keep, char *out, size_t cap)
{
	static const char *const names[] = { "within", "daily", "weekly", "monthly", "yearly",
					     "retention-floor" };
	size_t len = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (keep & (1u << i) && len < cap)
			len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "", names[i]);
}
