/*
 * report_config.c: the defaults of the report detectors and the key=value
 * file that overrides them (docs/OPERATIONS.md "Reviewing the audit log",
 * table of keys). Unknown keys are an error: a typo must not silently leave a
 * detector at its default.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy.h"
#include "report_rules.h"

void report_cfg_defaults(struct report_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->work_start_min = 7 * 60;
	c->work_end_min = 19 * 60;
	c->work_days = 0x3e;            /* Monday to Friday */
	snprintf(c->timezone, sizeof(c->timezone), "local");
	c->bulk_files = 100;
	c->bulk_minutes = 10;
	c->bulk_bytes = 1ULL << 30;
	c->spike_factor = 3.0;
	c->spike_min_files = 20;
	c->spike_min_days = 3;
	c->outlier_z = 3.5;
	c->outlier_min_users = 5;
	c->outlier_min_files = 20;
	c->denied_count = 5;
	c->denied_minutes = 10;
	c->evidence_max = 200;
}

static int parse_uint(const char *v, unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(v, &end, 10);
	return (errno || end == v || *end || *v == '-' || *out > max) ? -EINVAL : 0;
}

/* "07:00-19:00", the policy's syntax (fs/policy.c), not across midnight. */
static int parse_hours(const char *v, struct report_cfg *c)
{
	if (policy_parse_hours(v, strlen(v), &c->work_start_min, &c->work_end_min) ||
	    c->work_end_min <= c->work_start_min)
		return -EINVAL;
	return 0;
}

static int parse_tz(const char *v, struct report_cfg *c)
{
	char path[128];

	if (strlen(v) >= sizeof(c->timezone) || strstr(v, ".."))
		return -EINVAL;
	if (strcmp(v, "local") && strcmp(v, "UTC")) {
		snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", v);
		if (access(path, R_OK) != 0)
			return -EINVAL;
	}
	snprintf(c->timezone, sizeof(c->timezone), "%s", v);
	return 0;
}

static int set_key(struct report_cfg *c, const char *k, const char *v)
{
	static const struct {
		const char *key;
		size_t off;
		unsigned long long max;
	} uints[] = {
		{ "bulk_files", offsetof(struct report_cfg, bulk_files), 100000000 },
		{ "bulk_minutes", offsetof(struct report_cfg, bulk_minutes), 525600 },
		{ "spike_min_files", offsetof(struct report_cfg, spike_min_files), 100000000 },
		{ "spike_min_days", offsetof(struct report_cfg, spike_min_days), 3650 },
		{ "outlier_min_users", offsetof(struct report_cfg, outlier_min_users), 1000000 },
		{ "outlier_min_files", offsetof(struct report_cfg, outlier_min_files), 100000000 },
		{ "denied_count", offsetof(struct report_cfg, denied_count), 100000000 },
		{ "denied_minutes", offsetof(struct report_cfg, denied_minutes), 525600 },
		{ "evidence_max", offsetof(struct report_cfg, evidence_max), 1000000 },
	};
	unsigned long long u;
	char *end;

	for (size_t i = 0; i < sizeof(uints) / sizeof(uints[0]); i++) {
		if (strcmp(k, uints[i].key))
			continue;
		if (parse_uint(v, uints[i].max, &u) || u == 0)
			return -EINVAL;
		*(unsigned *)((char *)c + uints[i].off) = (unsigned)u;
		return 0;
	}
	if (!strcmp(k, "bulk_bytes"))
		return parse_uint(v, UINT64_MAX, &u) ? -EINVAL : (c->bulk_bytes = u, 0);
	if (!strcmp(k, "spike_factor") || !strcmp(k, "outlier_z")) {
		double d = strtod(v, &end);

		if (end == v || *end || !(d > 0 && d < 1e9))
			return -EINVAL;
		*(k[0] == 's' ? &c->spike_factor : &c->outlier_z) = d;
		return 0;
	}
	if (!strcmp(k, "work_hours"))
		return parse_hours(v, c);
	if (!strcmp(k, "work_days"))
		return policy_parse_days(v, strlen(v), &c->work_days);
	if (!strcmp(k, "timezone"))
		return parse_tz(v, c);
	return -ENOENT;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int report_cfg_load(const char *path, struct report_cfg *c, char *err, size_t errcap)
{
	FILE *f = fopen(path, "re");
	char line[512];
	unsigned lineno = 0;
	int ret = 0;

	if (!f) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		char *k = trim(line), *eq, *v;

		lineno++;
		if (!*k || *k == '#')
			continue;
		eq = strchr(k, '=');
		if (!eq) {
			snprintf(err, errcap, "%s:%u: expected key=value", path, lineno);
			ret = -EINVAL;
			goto out;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		ret = set_key(c, k, v);
		if (ret) {
			snprintf(err, errcap, "%s:%u: %s '%s'", path, lineno,
				 ret == -ENOENT ? "unknown key" : "bad value for", k);
			ret = -EINVAL;
			goto out;
		}
	}
out:
	fclose(f);
	return ret;
}

int report_cfg_apply_tz(const struct report_cfg *c)
{
	if (strcmp(c->timezone, "local") && setenv("TZ", c->timezone, 1) != 0)
		return -errno;
	tzset();
	return 0;
}
