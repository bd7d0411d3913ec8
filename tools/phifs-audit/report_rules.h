/*
 * report_rules.h: the detectors of `phifs-audit report`, each a documented
 * rule with defaults a small key=value file can override (docs/OPERATIONS.md
 * "Reviewing the audit log" lists them with their keys).
 */
#ifndef PHIFS_REPORT_RULES_H
#define PHIFS_REPORT_RULES_H

#include <stddef.h>
#include <stdint.h>

struct report_log;

struct report_cfg {
	int work_start_min, work_end_min;  /* working hours, minutes after midnight [start, end) */
	unsigned work_days;                /* bit tm_wday (0 = Sunday) set for a working day */
	char timezone[64];                 /* "local", "UTC" or a zoneinfo name */
	unsigned bulk_files;               /* distinct files ... */
	unsigned bulk_minutes;             /* ... within this many minutes: bulk */
	uint64_t bulk_bytes;               /* or bytes read+written within bulk_minutes */
	double spike_factor;               /* today's distinct files > factor × own median */
	unsigned spike_min_files;          /* ... and at least this many */
	unsigned spike_min_days;           /* previous active days needed for a baseline */
	double outlier_z;                  /* robust z-score above which a user stands out */
	unsigned outlier_min_users;        /* users needed to compare with */
	unsigned outlier_min_files;        /* a user below this many files is never an outlier */
	unsigned denied_count;             /* denials ... */
	unsigned denied_minutes;           /* ... within this many minutes */
	unsigned evidence_max;             /* seq numbers listed per finding */
};

enum report_severity { SEV_INFO, SEV_WARNING, SEV_CRITICAL };

struct report_finding {
	const char *rule;                  /* static string: "bulk", "after-hours", ... */
	enum report_severity severity;
	char user[48];                     /* "alice", "uid:1234" or "-" */
	uint64_t count;                    /* records (or files, see detail) behind the finding */
	int64_t first_us, last_us;
	int64_t *seqs;                     /* evidence: seq numbers, at most evidence_max */
	size_t nseq;
	int seqs_truncated;
	char detail[192];                  /* no PHI: counts, event names, ids */
};

struct report_findings {
	struct report_finding *f;
	size_t n, cap;
};

void report_cfg_defaults(struct report_cfg *c);
/* key=value lines, '#' comments; -EINVAL with "FILE:LINE: reason" in err. */
int report_cfg_load(const char *path, struct report_cfg *c, char *err, size_t errcap);
/* Switches the process time zone to c->timezone (before any detector runs). */
int report_cfg_apply_tz(const struct report_cfg *c);

/* Runs every detector on the records with since_us <= time < until_us
 * (records before since_us still form the spike baseline). 0 or -ENOMEM. */
int report_run(const struct report_log *log, int64_t since_us, int64_t until_us,
	       const struct report_cfg *c, struct report_findings *out);
void report_findings_free(struct report_findings *f);
const char *report_severity_name(enum report_severity s);

#endif
