/*
 * report_load.c: reads audit logs (JSON lines, docs/AUDIT_FORMAT.md "Record")
 * into memory for the review commands, sorted by time. It parses; it does not
 * judge: a line that is not a JSON object is counted and reported by position
 * (never by content, which could be anything), chain and MAC checks belong to
 * `phifs-audit verify`.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <json-c/json.h>

#include "../phifs/common.h"
#include "report_load.h"

const char *report_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int64_t report_int(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

int64_t report_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void report_format_time(int64_t t_us, char out[32])
{
	time_t t = (time_t)(t_us / 1000000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "%lld", (long long)t);
}

/* RFC 3339 with an optional fraction (up to µs) and Z or ±hh:mm. */
static int parse_rfc3339(const char *s, int64_t *out_us)
{
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	int64_t frac = 0, scale = 100000, off = 0;
	time_t t;

	if (!p)
		return -EINVAL;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int h = atoi(p + 1), m = atoi(p + 4);

		off = (int64_t)(h * 3600 + m * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*out_us = ((int64_t)t - off) * 1000000 + frac;
	return 0;
}

int report_parse_time(const char *s, int64_t now_us, int64_t *out_us)
{
	int64_t secs;

	if (parse_rfc3339(s, out_us) == 0)
		return 0;
	if (parse_duration(s, &secs) != 0 || secs > INT64_MAX / 2000000)
		return -EINVAL;
	*out_us = now_us - secs * 1000000;
	return 0;
}

static void rec_fill(struct report_rec *r, const char *stream)
{
	struct json_object *actor = NULL, *object = NULL;
	const char *host, *vol, *t = report_str(r->obj, "time");

	json_object_object_get_ex(r->obj, "actor", &actor);
	json_object_object_get_ex(r->obj, "object", &object);
	if (!t || parse_rfc3339(t, &r->t_us) != 0)
		r->t_us = 0;
	r->seq = report_int(r->obj, "seq");
	r->event = report_str(r->obj, "event");
	r->result = report_str(r->obj, "result");
	r->uid = report_int(actor, "uid");
	r->user = report_str(actor, "user");
	r->file = report_str(object, "file");
	host = report_str(r->obj, "host");
	vol = report_str(r->obj, "vol");
	if (r->user)
		snprintf(r->who, sizeof(r->who), "%s", r->user);
	else if (r->uid >= 0)
		snprintf(r->who, sizeof(r->who), "uid:%lld", (long long)r->uid);
	else
		snprintf(r->who, sizeof(r->who), "-");
	if (stream)
		snprintf(r->stream, sizeof(r->stream), "%s", stream);
	else
		snprintf(r->stream, sizeof(r->stream), "%s %s", host ? host : "-", vol ? vol : "-");
}

static int log_push(struct report_log *log, struct json_object *obj, const char *line,
		    const char *stream)
{
	struct report_rec *r;
	char *copy = strdup(line);

	if (log->n == log->cap) {
		size_t cap = log->cap ? 2 * log->cap : 1024;
		struct report_rec *nr = realloc(log->r, cap * sizeof(*nr));

		if (!nr) {
			free(copy);
			return -ENOMEM;
		}
		log->r = nr;
		log->cap = cap;
	}
	if (!copy)
		return -ENOMEM;
	r = &log->r[log->n];
	memset(r, 0, sizeof(*r));
	r->obj = obj;
	r->line = copy;
	r->order = log->n++;
	rec_fill(r, stream);
	return 0;
}

/* A spool file is named STREAM.FIRSTSEQ.log (docs/AUDIT_FORMAT.md §5): its
 * records are that stream's, whatever host and vol they carry (the writer's
 * own records may have none). Any NAME.log counts as stream NAME; other
 * names: 0 (the records' host and vol tell). */
static int spool_stream(const char *path, char *out, size_t cap)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t n = strcspn(base, "."), len = strlen(base);

	if (n == 0 || n >= cap || len < 4 || strcmp(base + len - 4, ".log"))
		return 0;
	memcpy(out, base, n);
	out[n] = '\0';
	return 1;
}

static int load_file(const char *path, struct report_log *log)
{
	FILE *f = fopen(path, "re");
	char stream[80], *line = NULL;
	int has_stream = spool_stream(path, stream, sizeof(stream)), torn;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int ret = 0;

	if (!f) {
		ret = -errno;
		warnx_phifs("%s: %s", path, strerror(errno));
		goto out;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		struct json_object *obj;

		lineno++;
		torn = line[len - 1] != '\n';
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		obj = json_tokener_parse(line);
		if (!obj || !json_object_is_type(obj, json_type_object) || !report_str(obj, "event")) {
			json_object_put(obj);
			if (torn) {
				/* a writer's crash mid-line: the chain goes on in the next file */
				warnx_phifs("%s:%zu: torn last line, skipped", path, lineno);
				continue;
			}
			warnx_phifs("%s:%zu: not an audit record, skipped", path, lineno);
			log->bad_lines++;
			continue;
		}
		ret = log_push(log, obj, line, has_stream ? stream : NULL);
		if (ret) {
			json_object_put(obj);
			goto out;
		}
	}
	if (ferror(f)) {
		ret = -EIO;
		warnx_phifs("%s: read error", path);
	}
out:
	free(line);
	if (f)
		fclose(f);
	return ret;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory: its regular, non-hidden files in name order (rotated spool
 * files sort in the order they were written). */
static int load_dir(const char *dir, struct report_log *log)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;

	if (!d) {
		ret = -errno;
		warnx_phifs("%s: %s", dir, strerror(errno));
		return ret;
	}
	while ((e = readdir(d))) {
		char path[4096];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof(*nn));

			if (!nn) {
				ret = -ENOMEM;
				goto out;
			}
			names = nn;
		}
		if (!(names[n] = strdup(path))) {
			ret = -ENOMEM;
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n && !ret; i++)
		ret = load_file(names[i], log);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return ret;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct report_rec *x = a, *y = b;

	if (x->t_us != y->t_us)
		return x->t_us < y->t_us ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

int report_load(const char *const *paths, size_t n, struct report_log *log)
{
	int ret = 0;

	memset(log, 0, sizeof(*log));
	for (size_t i = 0; i < n && !ret; i++) {
		struct stat st;

		if (stat(paths[i], &st) != 0) {
			ret = -errno;
			warnx_phifs("%s: %s", paths[i], strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			ret = load_dir(paths[i], log);
		} else {
			ret = load_file(paths[i], log);
		}
	}
	if (log->n)
		qsort(log->r, log->n, sizeof(*log->r), rec_cmp);
	return ret;
}

void report_log_free(struct report_log *log)
{
	for (size_t i = 0; i < log->n; i++) {
		json_object_put(log->r[i].obj);
		free(log->r[i].line);
	}
	free(log->r);
	memset(log, 0, sizeof(*log));
}
