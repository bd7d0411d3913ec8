/*
 * report_rules.c: the detectors of `phifs-audit report`, one function each,
 * in the table at the bottom (docs/OPERATIONS.md "Reviewing the audit log"
 * documents every rule and its keys). A detector reads records and adds
 * findings; it never prints, and a finding carries counts, event names and
 * sequence numbers only — no path, no content.
 *
 * Per-user detectors work on an index of the window's records sorted by
 * (user, time), so each user's records are one contiguous run.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "report_load.h"
#include "report_rules.h"
#include "report_stats.h"

#define US_PER_MIN (60LL * 1000000)

struct ctx {
	const struct report_log *log;
	const struct report_cfg *cfg;
	struct report_findings *out;
	size_t lo, hi;                 /* the window: log->r[lo..hi) */
	const struct report_rec **by_user; /* window records sorted by (who, time) */
};

static const char *const access_events[] = {
	"open", "create", "io", "read", "write", "mkdir", "unlink", "rmdir", "rename", "link",
	"symlink", "setattr", "setxattr", "removexattr", NULL,
};

static int is_event(const struct report_rec *r, const char *const *list)
{
	for (; *list; list++)
		if (r->event && !strcmp(r->event, *list))
			return 1;
	return 0;
}

static int is_access(const struct report_rec *r)
{
	return is_event(r, access_events);
}

const char *report_severity_name(enum report_severity s)
{
	return s == SEV_CRITICAL ? "critical" : s == SEV_WARNING ? "warning" : "info";
}

/* A new finding, or NULL (out of memory). */
static struct report_finding *finding_new(struct ctx *c, const char *rule,
					  enum report_severity sev, const char *user)
{
	struct report_findings *fs = c->out;
	struct report_finding *f;

	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? 2 * fs->cap : 16;
		struct report_finding *nf = realloc(fs->f, cap * sizeof(*nf));

		if (!nf)
			return NULL;
		fs->f = nf;
		fs->cap = cap;
	}
	f = &fs->f[fs->n];
	memset(f, 0, sizeof(*f));
	f->seqs = calloc(c->cfg->evidence_max ? c->cfg->evidence_max : 1, sizeof(*f->seqs));
	if (!f->seqs)
		return NULL;
	fs->n++;
	f->rule = rule;
	f->severity = sev;
	snprintf(f->user, sizeof(f->user), "%s", user);
	return f;
}

static void finding_add(struct report_finding *f, const struct report_rec *r, unsigned max)
{
	if (f->count == 0 || r->t_us < f->first_us)
		f->first_us = r->t_us;
	if (f->count == 0 || r->t_us > f->last_us)
		f->last_us = r->t_us;
	f->count++;
	if (f->nseq < max)
		f->seqs[f->nseq++] = r->seq;
	else
		f->seqs_truncated = 1;
}

/* Day number (days since the epoch in the configured zone) and the local tm. */
static long local_day(int64_t t_us, struct tm *tm)
{
	time_t t = (time_t)(t_us / 1000000);
	struct tm tmp;

	if (!tm)
		tm = &tmp;
	localtime_r(&t, tm);
	return (long)((t + tm->tm_gmtoff) / 86400);
}

static int off_hours(const struct report_cfg *cfg, int64_t t_us)
{
	struct tm tm;
	int min;

	local_day(t_us, &tm);
	min = tm.tm_hour * 60 + tm.tm_min;
	return !(cfg->work_days & (1u << tm.tm_wday)) || min < cfg->work_start_min ||
	       min >= cfg->work_end_min;
}

/* [b, e): the run of by_user with the same who as by_user[b]. */
static size_t user_run_end(const struct ctx *c, size_t b)
{
	size_t e = b + 1, n = c->hi - c->lo;

	while (e < n && !strcmp(c->by_user[e]->who, c->by_user[b]->who))
		e++;
	return e;
}

/* Adds the records of one user's run matching `pick` to a finding created on first need. */
static int flag_run(struct ctx *c, size_t b, size_t e, const char *rule, enum report_severity sev,
		    int (*pick)(const struct ctx *, const struct report_rec *),
		    struct report_finding **fout)
{
	struct report_finding *f = NULL;

	for (size_t i = b; i < e; i++) {
		if (!pick(c, c->by_user[i]))
			continue;
		if (!f && !(f = finding_new(c, rule, sev, c->by_user[b]->who)))
			return -ENOMEM;
		finding_add(f, c->by_user[i], c->cfg->evidence_max);
	}
	if (fout)
		*fout = f;
	return 0;
}

static int pick_after_hours(const struct ctx *c, const struct report_rec *r)
{
	return is_access(r) && off_hours(c->cfg, r->t_us);
}

/* after-hours: any access outside work_hours or on a day not in work_days. */
static int rule_after_hours(struct ctx *c)
{
	for (size_t b = 0, e; b < c->hi - c->lo; b = e) {
		struct report_finding *f;
		int ret;

		e = user_run_end(c, b);
		ret = flag_run(c, b, e, "after-hours", SEV_WARNING, pick_after_hours, &f);
		if (ret)
			return ret;
		if (f)
			snprintf(f->detail, sizeof(f->detail), "%llu accesses outside working hours",
				 (unsigned long long)f->count);
	}
	return 0;
}

/* The bytes of an "io" record, or of the "io" summary an open or create
 * record carries (docs/AUDIT_FORMAT.md "io"). */
static uint64_t rec_bytes(const struct report_rec *r)
{
	struct json_object *io = r->obj, *part;
	uint64_t sum = 0;

	if (!strcmp(r->event, "read") || !strcmp(r->event, "write"))
		return (uint64_t)(report_int(r->obj, "bytes") > 0 ? report_int(r->obj, "bytes") : 0);
	if (strcmp(r->event, "io") && !json_object_object_get_ex(r->obj, "io", &io))
		return 0;
	if (json_object_object_get_ex(io, "read", &part) && report_int(part, "bytes") > 0)
		sum += (uint64_t)report_int(part, "bytes");
	if (json_object_object_get_ex(io, "write", &part) && report_int(part, "bytes") > 0)
		sum += (uint64_t)report_int(part, "bytes");
	return sum;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Distinct file ids of a run: ids[k] = the index of run record k's file in a
 * sorted unique table, -1 for records without a file. Returns the table size. */
static long file_ids(const struct ctx *c, size_t b, size_t e, long *ids)
{
	const char **tab = malloc((e - b) * sizeof(*tab));
	size_t n = 0, u = 0;

	if (!tab)
		return -ENOMEM;
	for (size_t i = b; i < e; i++)
		if (c->by_user[i]->file && is_access(c->by_user[i]))
			tab[n++] = c->by_user[i]->file;
	qsort(tab, n, sizeof(*tab), str_cmp);
	for (size_t i = 0; i < n; i++)
		if (u == 0 || strcmp(tab[u - 1], tab[i]))
			tab[u++] = tab[i];
	for (size_t i = b; i < e; i++) {
		const char *f = c->by_user[i]->file;
		const char **hit = (f && is_access(c->by_user[i])) ?
				   bsearch(&f, tab, u, sizeof(*tab), str_cmp) : NULL;

		ids[i - b] = hit ? (long)(hit - tab) : -1;
	}
	free(tab);
	return (long)u;
}

/* bulk: within any bulk_minutes, bulk_files distinct files or bulk_bytes. */
static int bulk_user(struct ctx *c, size_t b, size_t e)
{
	size_t n = e - b, left = 0, marked = 0;
	long *ids = malloc(n * sizeof(*ids)), nfiles, distinct = 0, max_files = 0;
	unsigned *cnt = NULL;
	uint64_t bytes = 0, max_bytes = 0;
	int64_t span = (int64_t)c->cfg->bulk_minutes * US_PER_MIN;
	struct report_finding *f = NULL;
	int ret = -ENOMEM;

	if (!ids || (nfiles = file_ids(c, b, e, ids)) < 0 ||
	    !(cnt = calloc((size_t)nfiles + 1, sizeof(*cnt))))
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct report_rec *r = c->by_user[b + i];

		if (ids[i] >= 0 && cnt[ids[i]]++ == 0)
			distinct++;
		bytes += rec_bytes(r);
		while (r->t_us - c->by_user[b + left]->t_us >= span) {
			if (ids[left] >= 0 && --cnt[ids[left]] == 0)
				distinct--;
			bytes -= rec_bytes(c->by_user[b + left]);
			left++;
		}
		if (distinct > max_files)
			max_files = distinct;
		if (bytes > max_bytes)
			max_bytes = bytes;
		if ((unsigned long)distinct < c->cfg->bulk_files && bytes < c->cfg->bulk_bytes)
			continue;
		if (!f && !(f = finding_new(c, "bulk", SEV_WARNING, r->who)))
			goto out;
		for (size_t k = left > marked ? left : marked; k <= i; k++)
			if (ids[k] >= 0 || rec_bytes(c->by_user[b + k]))
				finding_add(f, c->by_user[b + k], c->cfg->evidence_max);
		marked = i + 1;
	}
	if (f)
		snprintf(f->detail, sizeof(f->detail),
			 "up to %ld distinct files and %llu bytes within %u minutes", max_files,
			 (unsigned long long)max_bytes, c->cfg->bulk_minutes);
	ret = 0;
out:
	free(ids);
	free(cnt);
	return ret;
}

/* Calls fn on each user's run of by_user [b, e). */
static int each_user(struct ctx *c, int (*fn)(struct ctx *, size_t, size_t))
{
	int ret = 0;

	for (size_t b = 0, e; b < c->hi - c->lo && !ret; b = e) {
		e = user_run_end(c, b);
		ret = fn(c, b, e);
	}
	return ret;
}

static int rule_bulk(struct ctx *c)
{
	return each_user(c, bulk_user);
}

/* Distinct files of records [from, to) of the whole log for one user and one
 * day (day < 0: any day). */
static long distinct_files(const struct ctx *c, const char *who, long day, size_t from, size_t to)
{
	const char **tab = malloc((to - from + 1) * sizeof(*tab));
	size_t n = 0;
	long u = 0;

	if (!tab)
		return -ENOMEM;
	for (size_t i = from; i < to; i++) {
		const struct report_rec *r = &c->log->r[i];

		if (r->file && is_access(r) && !strcmp(r->who, who) &&
		    (day < 0 || local_day(r->t_us, NULL) == day))
			tab[n++] = r->file;
	}
	qsort(tab, n, sizeof(*tab), str_cmp);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(tab[i - 1], tab[i]))
			u++;
	free(tab);
	return u;
}

/* The active days of `who` before day `today` and their distinct-file counts. */
static int baseline(const struct ctx *c, const char *who, long today, double **vals, size_t *n)
{
	long *days = NULL;
	size_t nd = 0;
	int ret = -ENOMEM;

	*vals = NULL;
	*n = 0;
	days = malloc((c->log->n + 1) * sizeof(*days));
	if (!days)
		goto out;
	for (size_t i = 0; i < c->log->n; i++) {
		const struct report_rec *r = &c->log->r[i];
		long d;

		if (!r->file || !is_access(r) || strcmp(r->who, who))
			continue;
		d = local_day(r->t_us, NULL);
		if (d < today && (nd == 0 || days[nd - 1] != d))
			days[nd++] = d;     /* records are in time order: days ascend */
	}
	*vals = malloc((nd + 1) * sizeof(**vals));
	if (!*vals)
		goto out;
	for (size_t i = 0; i < nd; i++) {
		long v = distinct_files(c, who, days[i], 0, c->log->n);

		if (v < 0)
			goto out;
		(*vals)[i] = (double)v;
	}
	*n = nd;
	ret = 0;
out:
	free(days);
	return ret;
}

static int pick_today_access(const struct ctx *c, const struct report_rec *r)
{
	long today = local_day(c->log->r[c->hi - 1].t_us, NULL);

	return r->file && is_access(r) && local_day(r->t_us, NULL) == today;
}

/* spike: the last day's distinct files against the user's own median of the
 * previous active days. */
static int rule_spike(struct ctx *c)
{
	long today;

	if (c->hi == c->lo)
		return 0;
	today = local_day(c->log->r[c->hi - 1].t_us, NULL);
	for (size_t b = 0, e; b < c->hi - c->lo; b = e) {
		const char *who = c->by_user[b]->who;
		struct report_finding *f;
		double *vals, med;
		size_t nv;
		long now;
		int ret;

		e = user_run_end(c, b);
		now = distinct_files(c, who, today, c->lo, c->hi);
		if (now < 0 || baseline(c, who, today, &vals, &nv))
			return -ENOMEM;
		med = stats_median(vals, nv);
		free(vals);
		if (nv < c->cfg->spike_min_days || now < (long)c->cfg->spike_min_files ||
		    (double)now <= c->cfg->spike_factor * med)
			continue;
		ret = flag_run(c, b, e, "spike", SEV_WARNING, pick_today_access, &f);
		if (ret)
			return ret;
		if (f)
			snprintf(f->detail, sizeof(f->detail),
				 "%ld distinct files on the last day, own median %.1f over %zu days",
				 now, med, nv);
	}
	return 0;
}

static int pick_file_access(const struct ctx *c, const struct report_rec *r)
{
	(void)c;
	return r->file && is_access(r);
}

/* peer-outlier: a user's distinct files in the window against all users'. */
static int rule_outlier(struct ctx *c)
{
	size_t nu = 0, k = 0, total = c->hi - c->lo;
	double *counts = NULL, *work = NULL, med, mad, meanad;
	int ret = -ENOMEM;

	for (size_t b = 0; b < total; b = user_run_end(c, b))
		nu++;
	if (nu < c->cfg->outlier_min_users)
		return 0;
	counts = malloc(nu * sizeof(*counts));
	work = malloc(nu * sizeof(*work));
	if (!counts || !work)
		goto out;
	for (size_t b = 0; b < total; b = user_run_end(c, b)) {
		long v = distinct_files(c, c->by_user[b]->who, -1, c->lo, c->hi);

		if (v < 0)
			goto out;
		counts[k++] = (double)v;
	}
	memcpy(work, counts, nu * sizeof(*work));
	med = stats_median(work, nu);
	meanad = stats_meanad(counts, nu, med);
	memcpy(work, counts, nu * sizeof(*work));
	mad = stats_mad(work, nu, med);
	k = 0;
	for (size_t b = 0, e; b < total; b = e, k++) {
		double z = stats_robust_z(counts[k], med, mad, meanad);
		struct report_finding *f;

		e = user_run_end(c, b);
		if (z <= c->cfg->outlier_z || counts[k] < c->cfg->outlier_min_files)
			continue;
		ret = flag_run(c, b, e, "peer-outlier", SEV_WARNING, pick_file_access, &f);
		if (ret)
			goto out;
		if (f)
			snprintf(f->detail, sizeof(f->detail),
				 "%.0f distinct files, peer median %.1f, robust z %.1f", counts[k],
				 med, z);
	}
	ret = 0;
out:
	free(counts);
	free(work);
	return ret;
}

static int is_denial(const struct report_rec *r)
{
	return (r->event && !strcmp(r->event, "denied")) ||
	       (r->result && (!strcmp(r->result, "EACCES") || !strcmp(r->result, "EPERM")));
}

/* denials: denied_count or more within denied_minutes. */
static int denials_user(struct ctx *c, size_t b, size_t e)
{
	int64_t span = (int64_t)c->cfg->denied_minutes * US_PER_MIN;
	size_t left = b, marked = b, in = 0;
	struct report_finding *f = NULL;

	for (size_t i = b; i < e; i++) {
		if (!is_denial(c->by_user[i]))
			continue;
		in++;
		for (; c->by_user[i]->t_us - c->by_user[left]->t_us >= span; left++)
			if (is_denial(c->by_user[left]))
				in--;
		if (in < c->cfg->denied_count)
			continue;
		if (!f && !(f = finding_new(c, "denials", SEV_WARNING, c->by_user[b]->who)))
			return -ENOMEM;
		for (size_t k = left > marked ? left : marked; k <= i; k++)
			if (is_denial(c->by_user[k]))
				finding_add(f, c->by_user[k], c->cfg->evidence_max);
		marked = i + 1;
	}
	if (f)
		snprintf(f->detail, sizeof(f->detail), "%llu denials in bursts of %u+ within %u minutes",
			 (unsigned long long)f->count, c->cfg->denied_count, c->cfg->denied_minutes);
	return 0;
}

static int rule_denials(struct ctx *c)
{
	return each_user(c, denials_user);
}

/* One finding per (event, user) for the records of the listed events. */
static int group_events(struct ctx *c, const char *rule, enum report_severity sev,
			const char *const *events, int (*extra)(const struct report_rec *))
{
	for (size_t b = 0, e; b < c->hi - c->lo; b = e) {
		e = user_run_end(c, b);
		for (const char *const *ev = events; *ev; ev++) {
			struct report_finding *f = NULL;

			for (size_t i = b; i < e; i++) {
				const struct report_rec *r = c->by_user[i];

				if (strcmp(r->event, *ev) || (extra && !extra(r)))
					continue;
				if (!f && !(f = finding_new(c, rule, sev, r->who)))
					return -ENOMEM;
				finding_add(f, r, c->cfg->evidence_max);
			}
			if (f)
				snprintf(f->detail, sizeof(f->detail), "%llu %s records",
					 (unsigned long long)f->count, *ev);
		}
	}
	return 0;
}

/* integrity: a block that failed authentication, fsck problems. */
static int fsck_found(const struct report_rec *r)
{
	return strcmp(r->event, "fsck") || report_int(r->obj, "problems") > 0;
}

static int rule_integrity(struct ctx *c)
{
	static const char *const ev[] = { "integrity", "fsck", NULL };

	return group_events(c, "integrity", SEV_CRITICAL, ev, fsck_found);
}

/* operations: key, mount, unlock, lock, fsck: listed for review (info). */
static int rule_operations(struct ctx *c)
{
	static const char *const ev[] = { "mount", "unmount", "unlock", "lock", "key", "fsck",
					  "audit-start", "audit-stop", NULL };

	return group_events(c, "operations", SEV_INFO, ev, NULL);
}

static int is_break_glass(const struct report_rec *r)
{
	const char *flag = report_str(r->obj, "flag");

	return flag && !strcmp(flag, "break-glass");
}

static int rule_break_glass(struct ctx *c)
{
	for (size_t b = 0, e; b < c->hi - c->lo; b = e) {
		struct report_finding *f = NULL;

		e = user_run_end(c, b);
		for (size_t i = b; i < e; i++) {
			if (!is_break_glass(c->by_user[i]))
				continue;
			if (!f && !(f = finding_new(c, "break-glass", SEV_WARNING, c->by_user[i]->who)))
				return -ENOMEM;
			finding_add(f, c->by_user[i], c->cfg->evidence_max);
		}
		if (f)
			snprintf(f->detail, sizeof(f->detail),
				 "%llu records under break-glass access",
				 (unsigned long long)f->count);
	}
	return 0;
}

static int stream_seq_cmp(const void *a, const void *b)
{
	const struct report_rec *x = *(const struct report_rec *const *)a;
	const struct report_rec *y = *(const struct report_rec *const *)b;
	int d = strcmp(x->stream, y->stream);

	if (d)
		return d;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* gaps: "audit-gap" records, and sequence numbers missing inside a stream.
 * Records are compared in seq order (times of concurrent events may
 * interleave); equal numbers are several writers' chains on one volume. */
static int rule_gaps(struct ctx *c)
{
	size_t n = 0;
	const struct report_rec **v = malloc((c->hi - c->lo) * sizeof(*v));
	struct report_finding *f = NULL;
	uint64_t lost = 0, holes = 0;
	int ret = -ENOMEM;

	if (!v)
		return -ENOMEM;
	for (size_t i = c->lo; i < c->hi; i++)
		if (c->log->r[i].seq > 0 || !strcmp(c->log->r[i].event, "audit-gap"))
			v[n++] = &c->log->r[i];
	qsort(v, n, sizeof(*v), stream_seq_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct report_rec *r = v[i];
		int64_t hole = 0;

		if (i > 0 && !strcmp(v[i - 1]->stream, r->stream) && v[i - 1]->seq > 0 &&
		    r->seq > v[i - 1]->seq + 1)
			hole = r->seq - v[i - 1]->seq - 1;
		if (strcmp(r->event, "audit-gap") && !hole)
			continue;
		if (!f && !(f = finding_new(c, "audit-gap", SEV_CRITICAL, "-")))
			goto out;
		finding_add(f, r, c->cfg->evidence_max);
		holes += (uint64_t)hole;
		if (!strcmp(r->event, "audit-gap") && report_int(r->obj, "lost") > 0)
			lost += (uint64_t)report_int(r->obj, "lost");
	}
	if (f)
		snprintf(f->detail, sizeof(f->detail),
			 "%llu records reported lost, %llu sequence numbers missing",
			 (unsigned long long)lost, (unsigned long long)holes);
	ret = 0;
out:
	free(v);
	return ret;
}

static int by_user_cmp(const void *a, const void *b)
{
	const struct report_rec *x = *(const struct report_rec *const *)a;
	const struct report_rec *y = *(const struct report_rec *const *)b;
	int d = strcmp(x->who, y->who);

	if (d)
		return d;
	if (x->t_us != y->t_us)
		return x->t_us < y->t_us ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int (*const detectors[])(struct ctx *) = {
	rule_after_hours, rule_bulk, rule_spike, rule_outlier, rule_denials,
	rule_integrity, rule_operations, rule_gaps, rule_break_glass,
};

int report_run(const struct report_log *log, int64_t since_us, int64_t until_us,
	       const struct report_cfg *cfg, struct report_findings *out)
{
	struct ctx c = { .log = log, .cfg = cfg, .out = out };
	int ret = 0;

	memset(out, 0, sizeof(*out));
	while (c.lo < log->n && log->r[c.lo].t_us < since_us)
		c.lo++;
	for (c.hi = c.lo; c.hi < log->n && log->r[c.hi].t_us < until_us; c.hi++)
		;
	if (c.hi == c.lo)
		return 0;
	c.by_user = malloc((c.hi - c.lo) * sizeof(*c.by_user));
	if (!c.by_user)
		return -ENOMEM;
	for (size_t i = c.lo; i < c.hi; i++)
		c.by_user[i - c.lo] = &log->r[i];
	qsort(c.by_user, c.hi - c.lo, sizeof(*c.by_user), by_user_cmp);
	for (size_t i = 0; i < sizeof(detectors) / sizeof(detectors[0]) && !ret; i++)
		ret = detectors[i](&c);
	free(c.by_user);
	return ret;
}

void report_findings_free(struct report_findings *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->f[i].seqs);
	free(f->f);
	memset(f, 0, sizeof(*f));
}
