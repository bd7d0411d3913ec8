/*
 * cmd_show.c: `phifs-audit show|query [filters] [--json] LOG|DIR...` — the
 * records that match every filter given, as the raw lines (--json) or a
 * table (docs/OPERATIONS.md "Reviewing the audit log"). Path references stay
 * what the log holds; --match-path turns a known plaintext path into its hmac
 * reference with the volume's audit key, so an investigator can find it
 * without the log ever naming it.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <json-c/json.h>

#include "../phifs/common.h"
#include "auditcmd.h"
#include "cipher.h"
#include "audit_path.h"
#include "keys.h"
#include "report_load.h"
#include "volume.h"

#define EXIT_UNREADABLE 4

struct filter {
	int64_t since, until;
	const char *user;            /* name, or digits: a uid */
	const char *events;          /* "open,io" */
	const char *file;            /* 32 hex */
	const char *result;          /* ok | denied | error */
	char path_hmac[2 * CIPHER_HMAC_LEN + 1];  /* --match-path: hex, "" when not asked */
};

struct show_opts {
	struct filter f;
	int json;
	int key;                     /* --key: decrypt "enc" path references */
	const char *vol;             /* --volume CIPHERDIR */
	const char *mpath;           /* --match-path PATH */
	struct kms_opts ko;
};

static int is_uid(const char *s)
{
	return s[strspn(s, "0123456789")] == '\0';
}

static int event_listed(const char *list, const char *ev)
{
	size_t len = strlen(ev);

	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, ev, len) && (p[len] == ',' || p[len] == '\0'))
			return 1;
	return 0;
}

static int result_matches(const char *want, const struct report_rec *r)
{
	int denied = !strcmp(r->event, "denied") ||
		     (r->result && (!strcmp(r->result, "EACCES") || !strcmp(r->result, "EPERM")));

	if (!strcmp(want, "denied"))
		return denied;
	if (!strcmp(want, "ok"))
		return r->result && !strcmp(r->result, "ok") && !denied;
	return r->result && strcmp(r->result, "ok") && !denied;     /* error */
}

static int path_is(struct json_object *object, const char *hex)
{
	struct json_object *path;

	return object && json_object_object_get_ex(object, "path", &path) &&
	       report_str(path, "hmac") && !strcmp(report_str(path, "hmac"), hex);
}

static int matches(const struct filter *f, const struct report_rec *r)
{
	struct json_object *o1 = NULL, *o2 = NULL;

	if (r->t_us < f->since || r->t_us >= f->until)
		return 0;
	if (f->user && (is_uid(f->user) ? r->uid != strtoll(f->user, NULL, 10)
					: (!r->user || strcmp(r->user, f->user))))
		return 0;
	/* "io" and "setattr" also select an open or create that carries its
	 * handle's summary or its opener's attribute changes. */
	if (f->events && !event_listed(f->events, r->event) &&
	    !(event_listed(f->events, "io") && json_object_object_get_ex(r->obj, "io", NULL)) &&
	    !(event_listed(f->events, "setattr") &&
	      json_object_object_get_ex(r->obj, "setattr", NULL)))
		return 0;
	if (f->file && (!r->file || strcasecmp(r->file, f->file)))
		return 0;
	if (f->result && !result_matches(f->result, r))
		return 0;
	if (f->path_hmac[0]) {
		json_object_object_get_ex(r->obj, "object", &o1);
		json_object_object_get_ex(r->obj, "object2", &o2);
		if (!path_is(o1, f->path_hmac) && !path_is(o2, f->path_hmac))
			return 0;
	}
	return 1;
}

/* "enc" reference → plaintext, with the volume's keys (the ciphertext format
 * is fs/audit_path.c's, docs/AUDIT_FORMAT.md). */
static int decrypt_ref(const struct volume *v, const char *b64, char *out, size_t cap)
{
	if (!v)
		return 0;
	return audit_path_decrypt(keys_audit_enc_key(v->keys), keys_volume_id(v->keys), b64, out,
				  cap);
}

/* One path reference, shortened: "hmac:1a2b3c4d5e6f", "enc", "/plain"; an
 * "enc" one decrypted when the volume is open for --key. */
static void ref_text(struct json_object *ref, const struct volume *key, const char *label,
		     char *out, size_t cap)
{
	char plain[4096];
	const char *h;

	out[0] = '\0';
	if (!ref)
		return;
	if ((h = report_str(ref, "hmac")))
		snprintf(out, cap, " %s=hmac:%.12s", label, h);
	else if ((h = report_str(ref, "enc")) && key && !decrypt_ref(key, h, plain, sizeof(plain)))
		snprintf(out, cap, " %s=%s", label, plain);
	else if (h)
		snprintf(out, cap, " %s=enc%s", label, key ? "(undecryptable)" : "");
	else if ((h = report_str(ref, "plain")))
		snprintf(out, cap, " %s=%s", label, h);
}

/* The path references of a record: object, object2 (rename/link), xattr name. */
static void path_refs(struct json_object *obj, const struct volume *key, char *out, size_t cap)
{
	static const char *const objs[] = { "object", "object2" };
	struct json_object *o, *ref;
	size_t n = 0;

	out[0] = '\0';
	for (int i = 0; i < 2; i++) {
		ref = NULL;
		if (json_object_object_get_ex(obj, objs[i], &o))
			json_object_object_get_ex(o, "path", &ref);
		ref_text(ref, key, i ? "to" : "path", out + n, cap - n);
		n = strlen(out);
	}
	ref = NULL;
	json_object_object_get_ex(obj, "xattr", &ref);
	ref_text(ref, key, "xattr", out + n, cap - n);
}

static void io_part(struct json_object *obj, const char *key, char *out, size_t cap)
{
	struct json_object *p;

	out[0] = '\0';
	if (json_object_object_get_ex(obj, key, &p))
		snprintf(out, cap, " %s=%lldops/%lldB", key, (long long)report_int(p, "ops"),
			 (long long)report_int(p, "bytes"));
}

/* rec's member key when it has one, else rec itself: where an "io" or
 * "setattr" record's fields are, or those joined into an open. (json-c's
 * get_ex sets its out-pointer to NULL on a miss, so it cannot default.) */
static struct json_object *member_or_self(struct json_object *rec, const char *key)
{
	struct json_object *m;

	return json_object_object_get_ex(rec, key, &m) ? m : rec;
}

/* The event fields worth a glance, no PHI beyond what the record holds. */
static void detail(const struct report_rec *r, const struct volume *key, char *out, size_t cap)
{
	struct json_object *flags, *io = member_or_self(r->obj, "io"), *attrs;
	char a[64], b[64], p[3 * 4200];
	const char *s;
	size_t n = 0;

	io_part(io, "read", a, sizeof(a));
	io_part(io, "write", b, sizeof(b));
	path_refs(r->obj, key, p, sizeof(p));
	n += (size_t)snprintf(out, cap, "%s%s%s", a, b, p);
	if (report_int(r->obj, "bytes") >= 0 && n < cap)
		n += (size_t)snprintf(out + n, cap - n, " bytes=%lld@%lld",
				      (long long)report_int(r->obj, "bytes"),
				      (long long)report_int(r->obj, "offset"));
	if (json_object_object_get_ex(r->obj, "flags", &flags) && n < cap)
		n += (size_t)snprintf(out + n, cap - n, " flags=%s",
				      json_object_to_json_string_ext(flags, JSON_C_TO_STRING_PLAIN));
	if (json_object_object_get_ex(member_or_self(r->obj, "setattr"), "attrs", &attrs) &&
	    n < cap)
		n += (size_t)snprintf(out + n, cap - n, " attrs=%s",
				      json_object_to_json_string_ext(attrs, JSON_C_TO_STRING_PLAIN));
	if ((s = report_str(r->obj, "op")) && n < cap)
		n += (size_t)snprintf(out + n, cap - n, " op=%s", s);
	if ((s = report_str(r->obj, "reason")) && n < cap)
		n += (size_t)snprintf(out + n, cap - n, " reason=%s", s);
	if (report_int(r->obj, "rule") >= 0 && n < cap)
		n += (size_t)snprintf(out + n, cap - n, " rule=%lld",
				      (long long)report_int(r->obj, "rule"));
	if (report_int(r->obj, "lost") >= 0 && n < cap)
		n += (size_t)snprintf(out + n, cap - n, " lost=%lld",
				      (long long)report_int(r->obj, "lost"));
	if ((s = report_str(r->obj, "flag")) && n < cap)
		snprintf(out + n, cap - n, " [%s]", s);
}

static void print_row(const struct report_rec *r, const struct volume *key)
{
	char t[32], d[16384];
	struct json_object *actor = NULL;
	const char *comm;

	json_object_object_get_ex(r->obj, "actor", &actor);
	comm = report_str(actor, "comm");
	report_format_time(r->t_us, t);
	detail(r, key, d, sizeof(d));
	printf("%-20s %8lld %-12s %-10s %-11s %-7s %-12.12s%s\n", t, (long long)r->seq, r->who,
	       comm ? comm : "-", r->event, r->result ? r->result : "-",
	       r->file ? r->file : "-", d);
}

/* The hmac reference of a plaintext path: HMAC-SHA256 under the volume's
 * audit key over the path relative to the volume root, leading '/', no
 * trailing '/' (the same bytes fs/audit_path.c hashes). */
static int match_path(const struct volume *v, const char *path, char out[2 * CIPHER_HMAC_LEN + 1])
{
	uint8_t mac[CIPHER_HMAC_LEN];
	char norm[4096];
	size_t len;
	int ret;

	snprintf(norm, sizeof(norm), "%s%s", path[0] == '/' ? "" : "/", path);
	for (len = strlen(norm); len > 1 && norm[len - 1] == '/';)
		norm[--len] = '\0';
	ret = cipher_hmac_sha256(keys_audit_key(v->keys), KEYS_AUDIT_LEN, norm, len, mac);
	if (ret) {
		warnx_phifs("show: %s", strerror(-ret));
		return EXIT_PROBLEMS;
	}
	hex_id(mac, sizeof(mac), out, 2 * CIPHER_HMAC_LEN + 1);
	/* The reference itself is no PHI: it lets the investigator search other
	 * copies of the log (syslog collector) for the same path. */
	fprintf(stderr, "phifs-audit: show: path reference hmac:%s\n", out);
	return EXIT_OK;
}

static int open_volume(const struct show_opts *o, struct volume **v)
{
	char err[256] = "";
	int ret = volume_open(o->vol, NULL, &o->ko, v, err, sizeof(err));

	if (ret) {
		warnx_phifs("show: cannot open volume: %s", err[0] ? err : strerror(-ret));
		return exit_code_for(ret);
	}
	return EXIT_OK;
}

static int usage(FILE *f, int code)
{
	fprintf(f,
		"usage: phifs-audit show [--since T] [--until T] [--user NAME|UID] [--event E[,E]]\n"
		"         [--file FILEID] [--result ok|denied|error] [--json]\n"
		"         [--volume CIPHERDIR [--passfile F | --extpass CMD] [--match-path PATH] [--key]]\n"
		"         LOG|DIR...\n"
		"  T: RFC 3339 (2026-11-23T08:00:00Z) or relative (24h, 7d)\n"
		"  exit 0 records printed (or none matched), 2 usage, 3 volume key, 4 unreadable logs\n");
	return code;
}

static int parse_opts(int argc, char **argv, struct show_opts *o)
{
	static const struct option longopts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "user", required_argument, NULL, 'U' },
		{ "event", required_argument, NULL, 'e' },
		{ "file", required_argument, NULL, 'f' },
		{ "result", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "volume", required_argument, NULL, 'v' },
		{ "match-path", required_argument, NULL, 'm' },
		{ "key", no_argument, NULL, 'k' },
		{ "passfile", required_argument, NULL, 'P' },
		{ "extpass", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	int64_t now = report_now_us();
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (kms_opt(opt, optarg, &o->ko))
			continue;
		switch (opt) {
		case 's':
		case 'u':
			if (report_parse_time(optarg, now, opt == 's' ? &o->f.since : &o->f.until)) {
				warnx_phifs("show: bad time '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'U': o->f.user = optarg; break;
		case 'e': o->f.events = optarg; break;
		case 'f': o->f.file = optarg; break;
		case 'r':
			if (strcmp(optarg, "ok") && strcmp(optarg, "denied") && strcmp(optarg, "error"))
				return usage(stderr, EXIT_USAGE);
			o->f.result = optarg;
			break;
		case 'j': o->json = 1; break;
		case 'v': o->vol = optarg; break;
		case 'm': o->mpath = optarg; break;
		case 'k': o->key = 1; break;
		case 'h': return usage(stdout, EXIT_OK);
		default: return usage(stderr, EXIT_USAGE);
		}
	}
	if ((o->mpath || o->key) && !o->vol) {
		warnx_phifs("show: --match-path and --key need --volume CIPHERDIR (the key)");
		return EXIT_USAGE;
	}
	if (optind >= argc)
		return usage(stderr, EXIT_USAGE);
	return -1;
}

int audit_cmd_show(int argc, char **argv)
{
	struct show_opts o = { .f = { .since = INT64_MIN, .until = INT64_MAX } };
	struct report_log log = { 0 };
	struct volume *v = NULL;
	int ret;

	ret = parse_opts(argc, argv, &o);
	if (ret >= 0)
		return ret;
	if (o.vol && (ret = open_volume(&o, &v)) != EXIT_OK)
		return ret;
	if (o.mpath && (ret = match_path(v, o.mpath, o.f.path_hmac)) != EXIT_OK)
		goto out;
	if (report_load((const char *const *)argv + optind, (size_t)(argc - optind), &log)) {
		ret = EXIT_UNREADABLE;
		goto out;
	}
	if (!o.json)
		printf("%-20s %8s %-12s %-10s %-11s %-7s %-12s %s\n", "TIME (UTC)", "SEQ", "USER",
		       "PROCESS", "EVENT", "RESULT", "FILE", "DETAIL");
	for (size_t i = 0; i < log.n; i++) {
		if (!matches(&o.f, &log.r[i]))
			continue;
		if (o.json)
			puts(log.r[i].line);
		else
			print_row(&log.r[i], o.key ? v : NULL);
	}
	ret = log.bad_lines ? EXIT_UNREADABLE : EXIT_OK;
out:
	report_log_free(&log);
	volume_close(v);
	return ret;
}
