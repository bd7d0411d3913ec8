/*
 * policy.c: the access policy's text format, its name resolution and its
 * evaluation (docs/FORMAT.md §11). The parser is strict and self-contained —
 * it reads only the bytes given, so the fuzz harness covers all of it — and
 * error messages name a line number and a reason, never the line: the paths
 * in a policy are plaintext names, which are PHI.
 *
 * Not here: where the policy is stored and how it is authenticated
 * (policy_store.c), and calling policy_eval from the filesystem (the op
 * context's check hook, fs/opctx.c).
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "policy.h"

#define NAME_MAX_LEN 64

struct policy_rule {
	enum policy_effect effect;
	unsigned actions;                /* POLICY_READ|... */
	unsigned line;                   /* in the text, for `phifs policy check` */
	int has_uid, has_gid;
	uint32_t uid, gid;               /* uid=/gid=, or user=/group= once resolved */
	char user[NAME_MAX_LEN + 1];     /* user= name, "" if none */
	char group[NAME_MAX_LEN + 1];    /* group= name, "" if none */
	int unresolved;                  /* a name not found: the rule never matches */
	char *exe;                       /* exact executable path, NULL = any */
	char *path;                      /* plaintext prefix, "/x/y" or "/", NULL = any */
	size_t path_len;
	unsigned days;                   /* bit tm_wday; 0 = every day */
	int has_hours, start_min, end_min;
};

struct policy {
	struct policy_rule *r;
	size_t n;
	enum policy_effect dflt;
	int learn;
	int has_bg;                      /* a break-glass directive */
	int bg_known;                    /* bg_gid holds its group (gid= or resolved) */
	uint32_t bg_gid;
	char bg_group[NAME_MAX_LEN + 1];
};

const char *policy_effect_name(enum policy_effect e)
{
	return e == POLICY_DENY ? "deny" : e == POLICY_AUDIT ? "audit" : "permit";
}

size_t policy_rules(const struct policy *p)
{
	return p ? p->n : 0;
}

/* ---- lexical pieces ----------------------------------------------------- */

static int word_is(const char *w, size_t len, const char *lit)
{
	return len == strlen(lit) && !memcmp(w, lit, len);
}

static int parse_effect(const char *w, size_t len, enum policy_effect *e)
{
	if (word_is(w, len, "permit"))
		*e = POLICY_PERMIT;
	else if (word_is(w, len, "audit"))
		*e = POLICY_AUDIT;
	else if (word_is(w, len, "deny"))
		*e = POLICY_DENY;
	else
		return -EINVAL;
	return 0;
}

/* "read", "write,metadata", "any". */
static int parse_actions(const char *w, size_t len, unsigned *out)
{
	*out = 0;
	while (len) {
		size_t n = 0;

		while (n < len && w[n] != ',')
			n++;
		if (word_is(w, n, "read"))
			*out |= POLICY_READ;
		else if (word_is(w, n, "write"))
			*out |= POLICY_WRITE;
		else if (word_is(w, n, "metadata"))
			*out |= POLICY_METADATA;
		else if (word_is(w, n, "any"))
			*out |= POLICY_ANY;
		else
			return -EINVAL;
		w += n;
		len -= n;
		if (len) {          /* the comma */
			w++;
			if (--len == 0)
				return -EINVAL;
		}
	}
	return *out ? 0 : -EINVAL;
}

static int parse_u32(const char *s, size_t len, uint32_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX - 1)          /* (uid_t)-1 is "no one" */
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* Portable user and group names (POSIX 3.437 plus the usual '$' of machine accounts). */
static int parse_name(const char *s, size_t len, char out[NAME_MAX_LEN + 1])
{
	if (len == 0 || len > NAME_MAX_LEN || s[0] == '-')
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || (c == '$' && i == len - 1)))
			return -EINVAL;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* An absolute path, %XX-decoded (a space is %20): no empty, "." or ".."
 * component, no NUL; a trailing '/' dropped. Heap string in *out. */
static int parse_path(const char *s, size_t len, char **out, size_t *out_len)
{
	char *p = malloc(len + 1);
	size_t n = 0;

	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%') {
			p[n++] = s[i];
			continue;
		}
		if (i + 2 >= len || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0)
			goto bad;
		p[n++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
		i += 2;
	}
	if (n > 1 && p[n - 1] == '/')
		n--;
	p[n] = '\0';
	if (n == 0 || p[0] != '/' || memchr(p, '\0', n))
		goto bad;
	for (size_t c = 1; n > 1 && c <= n;) {
		size_t e = c;        /* component [c, e) */

		while (e < n && p[e] != '/')
			e++;
		if (e == c || (e - c == 1 && p[c] == '.') ||
		    (e - c == 2 && p[c] == '.' && p[c + 1] == '.'))
			goto bad;
		c = e + 1;
	}
	*out = p;
	*out_len = n;
	return 0;
bad:
	free(p);
	return -EINVAL;
}

static int day_index(const char *s, size_t len)
{
	static const char *const days[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

	for (int i = 0; i < 7; i++)
		if (len == 3 && !strncasecmp(s, days[i], 3))
			return i;
	return -1;
}

int policy_parse_days(const char *s, size_t len, unsigned *mask)
{
	const char *end = s + len;

	*mask = 0;
	while (s < end) {
		const char *t = s;
		int a, b;

		while (t < end && *t != ',' && *t != '-')
			t++;
		a = b = day_index(s, (size_t)(t - s));
		if (a < 0)
			return -EINVAL;
		s = t;
		if (s < end && *s == '-') {
			for (t = ++s; t < end && *t != ','; t++)
				;
			b = day_index(s, (size_t)(t - s));
			if (b < 0)
				return -EINVAL;
			s = t;
		}
		for (int d = a;; d = (d + 1) % 7) {
			*mask |= 1u << d;
			if (d == b)
				break;
		}
		if (s < end && ++s == end)    /* a trailing comma */
			return -EINVAL;
	}
	return *mask ? 0 : -EINVAL;
}

/* "HH:MM" exactly, 00:00..24:00. */
static int parse_hhmm(const char *s, int *min)
{
	int h, m;

	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[2] != ':' ||
	    s[3] < '0' || s[3] > '5' || s[4] < '0' || s[4] > '9')
		return -EINVAL;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 24 || (h == 24 && m))
		return -EINVAL;
	*min = h * 60 + m;
	return 0;
}

int policy_parse_hours(const char *s, size_t len, int *start_min, int *end_min)
{
	if (len != 11 || s[5] != '-' || parse_hhmm(s, start_min) || parse_hhmm(s + 6, end_min) ||
	    *start_min == *end_min)
		return -EINVAL;
	return 0;
}

/* ---- lines -------------------------------------------------------------- */

/* The next whitespace-separated word of [*p, end): start in *w, length returned. */
static size_t next_word(const char **p, const char *end, const char **w)
{
	const char *s = *p;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	*w = s;
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	*p = s;
	return (size_t)(s - *w);
}

/* One key=value of a rule; a key given twice is an error. */
static int rule_key(struct policy_rule *r, const char *w, size_t len, unsigned *seen)
{
	static const char *const keys[] = { "uid", "user", "gid", "group", "exe", "path",
					    "days", "hours" };
	const char *eq = memchr(w, '=', len), *v;
	size_t klen, vlen, k;

	if (!eq)
		return -EINVAL;
	klen = (size_t)(eq - w);
	v = eq + 1;
	vlen = len - klen - 1;
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (word_is(w, klen, keys[k]))
			break;
	if (k == sizeof(keys) / sizeof(keys[0]) || (*seen & (1u << k)))
		return -EINVAL;
	*seen |= 1u << k;
	switch (k) {
	case 0:
		r->has_uid = 1;
		return parse_u32(v, vlen, &r->uid);
	case 1:
		return parse_name(v, vlen, r->user);
	case 2:
		r->has_gid = 1;
		return parse_u32(v, vlen, &r->gid);
	case 3:
		return parse_name(v, vlen, r->group);
	case 4: {
		size_t n;

		return parse_path(v, vlen, &r->exe, &n);
	}
	case 5:
		return parse_path(v, vlen, &r->path, &r->path_len);
	case 6:
		return policy_parse_days(v, vlen, &r->days);
	default:
		r->has_hours = 1;
		return policy_parse_hours(v, vlen, &r->start_min, &r->end_min);
	}
}

static void rule_clear(struct policy_rule *r)
{
	free(r->exe);
	free(r->path);
	memset(r, 0, sizeof(*r));
}

static int parse_rule(struct policy *p, enum policy_effect e, const char *s, const char *end,
		      unsigned line)
{
	struct policy_rule r = { .effect = e, .line = line };
	unsigned seen = 0;
	const char *w;
	size_t len = next_word(&s, end, &w);
	int ret;

	if (p->n == POLICY_MAX_RULES)
		return -E2BIG;
	ret = parse_actions(w, len, &r.actions);
	while (!ret && (len = next_word(&s, end, &w)) > 0)
		ret = rule_key(&r, w, len, &seen);
	if ((seen & 3) == 3 || (seen & 12) == 12)     /* uid with user, gid with group */
		ret = -EINVAL;
	if (ret) {
		rule_clear(&r);
		return ret;
	}
	p->r[p->n++] = r;
	return 0;
}

static int parse_directive(struct policy *p, const char *w, size_t len, const char *s,
			   const char *end, unsigned *seen)
{
	const char *v;
	size_t vlen = next_word(&s, end, &v);
	const char *rest;

	if (next_word(&s, end, &rest) != 0)
		return -EINVAL;
	if (word_is(w, len, "default") && !(*seen & 1)) {
		*seen |= 1;
		return parse_effect(v, vlen, &p->dflt);
	}
	if (word_is(w, len, "mode") && !(*seen & 2)) {
		*seen |= 2;
		if (word_is(v, vlen, "learn"))
			p->learn = 1;
		else if (!word_is(v, vlen, "enforce"))
			return -EINVAL;
		return 0;
	}
	if (word_is(w, len, "break-glass") && !(*seen & 4)) {
		*seen |= 4;
		p->has_bg = 1;
		if (vlen > 4 && !memcmp(v, "gid=", 4)) {
			p->bg_known = 1;
			return parse_u32(v + 4, vlen - 4, &p->bg_gid);
		}
		if (vlen > 6 && !memcmp(v, "group=", 6))
			return parse_name(v + 6, vlen - 6, p->bg_group);
		return -EINVAL;
	}
	return -EINVAL;
}

static int parse_line(struct policy *p, const char *s, const char *end, unsigned line,
		      unsigned *seen)
{
	enum policy_effect e;
	const char *w;
	size_t len = next_word(&s, end, &w);

	if (len == 0 || w[0] == '#')
		return 0;
	if (parse_effect(w, len, &e) == 0)
		return parse_rule(p, e, s, end, line);
	return parse_directive(p, w, len, s, end, seen);
}

int policy_parse(const char *text, size_t len, struct policy **out, char *err, size_t errcap)
{
	struct policy *p = calloc(1, sizeof(*p));
	const char *s = text, *end = text + len;
	unsigned line = 0, seen = 0;
	int ret = 0;

	*out = NULL;
	if (err && errcap)
		err[0] = '\0';
	if (!p || !(p->r = calloc(POLICY_MAX_RULES, sizeof(*p->r)))) {
		ret = -ENOMEM;
		goto out;
	}
	p->dflt = POLICY_AUDIT;
	while (s < end && !ret) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;

		line++;
		if (le - s >= POLICY_MAX_LINE || memchr(s, '\0', (size_t)(le - s)) ||
		    memchr(s, '\r', (size_t)(le - s)))
			ret = -EINVAL;
		else
			ret = parse_line(p, s, le, line, &seen);
		s = nl ? nl + 1 : end;
	}
	if (ret && err && errcap)
		snprintf(err, errcap, "line %u: %s", line,
			 ret == -E2BIG ? "too many rules" : "syntax error (see FORMAT.md §11)");
	if (ret == -E2BIG)
		ret = -EINVAL;
out:
	if (ret) {
		policy_free(p);
		return ret;
	}
	*out = p;
	return 0;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; p->r && i < p->n; i++)
		rule_clear(&p->r[i]);
	free(p->r);
	free(p);
}

/* ---- names -------------------------------------------------------------- */

static int lookup_user(const char *name, uint32_t *uid)
{
	char buf[4096];
	struct passwd pw, *res = NULL;

	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) || !res)
		return -ENOENT;
	*uid = (uint32_t)res->pw_uid;
	return 0;
}

static int lookup_group(const char *name, uint32_t *gid)
{
	char buf[8192];
	struct group gr, *res = NULL;

	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) || !res)
		return -ENOENT;
	*gid = (uint32_t)res->gr_gid;
	return 0;
}

int policy_resolve(struct policy *p)
{
	int missing = 0;

	for (size_t i = 0; i < p->n; i++) {
		struct policy_rule *r = &p->r[i];

		r->unresolved = 0;
		if (r->user[0] && lookup_user(r->user, &r->uid) == 0)
			r->has_uid = 1;
		else if (r->user[0])
			r->unresolved = 1;
		if (r->group[0] && lookup_group(r->group, &r->gid) == 0)
			r->has_gid = 1;
		else if (r->group[0])
			r->unresolved = 1;
		missing += r->unresolved;
	}
	if (p->bg_group[0]) {
		p->bg_known = lookup_group(p->bg_group, &p->bg_gid) == 0;
		missing += !p->bg_known;
	}
	return missing;
}

/* ---- evaluation --------------------------------------------------------- */

static int in_group(const struct policy_who *who, uint32_t gid)
{
	if (who->gid == gid)
		return 1;
	for (size_t i = 0; i < who->ngroups; i++)
		if (who->groups[i] == gid)
			return 1;
	return 0;
}

static int path_under(const char *path, const char *prefix, size_t plen)
{
	if (plen == 1)                   /* "/" */
		return 1;
	return !strncmp(path, prefix, plen) && (path[plen] == '\0' || path[plen] == '/');
}

static int time_in(const struct policy_rule *r, time_t now)
{
	struct tm tm;
	int min;

	if (!r->days && !r->has_hours)
		return 1;
	if (!localtime_r(&now, &tm))
		return 0;
	if (r->days && !(r->days & (1u << tm.tm_wday)))
		return 0;
	if (!r->has_hours)
		return 1;
	min = tm.tm_hour * 60 + tm.tm_min;
	if (r->start_min < r->end_min)
		return min >= r->start_min && min < r->end_min;
	return min >= r->start_min || min < r->end_min;    /* across midnight */
}

/* A rule whose user or group could not be resolved never matches: a typo in
 * a deny rule must be visible (`phifs policy check`), and guessing an id
 * would be worse. A name that was resolved has has_uid/has_gid set. */
static int rule_matches(const struct policy_rule *r, const struct policy_who *who,
			const char *path, enum policy_action action, time_t now)
{
	if (r->unresolved || (r->user[0] && !r->has_uid) || (r->group[0] && !r->has_gid))
		return 0;
	if (!(r->actions & (unsigned)action))
		return 0;
	if (r->has_uid && who->uid != r->uid)
		return 0;
	if (r->has_gid && !in_group(who, r->gid))
		return 0;
	if (r->exe && (!who->exe || strcmp(who->exe, r->exe)))
		return 0;
	if (r->path && !path_under(path, r->path, r->path_len))
		return 0;
	return time_in(r, now);
}

enum policy_effect policy_eval(const struct policy *p, const struct policy_who *who,
			       const char *path, enum policy_action action, time_t now,
			       struct policy_match *m)
{
	enum policy_effect e = p->dflt;

	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < p->n; i++) {
		if (rule_matches(&p->r[i], who, path, action, now)) {
			e = p->r[i].effect;
			m->rule = (unsigned)i + 1;
			break;
		}
	}
	if (p->bg_known && !who->no_break_glass && in_group(who, p->bg_gid)) {
		m->break_glass = 1;
		return POLICY_AUDIT;
	}
	if (e == POLICY_DENY && p->learn) {
		m->learn = 1;
		return POLICY_AUDIT;
	}
	return e;
}
