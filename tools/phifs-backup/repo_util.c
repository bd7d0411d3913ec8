/*
 * repo_util.c: hex, object names and ids, the clock and durations for
 * phifs-backup (docs/BACKUP_FORMAT.md §2, §9.2, §10.2). No I/O, no keys.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "cipher.h"
#include "repo_util.h"

void repo_hex(const uint8_t *in, size_t len, char *out)
{
	sodium_bin2hex(out, 2 * len + 1, in, len);
}

/* Exactly 2·len hex digits (either case), nothing else. */
int repo_unhex(const char *in, uint8_t *out, size_t len)
{
	size_t got = 0;
	const char *end = NULL;

	if (strlen(in) != 2 * len ||
	    sodium_hex2bin(out, len, in, 2 * len, NULL, &got, &end) != 0 || got != len ||
	    end != in + 2 * len)
		return -EINVAL;
	return 0;
}

void repo_obj_name(const char *prefix, const uint8_t id[32], char *out, size_t cap)
{
	char hex[REPO_HEX_ID];

	repo_hex(id, 32, hex);
	if (!strcmp(prefix, "data"))
		snprintf(out, cap, "data/%.2s/%s", hex, hex);
	else
		snprintf(out, cap, "%s/%s", prefix, hex);
}

int repo_obj_id(const void *buf, size_t len, uint8_t id[32])
{
	return cipher_sha256(buf, len, id);
}

int64_t repo_now(void)
{
	const char *s = getenv("PHIFS_BACKUP_NOW");
	char *end;
	long long v;

	if (s && *s) {
		v = strtoll(s, &end, 10);
		if (!*end && v > 0)
			return v;
	}
	return (int64_t)time(NULL);
}

int repo_parse_duration(const char *s, int64_t *out)
{
	static const struct { char unit; int64_t seconds; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 7 * 86400 },
		{ 'y', 365 * 86400 },
	};
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0 || !(s[0] >= '0' && s[0] <= '9'))
		return -EINVAL;
	if (!*end) {
		*out = v;                    /* plain seconds; "0" = none */
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (*end != units[i].unit || end[1])
			continue;
		if (v > INT64_MAX / units[i].seconds)
			return -EINVAL;
		*out = v * units[i].seconds;
		return 0;
	}
	return -EINVAL;
}
