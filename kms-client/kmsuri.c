/*
 * kmsuri.c: `name=value` attribute lists of provider URIs (kmsuri.h). Pure
 * string work, no allocation; fuzzed by tests/fuzz/fuzz-kmsuri.c.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "kmsuri.h"
#include "provider.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes v[0..n) into out (cap bytes with the NUL). */
static int uri_decode(const char *v, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)v[i];

		if (c == '%') {
			if (n - i < 3 || hexval(v[i + 1]) < 0 || hexval(v[i + 2]) < 0)
				return -EINVAL;
			c = hexval(v[i + 1]) << 4 | hexval(v[i + 2]);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return -EINVAL;
		if (o + 1 >= cap)
			return -ERANGE;
		out[o++] = (char)c;
	}
	if (!cap)
		return -ERANGE;
	out[o] = '\0';
	return 0;
}

/* The next pair of s[*pos..n): name [*np, *np + *nl), value [*vp, *vp + *vl).
 * 1 found, 0 at the end, -EINVAL without '=' or with an empty name. */
static int next_pair(const char *s, size_t n, char sep, size_t *pos, size_t *np, size_t *nl,
		     size_t *vp, size_t *vl)
{
	size_t i = *pos, end, eq;

	while (i < n && s[i] == sep)
		i++;
	if (i >= n)
		return 0;
	end = i;
	while (end < n && s[end] != sep)
		end++;
	eq = i;
	while (eq < end && s[eq] != '=')
		eq++;
	if (eq == end || eq == i)
		return -EINVAL;
	*np = i;
	*nl = eq - i;
	*vp = eq + 1;
	*vl = end - eq - 1;
	*pos = end;
	return 1;
}

int kms_uri_attr(const char *s, size_t n, char sep, const char *name, char *out, size_t cap)
{
	size_t pos = 0, np, nl, vp, vl, want = strlen(name);
	int found = 0, ret;

	while ((ret = next_pair(s, n, sep, &pos, &np, &nl, &vp, &vl)) == 1) {
		if (nl != want || memcmp(s + np, name, nl) != 0)
			continue;
		if (found)
			return -EINVAL;     /* a second value would be a silent override */
		ret = uri_decode(s + vp, vl, out, cap);
		if (ret)
			return ret;
		found = 1;
	}
	if (ret < 0)
		return ret;
	return found ? 0 : -ENOENT;
}

int kms_uri_known(const char *s, size_t n, char sep, const char *const *known,
		  const char *provider)
{
	size_t pos = 0, np, nl, vp, vl;
	int ret;

	while ((ret = next_pair(s, n, sep, &pos, &np, &nl, &vp, &vl)) == 1) {
		int ok = 0;

		for (size_t k = 0; known[k] && !ok; k++)
			ok = strlen(known[k]) == nl && memcmp(known[k], s + np, nl) == 0;
		if (ok)
			continue;
		for (size_t k = 0; k < nl; k++)
			if ((unsigned char)s[np + k] < 0x21 || (unsigned char)s[np + k] > 0x7e)
				nl = 0;     /* never echo control bytes */
		kms_warn("%s: unknown URI attribute '%.*s'", provider, (int)(nl > 40 ? 40 : nl),
			 s + np);
		return -EINVAL;
	}
	if (ret < 0)
		kms_warn("%s: malformed URI attribute list (expected name=value pairs)", provider);
	return ret;
}
