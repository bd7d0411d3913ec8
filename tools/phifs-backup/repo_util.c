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

#include "../phifs/common.h"
#include "cipher.h"
#include "repo_util.h"

void repo_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int repo_unhex(const char *in, uint8_t *out, size_t len)
{
	if (strlen(in) != 2 * len)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		int hi = nibble(in[2 * i]), lo = nibble(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
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
	char buf[32];
	size_t n = strlen(s);
	int64_t unit = 0, v;

	if (!strcmp(s, "0")) {
		*out = 0;
		return 0;
	}
	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	if (s[n - 1] == 'y')
		unit = 365 * 86400;
	else if (s[n - 1] == 'w')
		unit = 7 * 86400;
	if (!unit)
		return parse_duration(s, out);
	memcpy(buf, s, n - 1);
	buf[n - 1] = '\0';
	if (parse_duration(buf, &v) || strchr("dhms", buf[n - 2]) || v > INT64_MAX / unit)
		return -EINVAL;
	*out = v * unit;
	return 0;
}
