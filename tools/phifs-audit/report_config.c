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
#include <strings.h>
#include <time.h>
#include <unistd.h>

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

static int parse_hhmm(const char *s, int *min)
{
	unsigned h, m;
	int n = 0;

	if (sscanf(s, "%2u:%2u%n", &h, &m, &n) != 2 || h > 24 || m > 59 || (h == 24 && m))
		return -EINVAL;
	*min = (int)(h * 60 + m);
	return n;
}

/* "07:00-19:00" */
static int parse_hours(const char *v, struct report_cfg *c)
{
	int n = parse_hhmm(v, &c->work_start_min);

	if (n <= 0 || v[n] != '-')
		return -EINVAL;
	v += n + 1;
	n = parse_hhmm(v, &c->work_end_min);
	if (n <= 0 || v[n] || c->work_end_min <= c->work_start_min)
		return -EINVAL;
	return 0;
}

static int day_index(const char *s, size_t len)
{
	static const char *const days[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

	for (int i = 0; i < 7; i++)
		if (len == 3 && !strncasecmp(s, days[i], 3))
			return i;
	return -1;
}

/* "mon-fri", "mon,wed,fri", "sat-sun" or a mix, separated by commas. */
static int parse_days(const char *v, unsigned *mask)
{
	*mask = 0;
	while (*v) {
		size_t len = strcspn(v, ",-");
		int a = day_index(v, len), b = a;

		if (a < 0)
			return -EINVAL;
		v += len;
		if (*v == '-') {
			len = strcspn(++v, ",");
			b = day_index(v, len);
			if (b < 0)
				return -EINVAL;
			v += len;
		}
		for (int d = a;; d = (d + 1) % 7) {
			*mask |= 1u << d;
			if (d == b)
				break;
		}
		if (*v == ',')
			v++;
	}
	return *mask ? 0 : -EINVAL;
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
		return parse_days(v, &c->work_days);
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
