/*
 * s3_xml.c: reads the S3 XML responses the backend needs — ListObjectsV2
 * pages (Key, Size, IsTruncated, NextContinuationToken), the Object Lock
 * configuration and error codes — without an XML library.
 *
 * Deliberately minimal but safe: every search is bounded by the buffer length
 * (responses are not NUL-terminated), elements are found as "<Tag>text</Tag>"
 * (S3 puts no attributes on these, and text cannot hold '<'), text is
 * entity-decoded (the five named entities and numeric references, as UTF-8)
 * into fixed-size outputs, and anything else is -EPROTO. A hostile or broken
 * server can make a listing fail, never overrun memory. Fuzzed by
 * tests/fuzz/fuzz-s3list.c. Nothing here knows about repositories or HTTP.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "s3_xml.h"

/* First occurrence of needle (nlen) in [p, end), or NULL. */
static const char *find(const char *p, const char *end, const char *needle, size_t nlen)
{
	if (end < p || (size_t)(end - p) < nlen)
		return NULL;
	return memmem(p, (size_t)(end - p), needle, nlen);
}

/* The text of the first <tag>…</tag> in [p, end): *s, *e; *after past the end tag. */
static int element(const char *p, const char *end, const char *tag, const char **s,
		   const char **e, const char **after)
{
	char open[64], close[64];
	size_t tl = strlen(tag);
	const char *a, *b;

	if (tl + 4 > sizeof(open))
		return -EINVAL;
	open[0] = '<';
	memcpy(open + 1, tag, tl);
	open[tl + 1] = '>';
	close[0] = '<';
	close[1] = '/';
	memcpy(close + 2, tag, tl);
	close[tl + 2] = '>';
	a = find(p, end, open, tl + 2);
	if (!a)
		return -ENOENT;
	a += tl + 2;
	b = find(a, end, close, tl + 3);
	if (!b)
		return -EPROTO;
	*s = a;
	*e = b;
	if (after)
		*after = b + tl + 3;
	return 0;
}

/* Appends code point cp as UTF-8; -EPROTO for what XML forbids. */
static int put_utf8(unsigned long cp, char *out, size_t cap, size_t *j)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x20 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -EPROTO;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xF0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	if (*j + n >= cap)
		return -EPROTO;
	memcpy(out + *j, b, n);
	*j += n;
	return 0;
}

/* "&#123;" / "&#x1F;" at s (before end): the code point and its length. */
static int char_ref(const char *s, const char *end, unsigned long *cp, size_t *used)
{
	const char *p = s + 2;
	int base = 10;
	unsigned long v = 0;
	int digits = 0;

	if (p < end && *p == 'x') {
		base = 16;
		p++;
	}
	for (; p < end && *p != ';'; p++, digits++) {
		int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			return -EPROTO;
		if (digits >= 8)
			return -EPROTO;
		v = v * (unsigned long)base + (unsigned long)d;
	}
	if (p >= end || digits == 0)
		return -EPROTO;
	*cp = v;
	*used = (size_t)(p + 1 - s);
	return 0;
}

static int decode_raw(const char *s, const char *end, char *out, size_t cap)
{
	static const struct { const char *ent; char c; } named[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' },
	};
	size_t j = 0;

	if (cap == 0)
		return -EPROTO;
	while (s < end) {
		size_t k, used = 0;
		unsigned long cp;

		if (*s != '&') {
			if (j + 1 >= cap || (unsigned char)*s < 0x20)
				return -EPROTO;
			out[j++] = *s++;
			continue;
		}
		for (k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
			size_t el = strlen(named[k].ent);

			if ((size_t)(end - s) >= el && !memcmp(s, named[k].ent, el)) {
				if (j + 1 >= cap)
					return -EPROTO;
				out[j++] = named[k].c;
				used = el;
				break;
			}
		}
		if (!used) {
			if ((size_t)(end - s) < 3 || s[1] != '#' || char_ref(s, end, &cp, &used) ||
			    put_utf8(cp, out, cap, &j))
				return -EPROTO;
		}
		s += used;
	}
	out[j] = '\0';
	return 0;
}

/* Text of an element into out, NUL-terminated; on any failure out is ""
 * (never a partial, unterminated string: found by fuzz-s3list). */
static int decode(const char *s, const char *end, char *out, size_t cap)
{
	int ret = decode_raw(s, end, out, cap);

	if (ret && cap)
		out[0] = '\0';
	return ret;
}

int s3_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t cap)
{
	const char *s, *e;
	int ret = element(xml, xml + len, tag, &s, &e, NULL);

	if (ret)
		return ret;
	return decode(s, e, out, cap);
}

static int parse_size(const char *s, const char *e, uint64_t *out)
{
	uint64_t v = 0;

	if (s == e || e - s > 20)
		return -EPROTO;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -EPROTO;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* One <Contents>…</Contents> block. */
static int contents(const char *s, const char *e,
		    int (*cb)(void *, const char *, uint64_t), void *arg)
{
	char key[1025];
	const char *ks, *ke, *zs, *ze;
	uint64_t size;

	if (element(s, e, "Key", &ks, &ke, NULL) || element(s, e, "Size", &zs, &ze, NULL) ||
	    decode(ks, ke, key, sizeof(key)) || parse_size(zs, ze, &size) || key[0] == '\0')
		return -EPROTO;
	return cb(arg, key, size);
}

int s3_xml_list_page(const char *xml, size_t len,
		     int (*cb)(void *arg, const char *key, uint64_t size), void *arg,
		     struct s3_list_page *pg)
{
	const char *p = xml, *end = xml + len, *s, *e;
	char flag[8];
	int ret;

	pg->truncated = 0;
	pg->next_token[0] = '\0';
	if (!find(xml, end, "<ListBucketResult", 17))
		return -EPROTO;
	ret = s3_xml_text(xml, len, "IsTruncated", flag, sizeof(flag));
	if (ret == 0)
		pg->truncated = !strcmp(flag, "true");
	else if (ret != -ENOENT)
		return -EPROTO;
	if (pg->truncated) {
		ret = s3_xml_text(xml, len, "NextContinuationToken", pg->next_token,
				  sizeof(pg->next_token));
		if (ret || pg->next_token[0] == '\0')
			return -EPROTO;
	}
	while ((ret = element(p, end, "Contents", &s, &e, &p)) == 0) {
		ret = contents(s, e, cb, arg);
		if (ret)
			return ret;
	}
	return ret == -ENOENT ? 0 : ret;
}
