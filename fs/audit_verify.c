/*
 * audit_verify.c: `phifs-audit verify` — replays the writer's chain over
 * spool files and checks every record's seq, prev, MAC (re-deriving each
 * epoch's key from the session's k_0) and checkpoint signature, then the
 * checkpoint file in keys_dir against the log, so that modified, deleted,
 * reordered, inserted and truncated records and deleted files are found, and
 * the first bad position is reported. Owns: finding a stream's files, the
 * record and checkpoint parsers (json-c, strict), the material loader. It
 * never repairs or rewrites anything. Spec: docs/AUDIT_FORMAT.md "Verification".
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "audit_chain.h"
#include "audit_log.h"
#include "audit_spool.h"
#include "audit_verify.h"
#include "fdio.h"
#include "secmem.h"

/* An epoch number further than this from the last one is refused rather
 * than derived: ~32 years of 60 s epochs, and a bound on the work a forged
 * line can cause. */
#define EPOCH_STEP_MAX (1ull << 24)

/* ---- parsing ---- */

static int get_u64(struct json_object *o, const char *k, uint64_t *v)
{
	struct json_object *x;

	if (!json_object_object_get_ex(o, k, &x) || !json_object_is_type(x, json_type_int))
		return -EBADMSG;
	errno = 0;
	int64_t n = json_object_get_int64(x);
	if (n < 0 || errno)
		return -EBADMSG;
	*v = (uint64_t)n;
	return 0;
}

/* A string member of at most cap-1 bytes, copied. */
static int get_str(struct json_object *o, const char *k, char *out, size_t cap)
{
	struct json_object *x;
	size_t n;

	if (!json_object_object_get_ex(o, k, &x) || !json_object_is_type(x, json_type_string))
		return -EBADMSG;
	n = (size_t)json_object_get_string_len(x);
	if (n >= cap)
		return -EBADMSG;
	memcpy(out, json_object_get_string(x), n);
	out[n] = '\0';
	return 0;
}

static int get_hex(struct json_object *o, const char *k, uint8_t *out, size_t n)
{
	char buf[2 * 64 + 1];

	if (2 * n >= sizeof(buf) || get_str(o, k, buf, 2 * n + 1) < 0)
		return -EBADMSG;
	return audit_unhex(buf, strlen(buf), out, n) < 0 ? -EBADMSG : 0;
}

static int get_hash(struct json_object *o, const char *k, char out[AUDIT_HEX_LEN + 1])
{
	uint8_t b[AUDIT_HASH_LEN];

	return get_hex(o, k, b, sizeof(b)) < 0 || get_str(o, k, out, AUDIT_HEX_LEN + 1) < 0 ? -EBADMSG : 0;
}

int audit_ckpt_parse(struct json_object *o, int with_stream, struct audit_ckpt *c)
{
	memset(c, 0, sizeof(*c));
	if (!o || !json_object_is_type(o, json_type_object))
		return -EBADMSG;
	if (with_stream && (get_str(o, "stream", c->stream, sizeof(c->stream)) < 0 ||
			    !audit_stream_valid(c->stream)))
		return -EBADMSG;
	if (get_u64(o, "session", &c->session) < 0 || get_u64(o, "seq", &c->seq) < 0 ||
	    get_hash(o, "head", c->head) < 0 || get_str(o, "time", c->time, sizeof(c->time)) < 0 ||
	    get_hex(o, "sig", c->sig, sizeof(c->sig)) < 0)
		return -EBADMSG;
	return 0;
}

int audit_ckpt_check(const struct audit_ckpt *c, const char *stream, const uint8_t pk[AUDIT_PK_LEN])
{
	char *msg = NULL;
	size_t len = 0;
	int r = audit_chain_ckpt_msg(stream, c->session, c->seq, c->head, c->time, &msg, &len);

	if (r == 0)
		r = audit_chain_sig_check(pk, msg, len, c->sig);
	free(msg);
	return r;
}

/* Strict JSON, exactly the whole line, an object. */
static struct json_object *parse_object(const char *s, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = NULL;

	if (!tok || len > INT_MAX)
		goto out;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (o && (json_tokener_get_error(tok) != json_tokener_success ||
		  json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
out:
	if (tok)
		json_tokener_free(tok);
	return o;
}

static int parse_start(struct audit_rec *r, const char **why)
{
	struct json_object *chain;

	*why = "audit-start record without valid session, pub or chain";
	if (get_u64(r->obj, "session", &r->session) < 0 || get_hex(r->obj, "pub", r->pub, AUDIT_PK_LEN) < 0 ||
	    !json_object_object_get_ex(r->obj, "chain", &chain) ||
	    get_u64(chain, "seq", &r->chain_seq) < 0 || get_hash(chain, "head", r->chain_head) < 0)
		return -EBADMSG;
	return 0;
}

int audit_rec_parse(const char *line, size_t len, struct audit_rec *r, const char **why)
{
	uint8_t mac[AUDIT_HASH_LEN];
	struct json_object *ev, *ck;
	uint64_t v = 0;
	size_t body = 0;

	memset(r, 0, sizeof(*r));
	r->event = "";
	*why = "malformed record: no MAC envelope at the end of the line";
	if (audit_chain_split(line, len, &body, mac) < 0)
		return -EBADMSG;
	*why = "malformed record: not one strict JSON object";
	r->obj = parse_object(line, len);
	if (!r->obj)
		return -EBADMSG;
	*why = "malformed record: bad v, seq, epoch or prev";
	if (get_u64(r->obj, "v", &v) < 0 || v != 1 || get_u64(r->obj, "seq", &r->seq) < 0 ||
	    r->seq == 0 || get_u64(r->obj, "epoch", &r->epoch) < 0 || get_hash(r->obj, "prev", r->prev) < 0)
		return -EBADMSG;
	if (json_object_object_get_ex(r->obj, "event", &ev) && json_object_is_type(ev, json_type_string))
		r->event = json_object_get_string(ev);
	r->is_start = strcmp(r->event, "audit-start") == 0;
	r->is_ckpt = strcmp(r->event, "checkpoint") == 0;
	if (r->is_start)
		return parse_start(r, why);
	if (r->is_ckpt) {
		*why = "checkpoint record without a valid ckpt member";
		if (!json_object_object_get_ex(r->obj, "ckpt", &ck) || audit_ckpt_parse(ck, 0, &r->ckpt) < 0)
			return -EBADMSG;
	}
	*why = "";
	return 0;
}

void audit_rec_free(struct audit_rec *r)
{
	json_object_put(r->obj);
	r->obj = NULL;
}

/* ---- verification state ---- */

struct vfile {
	char *path;
	char stream[AUDIT_STREAM_MAX + 1];
	uint64_t first;
};

struct vctx {
	int keysfd;
	const char *keys_dir;
	struct audit_verify_result *res;
	/* the stream being walked */
	const char *stream;
	uint64_t last_seq;
	char head[AUDIT_HEX_LEN + 1];
	int have_session;
	uint64_t session, epoch;
	uint8_t *key;                   /* secmem: k_epoch of the session */
	uint8_t pk[AUDIT_PK_LEN];
	struct audit_ckpt *ck;          /* the checkpoint file, in order */
	size_t nck, ci;
	uint64_t *ck_line;              /* each entry's line in the checkpoint file */
};

/* Records the first failure; returns 1 (tampered, stop). */
__attribute__((format(printf, 4, 5)))
static int fail(struct vctx *v, const char *file, uint64_t line, const char *fmt, ...)
{
	struct audit_verify_result *r = v->res;
	va_list ap;

	r->ok = 0;
	snprintf(r->bad_file, sizeof(r->bad_file), "%s", file);
	r->bad_line = line;
	va_start(ap, fmt);
	vsnprintf(r->bad_reason, sizeof(r->bad_reason), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(r->first_bad, sizeof(r->first_bad), "%s:%" PRIu64 ": %s", file, line, r->bad_reason);
	else
		snprintf(r->first_bad, sizeof(r->first_bad), "%s: %s", file, r->bad_reason);
	return 1;
}

/* Missing or unreadable material: the caller's error (exit 4), not tamper. */
static int material(struct vctx *v, const char *name, int err)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", v->keys_dir, name);
	fail(v, path, 0, "verification material %s (%s)", err == -ENOENT ? "missing" : "unreadable",
	     strerror(-err));
	return err;
}

static int read_exact(int dirfd, const char *name, void *buf, size_t len)
{
	uint8_t extra;
	size_t got = 0, more = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r;

	if (fd < 0)
		return -errno;
	r = fdio_read(fd, buf, len, &got);
	if (r == 0 && got == len)
		r = fdio_read(fd, &extra, 1, &more);
	if (r == 0 && (got != len || more))
		r = -EBADMSG;
	close(fd);
	return r;
}

static int load_pub(struct vctx *v, uint64_t session, uint8_t pk[AUDIT_PK_LEN])
{
	char name[AUDIT_STREAM_MAX + 40];
	int r;

	snprintf(name, sizeof(name), AUDIT_PUB_FILE, v->stream, session);
	r = read_exact(v->keysfd, name, pk, AUDIT_PK_LEN);
	return r < 0 ? material(v, name, r) : 0;
}

static int load_k0(struct vctx *v, uint64_t session)
{
	char name[AUDIT_STREAM_MAX + 40];
	int r;

	snprintf(name, sizeof(name), AUDIT_KEY_FILE, v->stream, session);
	r = read_exact(v->keysfd, name, v->key, AUDIT_KEY_LEN);
	return r < 0 ? material(v, name, r) : 0;
}

/* getline over a FILE: the line without '\n', whether it had one. */
static ssize_t next_line(FILE *f, char **buf, size_t *cap, int *nl)
{
	ssize_t n = getline(buf, cap, f);

	*nl = 0;
	if (n > 0 && (*buf)[n - 1] == '\n') {
		*nl = 1;
		n--;
	}
	return n;
}

static int ckpt_add(struct vctx *v, const struct audit_ckpt *c, uint64_t line)
{
	struct audit_ckpt *a = realloc(v->ck, (v->nck + 1) * sizeof(*a));
	uint64_t *l;

	if (!a)
		return -ENOMEM;
	v->ck = a;
	l = realloc(v->ck_line, (v->nck + 1) * sizeof(*l));
	if (!l)
		return -ENOMEM;
	v->ck_line = l;
	v->ck[v->nck] = *c;
	v->ck_line[v->nck++] = line;
	return 0;
}

/* One checkpoint file line: parsed, its signature checked under its
 * session's public key, in order after the previous one. */
static int ckpt_line(struct vctx *v, const char *path, const char *s, size_t len, uint64_t ln,
		     uint64_t *pk_session, uint8_t pk[AUDIT_PK_LEN])
{
	struct json_object *o = parse_object(s, len);
	struct audit_ckpt c;
	int r = 0;

	if (!o || audit_ckpt_parse(o, 1, &c) < 0 || strcmp(c.stream, v->stream) != 0)
		r = fail(v, path, ln, "malformed checkpoint entry");
	else if (v->nck && c.seq < v->ck[v->nck - 1].seq)
		r = fail(v, path, ln, "checkpoint entries out of order");
	if (r == 0 && c.session != *pk_session) {
		r = load_pub(v, c.session, pk);
		*pk_session = r == 0 ? c.session : 0;
	}
	if (r == 0 && audit_ckpt_check(&c, v->stream, pk) < 0)
		r = fail(v, path, ln, "bad checkpoint signature");
	if (r == 0)
		r = ckpt_add(v, &c, ln);
	json_object_put(o);
	return r;
}

static int load_ckpts(struct vctx *v)
{
	char name[AUDIT_STREAM_MAX + 8], path[PATH_MAX];
	uint8_t pk[AUDIT_PK_LEN];
	uint64_t pk_session = 0, ln = 0;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f = NULL;
	int fd, nl, r = 0;

	snprintf(name, sizeof(name), AUDIT_CKPT_FILE, v->stream);
	snprintf(path, sizeof(path), "%s/%s", v->keys_dir, name);
	fd = openat(v->keysfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || !(f = fdopen(fd, "r"))) {
		r = material(v, name, -errno);
		if (fd >= 0)
			close(fd);
		return r;
	}
	while (r == 0 && (n = next_line(f, &buf, &cap, &nl)) >= 0) {
		ln++;
		if (!nl)
			break;   /* a torn last entry (crash while checkpointing) */
		r = ckpt_line(v, path, buf, (size_t)n, ln, &pk_session, pk);
	}
	if (r == 0 && ferror(f))
		r = material(v, name, -EIO);
	free(buf);
	fclose(f);
	return r;
}

/* ---- walking a stream ---- */

/* An audit-start opens a session: its k_0 and public key from keys_dir. */
static int start_session(struct vctx *v, const struct audit_rec *rec, const char *path, uint64_t ln)
{
	uint8_t pk[AUDIT_PK_LEN];
	int r;

	if (rec->session != rec->seq || rec->chain_seq != rec->seq - 1 ||
	    strcmp(rec->chain_head, rec->prev) != 0)
		return fail(v, path, ln, "audit-start does not name its own position in the chain");
	r = load_pub(v, rec->session, pk);
	if (r == 0)
		r = load_k0(v, rec->session);
	if (r < 0)
		return r;
	if (!secmem_equal(pk, rec->pub, sizeof(pk)))
		return fail(v, path, ln, "audit-start public key differs from keys_dir");
	memcpy(v->pk, pk, sizeof(pk));
	v->have_session = 1;
	v->session = rec->session;
	v->epoch = 0;
	return 0;
}

static int check_mac(struct vctx *v, const struct audit_rec *rec, const char *line, size_t len,
		     const char *path, uint64_t ln)
{
	if (rec->epoch < v->epoch)
		return fail(v, path, ln, "MAC epoch goes backwards");
	if (rec->epoch - v->epoch > EPOCH_STEP_MAX)
		return fail(v, path, ln, "implausible MAC epoch");
	while (v->epoch < rec->epoch) {
		if (audit_chain_evolve(v->key) < 0)
			return -EIO;
		v->epoch++;
	}
	if (audit_chain_check(v->key, line, len) < 0)
		return fail(v, path, ln, "MAC mismatch: record modified or forged");
	return 0;
}

static int check_ckpt_rec(struct vctx *v, const struct audit_rec *rec, const char *path, uint64_t ln)
{
	const struct audit_ckpt *c = &rec->ckpt;

	if (c->session != v->session || c->seq != rec->seq - 1 || strcmp(c->head, rec->prev) != 0)
		return fail(v, path, ln, "checkpoint does not cover the record before it");
	if (audit_ckpt_check(c, v->stream, v->pk) < 0)
		return fail(v, path, ln, "bad checkpoint signature");
	v->res->checkpoints++;
	return 0;
}

/* Everything one line must satisfy, in the order that names the most useful
 * reason first: position (seq), chain (prev), session, MAC, checkpoint. */
static int check_line(struct vctx *v, const char *line, size_t len, const char *path, uint64_t ln)
{
	struct audit_rec rec;
	const char *why = "";
	uint64_t want = v->last_seq + 1;
	int r = audit_rec_parse(line, len, &rec, &why);

	if (r < 0) {
		r = fail(v, path, ln, "%s", why);
		goto out;
	}
	if (rec.seq > want)
		r = fail(v, path, ln, "seq %" PRIu64 " where %" PRIu64 " was due: records %" PRIu64 "..%" PRIu64
			 " missing (deleted lines or file)", rec.seq, want, want, rec.seq - 1);
	else if (rec.seq < want)
		r = fail(v, path, ln, "seq %" PRIu64 " where %" PRIu64 " was due: records reordered or duplicated",
			 rec.seq, want);
	else if (strcmp(rec.prev, v->head) != 0)
		r = fail(v, path, ln, "chain broken: prev is not the hash of the previous record");
	else if (rec.is_start)
		r = start_session(v, &rec, path, ln);
	else if (!v->have_session)
		r = fail(v, path, ln, "record before any audit-start");
	if (r == 0)
		r = check_mac(v, &rec, line, len, path, ln);
	if (r == 0 && rec.is_ckpt)
		r = check_ckpt_rec(v, &rec, path, ln);
	if (r == 0)
		r = audit_chain_hash(line, len, v->head);
	if (r == 0) {
		v->last_seq = rec.seq;
		v->res->records++;
	}
out:
	audit_rec_free(&rec);
	return r;
}

/* The checkpoint file entries at or below the seq just verified must name
 * exactly that record's hash. */
static int match_ckpts(struct vctx *v, const char *path, uint64_t ln)
{
	char cpath[PATH_MAX];

	for (; v->ci < v->nck && v->ck[v->ci].seq <= v->last_seq; v->ci++) {
		if (v->ck[v->ci].seq == v->last_seq && strcmp(v->ck[v->ci].head, v->head) != 0) {
			snprintf(cpath, sizeof(cpath), "%s/" AUDIT_CKPT_FILE, v->keys_dir, v->stream);
			return fail(v, path, ln, "record differs from the one signed in %s:%" PRIu64,
				    cpath, v->ck_line[v->ci]);
		}
	}
	return 0;
}

static int walk_file(struct vctx *v, const struct vfile *vf, uint64_t *lines)
{
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t ln = 0;
	int nl, r = 0;
	FILE *f = fopen(vf->path, "re");

	if (!f) {
		r = -errno;
		fail(v, vf->path, 0, "unreadable (%s)", strerror(-r));
		return r;
	}
	while (r == 0 && (n = next_line(f, &buf, &cap, &nl)) >= 0) {
		ln++;
		if (!nl) {
			/* A crash mid-write leaves a fragment the writer never
			 * appends after; the chain goes on without it. */
			v->res->torn++;
			ln--;   /* the next record would have been this line */
			break;
		}
		if (ln == 1 && v->last_seq + 1 < vf->first)
			r = fail(v, vf->path, ln, "file starts at seq %" PRIu64 " but the stream ends at %" PRIu64
				 ": records missing (deleted file?)", vf->first, v->last_seq);
		if (r == 0)
			r = check_line(v, buf, (size_t)n, vf->path, ln);
		if (r == 0 && ln == 1 && v->last_seq != vf->first)
			r = fail(v, vf->path, ln, "first record is not the seq the file name says");
		if (r == 0)
			r = match_ckpts(v, vf->path, ln);
	}
	if (r == 0 && ferror(f)) {
		r = -EIO;
		fail(v, vf->path, 0, "read error");
	}
	*lines = ln;
	free(buf);
	fclose(f);
	return r;
}

static int walk_stream(struct vctx *v, const struct vfile *files, size_t n)
{
	uint64_t lines = 0;
	const char *last = files[n - 1].path;
	int r;

	v->stream = files[0].stream;
	v->last_seq = 0;
	memcpy(v->head, AUDIT_ZERO_HEAD, sizeof(v->head));
	v->have_session = 0;
	v->nck = v->ci = 0;
	r = load_ckpts(v);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = walk_file(v, &files[i], &lines);
	if (r == 0 && v->ci < v->nck)
		r = fail(v, last, lines + 1, "log ends at seq %" PRIu64 " but %s/" AUDIT_CKPT_FILE ":%" PRIu64
			 " signs seq %" PRIu64 ": truncated", v->last_seq, v->keys_dir, v->stream,
			 v->ck_line[v->ci], v->ck[v->ci].seq);
	v->res->streams++;
	return r;
}

/* ---- collecting files ---- */

struct vset {
	struct vfile *f;
	size_t n;
	char **dirs;                    /* directories given (realpath) */
	size_t ndirs;
};

static int add_file(struct vset *s, const char *path, const char *stream, uint64_t first)
{
	struct vfile *a = realloc(s->f, (s->n + 1) * sizeof(*a));

	if (!a)
		return -ENOMEM;
	s->f = a;
	a[s->n].path = strdup(path);
	if (!a[s->n].path)
		return -ENOMEM;
	snprintf(a[s->n].stream, sizeof(a[s->n].stream), "%s", stream);
	a[s->n].first = first;
	s->n++;
	return 0;
}

static int add_dir(struct vctx *v, struct vset *s, const char *dir)
{
	char stream[AUDIT_STREAM_MAX + 1], path[PATH_MAX], *real = realpath(dir, NULL), **d;
	struct dirent *e;
	uint64_t first;
	DIR *dp = opendir(dir);
	int r = 0;

	if (!dp || !real) {
		r = -errno;
		if (dp)
			closedir(dp);
		free(real);
		fail(v, dir, 0, "unreadable (%s)", strerror(-r));
		return r;
	}
	while (r == 0 && (e = readdir(dp))) {
		if (audit_spool_name_parse(e->d_name, stream, &first) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		r = add_file(s, path, stream, first);
	}
	closedir(dp);
	d = realloc(s->dirs, (s->ndirs + 1) * sizeof(*d));
	if (!d) {
		free(real);
		return -ENOMEM;
	}
	s->dirs = d;
	d[s->ndirs++] = real;
	return r;
}

static int add_path(struct vctx *v, struct vset *s, const char *p)
{
	char stream[AUDIT_STREAM_MAX + 1];
	const char *base = strrchr(p, '/');
	struct stat st;
	uint64_t first;

	if (stat(p, &st) < 0) {
		int r = -errno;

		fail(v, p, 0, "unreadable (%s)", strerror(-r));
		return r;
	}
	if (S_ISDIR(st.st_mode))
		return add_dir(v, s, p);
	base = base ? base + 1 : p;
	if (audit_spool_name_parse(base, stream, &first) < 0) {
		fail(v, p, 0, "not an audit spool file name (STREAM.SEQ.log)");
		return -EINVAL;
	}
	return add_file(s, p, stream, first);
}

static int vfile_cmp(const void *a, const void *b)
{
	const struct vfile *x = a, *y = b;
	int c = strcmp(x->stream, y->stream);

	if (c)
		return c;
	return x->first < y->first ? -1 : x->first > y->first;
}

/* The same file named twice (a file and its directory): walked once. */
static void dedupe(struct vset *s)
{
	size_t k = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (k && vfile_cmp(&s->f[k - 1], &s->f[i]) == 0) {
			free(s->f[i].path);
			continue;
		}
		s->f[k++] = s->f[i];
	}
	s->n = k;
}

/* A stream whose checkpoint file says its spool was one of the directories
 * given, but which has no file there: the whole stream was deleted. */
static int orphan_streams(struct vctx *v, const struct vset *s)
{
	char stream[AUDIT_STREAM_MAX + 1], spool[PATH_MAX], *line = NULL;
	struct json_object *o = NULL;
	struct dirent *e;
	size_t cap = 0, n;
	DIR *dp = NULL;
	FILE *f;
	int r = 0, nl, fd, known;

	if (!s->ndirs || fdio_opendir(v->keysfd, &dp) < 0)
		return 0;
	while (r == 0 && (e = readdir(dp))) {
		n = strlen(e->d_name);
		if (n <= 5 || n - 5 > AUDIT_STREAM_MAX || strcmp(e->d_name + n - 5, ".ckpt") != 0)
			continue;
		memcpy(stream, e->d_name, n - 5);
		stream[n - 5] = '\0';
		known = 0;
		for (size_t i = 0; i < s->n && !known; i++)
			known = strcmp(s->f[i].stream, stream) == 0;
		fd = known ? -1 : openat(v->keysfd, e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		f = fd >= 0 ? fdopen(fd, "r") : NULL;
		if (!f) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (next_line(f, &line, &cap, &nl) > 0 && (o = json_tokener_parse(line)) &&
		    get_str(o, "spool", spool, sizeof(spool)) == 0) {
			for (size_t i = 0; i < s->ndirs && r == 0; i++)
				if (strcmp(spool, s->dirs[i]) == 0)
					r = fail(v, s->dirs[i], 0, "stream %s has checkpoints in %s but no log "
						 "files here: deleted", stream, v->keys_dir);
		}
		json_object_put(o);
		o = NULL;
		fclose(f);
	}
	free(line);
	closedir(dp);
	return r;
}

static void vset_free(struct vset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->f[i].path);
	for (size_t i = 0; i < s->ndirs; i++)
		free(s->dirs[i]);
	free(s->f);
	free(s->dirs);
}

int audit_verify(const char *const *files, size_t n, const char *keys_dir, struct audit_verify_result *r)
{
	struct vctx v = { .keysfd = -1, .res = r };
	struct vset s = { 0 };
	size_t i, j;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->ok = 1;
	v.keys_dir = keys_dir ? keys_dir : AUDIT_KEYS_DIR_DEFAULT;
	v.keysfd = open(v.keys_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (v.keysfd < 0) {
		rc = -errno;
		fail(&v, v.keys_dir, 0, "verification material unreadable (%s)", strerror(-rc));
		goto out;
	}
	v.key = secmem_alloc(AUDIT_KEY_LEN);
	rc = v.key ? 0 : -ENOMEM;
	for (i = 0; rc == 0 && i < n; i++)
		rc = add_path(&v, &s, files[i]);
	if (rc < 0)
		goto out;
	if (s.n) {
		qsort(s.f, s.n, sizeof(*s.f), vfile_cmp);
		dedupe(&s);
	}
	for (i = 0; rc == 0 && i < s.n; i = j) {
		for (j = i + 1; j < s.n && strcmp(s.f[j].stream, s.f[i].stream) == 0; j++)
			;
		rc = walk_stream(&v, s.f + i, j - i);
	}
	if (rc == 0)
		rc = orphan_streams(&v, &s);
out:
	if (rc > 0)
		rc = 0;   /* tampered: r->ok says so */
	if (rc < 0)
		r->ok = 0;
	secmem_free(v.key);
	free(v.ck);
	free(v.ck_line);
	vset_free(&s);
	if (v.keysfd >= 0)
		close(v.keysfd);
	return rc;
}
