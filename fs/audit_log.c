/*
 * audit_log.c: the audit log writer — one stream's chain, its forward-secure
 * MAC key, its signed checkpoints, and the sinks every line goes to.
 * Owns: the record envelope (v, seq, time, host, epoch, prev, mac), the
 * writer session (lock, fresh k_0 and Ed25519 key pair written to keys_dir,
 * the audit-start/audit-stop records), the timers (MAC epochs, checkpoints,
 * rotation, batched sync). It does not decide what to do when a sink fails
 * (the caller's audit_on_failure policy does) and knows nothing of FUSE.
 * Spec: docs/AUDIT_FORMAT.md.
 *
 * A record that could not be written to the spool does not advance the
 * chain: the next one takes its seq, so the log stays gap-free and the
 * caller's "audit-gap" record accounts for what was lost.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "audit_chain.h"
#include "audit_line.h"
#include "audit_log.h"
#include "audit_spool.h"
#include "audit_syslog.h"
#include "cipher.h"
#include "fdio.h"
#include "secmem.h"

#define SYSLOG_SINKS_MAX 4
#define LOCK_TRIES 100          /* × 100 ms: another CLI tool finishing its record */
#define TIME_MAX 40             /* RFC 3339 with µs, and room for odd years */

struct audit_log {
	char stream[AUDIT_STREAM_MAX + 1];
	char host[256];
	char *vol;
	char *spool_real;             /* realpath of the spool dir, named in the checkpoint file */
	int keysfd;                   /* keys_dir */
	int lockfd;                   /* flock'd: one writer per stream */
	int ckptfd;                   /* checkpoint file, O_APPEND */
	struct audit_spool *spool;
	struct audit_syslog *sys[SYSLOG_SINKS_MAX];
	size_t nsys;
	uint64_t seq;                 /* last record written */
	char head[AUDIT_HEX_LEN + 1]; /* its line's hash */
	uint64_t session;             /* seq of this session's audit-start */
	uint64_t records;             /* appended in this session */
	uint8_t *key;                 /* secmem: k_epoch */
	struct cipher_hmac *mac;      /* k_epoch set up for the records' MACs */
	uint64_t epoch;
	uint8_t *sk;                  /* secmem: Ed25519 secret key */
	uint8_t pk[AUDIT_PK_LEN];
	uint64_t start_ms, epoch_ms;
	uint64_t ckpt_records, ckpt_ms, since, last_ckpt_ms;
	uint64_t sync_ms, last_sync_ms;
	uint64_t (*clock_ms)(void);
	struct audit_line line;       /* the record being sealed (reused) */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t now_ms(const struct audit_log *l)
{
	return l->clock_ms ? l->clock_ms() : mono_ms();
}

/* RFC 3339 UTC with microseconds. */
static void rfc3339_now(char out[TIME_MAX])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, TIME_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, TIME_MAX - n, ".%06dZ", (int)(ts.tv_nsec / 1000));
}

/* Moves the MAC key forward to the current epoch; each old key is
 * overwritten in place, so nothing in memory can re-MAC an older record. */
static int advance_epoch(struct audit_log *l, uint64_t now)
{
	uint64_t want = (now - l->start_ms) / l->epoch_ms;
	int r = 0;

	if (l->epoch >= want && l->mac)
		return 0;
	/* The old key's HMAC context goes first: nothing may keep it. */
	cipher_hmac_free(l->mac);
	l->mac = NULL;
	while (r == 0 && l->epoch < want) {
		r = audit_chain_evolve(l->key);
		if (r == 0)
			l->epoch++;
	}
	if (r == 0)
		r = cipher_hmac_new(l->key, AUDIT_KEY_LEN, &l->mac);   /* the new key's */
	return r;
}

static int add_str(struct json_object *o, const char *k, const char *v)
{
	struct json_object *s = json_object_new_string(v);

	if (!s || json_object_object_add(o, k, s) < 0) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

static int add_int(struct json_object *o, const char *k, int64_t v)
{
	struct json_object *s = json_object_new_int64(v);

	if (!s || json_object_object_add(o, k, s) < 0) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

static int is_envelope(const char *k, void *arg)
{
	static const char *const env[] = { "v", "seq", "time", "host", "vol", "epoch", "prev", "mac" };

	(void)arg;
	for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++)
		if (strcmp(k, env[i]) == 0)
			return 1;
	return 0;
}

/* Hands the caller's object what the line says it is. */
static void annotate(struct json_object *rec, const char *line, size_t len, uint64_t seq, const char *prev)
{
	add_int(rec, "v", 1);
	add_int(rec, "seq", (int64_t)seq);
	add_str(rec, "prev", prev);
	if (len >= AUDIT_MAC_SUFFIX_LEN) {
		char mac[AUDIT_HEX_LEN + 1];

		memcpy(mac, line + len - AUDIT_HEX_LEN - 2, AUDIT_HEX_LEN);
		mac[AUDIT_HEX_LEN] = '\0';
		add_str(rec, "mac", mac);
	}
}

static int send_syslog(struct audit_log *l, const char *time, const char *line, size_t len)
{
	int r = 0, rs;

	for (size_t i = 0; i < l->nsys; i++) {
		rs = audit_syslog_send(l->sys[i], time, line, len);
		if (rs < 0 && r == 0)
			r = rs;
	}
	return r;
}

static int sync_due(struct audit_log *l, uint64_t now, int force)
{
	int r = 0;

	if (l->spool && (force || l->sync_ms == 0 || now - l->last_sync_ms >= l->sync_ms)) {
		r = audit_spool_sync(l->spool);
		l->last_sync_ms = now;
	}
	return r;
}

/* Seals the record body in l->line (a JSON object, no mac member) in place
 * and writes it; counted toward the checkpoint cadence unless it is a
 * checkpoint itself. A record the spool did not take leaves the chain where
 * it was (-errno, *took 0); one that reached the spool but not a syslog
 * sink or not the disk (fdatasync) advances it (*took 1), and the error is
 * still returned. prev: the chain head before it. */
static int write_line(struct audit_log *l, const char *time, int counted, uint64_t now,
		      char prev[AUDIT_HEX_LEN + 1], int *took)
{
	struct audit_line *b = &l->line;
	size_t len = 0;
	int r, rs;

	*took = 0;
	r = !l->mac ? -EIO : audit_line_room(b, AUDIT_MAC_SUFFIX_LEN) ? 0 : -ENOMEM;
	if (r == 0)
		r = audit_chain_seal(l->mac, b->buf, b->len, b->cap, &len);
	if (r == 0 && l->spool)
		r = audit_spool_write(l->spool, l->seq + 1, b->buf, len, now);
	if (r < 0)
		return r;
	b->len = len;
	/* A sync that could not write this very line out takes it back: the
	 * spool did not take it after all. */
	rs = sync_due(l, now, 0);
	if (rs < 0 && l->spool && audit_spool_unwrite(l->spool, len + 1) == 0)
		return rs;
	*took = 1;
	memcpy(prev, l->head, AUDIT_HEX_LEN + 1);
	l->seq++;
	l->records++;
	if (counted)
		l->since++;
	r = audit_chain_hash(b->buf, len, l->head);
	if (r == 0)
		r = rs;
	rs = send_syslog(l, time, b->buf, len);
	if (r == 0)
		r = rs;
	return r;
}

/* {"v":1,"seq":S,"time":"T", then the caller's members. */
static void body_start(struct audit_log *l, const char *time)
{
	audit_line_reset(&l->line);
	audit_line_raw(&l->line, "{", 1);
	audit_line_key(&l->line, "v");
	audit_line_int(&l->line, 1);
	audit_line_key(&l->line, "seq");
	audit_line_int(&l->line, (int64_t)(l->seq + 1));
	audit_line_key(&l->line, "time");
	audit_line_str(&l->line, time);
}

/* ,"epoch":E,"prev":"P"} after the caller's members. */
static void body_end(struct audit_log *l)
{
	audit_line_key(&l->line, "epoch");
	audit_line_int(&l->line, (int64_t)l->epoch);
	audit_line_key(&l->line, "prev");
	audit_line_str(&l->line, l->head);
	audit_line_raw(&l->line, "}", 1);
}

/* The envelope first (v, seq, time, host, vol), the caller's members in
 * their order, then epoch and prev; the mac is added by sealing. */
static int body_json(struct audit_log *l, struct json_object *rec, char time[TIME_MAX])
{
	struct json_object *t = NULL;

	if (json_object_object_get_ex(rec, "time", &t) && json_object_is_type(t, json_type_string))
		snprintf(time, TIME_MAX, "%s", json_object_get_string(t));
	else
		rfc3339_now(time);
	body_start(l, time);
	audit_line_key(&l->line, "host");
	if (json_object_object_get_ex(rec, "host", &t))
		audit_line_json(&l->line, t);
	else
		audit_line_str(&l->line, l->host);
	if (json_object_object_get_ex(rec, "vol", &t)) {
		audit_line_key(&l->line, "vol");
		audit_line_json(&l->line, t);
	} else if (l->vol) {
		audit_line_key(&l->line, "vol");
		audit_line_str(&l->line, l->vol);
	}
	audit_line_members(&l->line, rec, is_envelope, NULL);
	body_end(l);
	return audit_line_done(&l->line);
}

static int append(struct audit_log *l, struct json_object *rec, int counted)
{
	char time[TIME_MAX], prev[AUDIT_HEX_LEN + 1];
	uint64_t now = now_ms(l);
	int r, took = 0;

	r = advance_epoch(l, now);
	if (r == 0)
		r = body_json(l, rec, time);
	if (r == 0)
		r = write_line(l, time, counted, now, prev, &took);
	if (took)
		annotate(rec, l->line.buf, l->line.len, l->seq, prev);
	return r;
}

/* One checkpoint line, for the checkpoint file and (as "ckpt") the log. */
static int ckpt_object(struct audit_log *l, const char *time, int with_stream, struct json_object **out)
{
	uint8_t sig[AUDIT_SIG_LEN];
	char sighex[2 * AUDIT_SIG_LEN + 1];
	char *msg = NULL;
	size_t mlen = 0;
	struct json_object *o = json_object_new_object();
	int r = o ? 0 : -ENOMEM;

	if (r == 0)
		r = audit_chain_ckpt_msg(l->stream, l->session, l->seq, l->head, time, &msg, &mlen);
	if (r == 0)
		r = audit_chain_sign(l->sk, msg, mlen, sig);
	audit_hex(sig, sizeof(sig), sighex);
	if (r == 0 && with_stream)
		r = add_str(o, "stream", l->stream);
	if (r == 0 && with_stream && l->spool_real)
		r = add_str(o, "spool", l->spool_real);
	if (r == 0)
		r = add_int(o, "session", (int64_t)l->session);
	if (r == 0)
		r = add_int(o, "seq", (int64_t)l->seq);
	if (r == 0)
		r = add_str(o, "head", l->head);
	if (r == 0)
		r = add_str(o, "time", time);
	if (r == 0)
		r = add_str(o, "sig", sighex);
	free(msg);
	if (r < 0) {
		json_object_put(o);
		return r;
	}
	*out = o;
	return 0;
}

static int ckpt_file_append(struct audit_log *l, struct json_object *c)
{
	size_t len = 0;
	const char *s = json_object_to_json_string_length(c, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	int r = s ? audit_spool_write_line(l->ckptfd, s, len) : -ENOMEM;

	if (r == 0 && fdatasync(l->ckptfd) < 0)
		r = -errno;
	return r;
}

/* Without a spool nothing on disk says where the chain stands: the head is
 * saved at every checkpoint (after its record) and read at the next open.
 * After a crash the next session continues from the last checkpoint; the
 * records after it keep their seq at the collectors, and the new
 * audit-start's "chain" shows the fork (docs/AUDIT_FORMAT.md "Files"). */
static int write_material(int dirfd, const char *name, const void *buf, size_t len);

static int save_head(struct audit_log *l)
{
	char name[AUDIT_STREAM_MAX + 16], tmp[AUDIT_STREAM_MAX + 16], buf[32 + AUDIT_HEX_LEN];
	int n, r;

	if (l->spool)
		return 0;
	snprintf(name, sizeof(name), AUDIT_HEAD_FILE, l->stream);
	snprintf(tmp, sizeof(tmp), AUDIT_HEAD_FILE ".tmp", l->stream);
	n = snprintf(buf, sizeof(buf), "%" PRIu64 " %s\n", l->seq, l->head);
	r = write_material(l->keysfd, tmp, buf, (size_t)n);
	if (r == 0 && renameat(l->keysfd, tmp, l->keysfd, name) < 0)
		r = -errno;
	if (r == 0 && fsync(l->keysfd) < 0)
		r = -errno;
	return r;
}

static int load_head(struct audit_log *l, struct audit_tail *t)
{
	char name[AUDIT_STREAM_MAX + 16], buf[32 + AUDIT_HEX_LEN + 2];
	size_t got = 0;
	int fd, r;
	unsigned long long seq;

	snprintf(name, sizeof(name), AUDIT_HEAD_FILE, l->stream);
	fd = openat(l->keysfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	r = fdio_read(fd, buf, sizeof(buf) - 1, &got);
	close(fd);
	if (r < 0)
		return r;
	buf[got] = '\0';
	if (sscanf(buf, "%llu %64s", &seq, t->head) != 2 || strlen(t->head) != AUDIT_HEX_LEN)
		return -EBADMSG;
	t->seq = seq;
	return 0;
}

/* Signs (stream, session, seq, head, time) of the last record: first to the
 * checkpoint file in keys_dir (so a truncated log is caught against it),
 * then as a "checkpoint" record in the log. The spool is synced first: the
 * checkpoint file never covers what the log could still lose. */
static int checkpoint(struct audit_log *l)
{
	struct json_object *c = NULL, *file = NULL, *rec = NULL;
	char time[TIME_MAX];
	uint64_t now = now_ms(l);
	int r;

	rfc3339_now(time);
	r = sync_due(l, now, 1);
	if (r == 0)
		r = ckpt_object(l, time, 1, &file);
	if (r == 0)
		r = ckpt_file_append(l, file);
	if (r == 0)
		r = ckpt_object(l, time, 0, &c);
	rec = r == 0 ? json_object_new_object() : NULL;
	if (r == 0 && !rec)
		r = -ENOMEM;
	if (r == 0)
		r = add_str(rec, "event", "checkpoint");
	if (r == 0)
		r = add_str(rec, "result", "ok");
	if (r == 0) {
		r = json_object_object_add(rec, "ckpt", c) < 0 ? -ENOMEM : 0;
		if (r == 0)
			c = NULL;
	}
	if (r == 0)
		r = append(l, rec, 0);
	if (r == 0) {
		l->since = 0;
		l->last_ckpt_ms = now;
		r = save_head(l);
	}
	json_object_put(c);
	json_object_put(file);
	json_object_put(rec);
	return r;
}

/* Timers: checkpoint when N records or S seconds have passed since the
 * last one with records in between (an idle stream's tail is already
 * covered), rotation after a checkpoint so each file ends signed. */
static int tick(struct audit_log *l)
{
	uint64_t now = now_ms(l);
	int r = advance_epoch(l, now), rotate;

	rotate = l->spool && audit_spool_due(l->spool, now);
	if (r == 0 && l->since > 0 &&
	    (rotate || l->since >= l->ckpt_records || now - l->last_ckpt_ms >= l->ckpt_ms))
		r = checkpoint(l);
	if (r == 0 && rotate)
		r = audit_spool_rotate(l->spool);
	return r;
}

int audit_log_append(struct audit_log *l, struct json_object *rec)
{
	int r;

	if (!l || !rec || !json_object_is_type(rec, json_type_object))
		return -EINVAL;
	r = tick(l);
	if (r == 0)
		r = append(l, rec, 1);
	if (r == 0 && l->since >= l->ckpt_records)
		r = checkpoint(l);
	return r;
}

int audit_log_append_members(struct audit_log *l, const char *time, const char *members,
			     size_t len)
{
	char prev[AUDIT_HEX_LEN + 1];
	uint64_t now;
	int r, took;

	if (!l || !time || (len && !members))
		return -EINVAL;
	r = tick(l);
	now = now_ms(l);
	if (r == 0)
		r = advance_epoch(l, now);
	if (r == 0) {
		body_start(l, time);
		if (len)
			audit_line_raw(&l->line, ",", 1);
		audit_line_raw(&l->line, members, len);
		body_end(l);
		r = audit_line_done(&l->line);
	}
	if (r == 0)
		r = write_line(l, time, 1, now, prev, &took);
	if (r == 0 && l->since >= l->ckpt_records)
		r = checkpoint(l);
	return r;
}

int audit_log_flush(struct audit_log *l)
{
	if (!l)
		return -EINVAL;
	return l->spool ? audit_spool_flush_due(l->spool, now_ms(l)) : 0;
}

uint64_t audit_log_flush_in(struct audit_log *l)
{
	return l && l->spool ? audit_spool_flush_in(l->spool, now_ms(l)) : 0;
}

int audit_log_sync(struct audit_log *l)
{
	int r;

	if (!l)
		return -EINVAL;
	r = tick(l);
	if (r == 0)
		r = sync_due(l, now_ms(l), 1);
	return r;
}

/* Releases everything without writing: failed opens, and the end of close. */
static void free_log(struct audit_log *l)
{
	for (size_t i = 0; i < l->nsys; i++)
		audit_syslog_close(l->sys[i]);
	audit_spool_close(l->spool);
	audit_line_free(&l->line);
	cipher_hmac_free(l->mac);
	secmem_free(l->key);
	secmem_free(l->sk);
	if (l->ckptfd >= 0)
		close(l->ckptfd);
	if (l->lockfd >= 0)
		close(l->lockfd);   /* drops the flock */
	if (l->keysfd >= 0)
		close(l->keysfd);
	free(l->vol);
	free(l->spool_real);
	free(l);
}

static int stop_record(struct audit_log *l)
{
	struct json_object *rec = json_object_new_object();
	int r = rec ? 0 : -ENOMEM;

	if (r == 0)
		r = add_str(rec, "event", "audit-stop");
	if (r == 0)
		r = add_str(rec, "result", "ok");
	if (r == 0)
		r = add_int(rec, "session", (int64_t)l->session);
	if (r == 0)
		r = add_int(rec, "records", (int64_t)l->records + 1);
	if (r == 0)
		r = append(l, rec, 1);
	json_object_put(rec);
	return r;
}

void audit_log_close(struct audit_log *l)
{
	if (!l)
		return;
	/* Best effort: a sink that failed now fails again at the next session's
	 * open, which is where the caller can still act on it. */
	if (stop_record(l) == 0)
		checkpoint(l);
	if (l->spool)
		audit_spool_sync(l->spool);
	free_log(l);
}

/* ---- opening a session ---- */

static int write_material(int dirfd, const char *name, const void *buf, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	int r;

	if (fd < 0)
		return -errno;
	r = fdio_write(fd, buf, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Fresh k_0 and Ed25519 key pair for this session, k_0 and the public key
 * on disk in keys_dir before the first record uses them. */
static int session_keys(struct audit_log *l)
{
	char name[AUDIT_STREAM_MAX + 40];
	int r;

	l->key = secmem_alloc(AUDIT_KEY_LEN);
	l->sk = secmem_alloc(AUDIT_SK_LEN);
	if (!l->key || !l->sk)
		return -ENOMEM;
	r = cipher_random(l->key, AUDIT_KEY_LEN);
	if (r == 0)
		r = cipher_hmac_new(l->key, AUDIT_KEY_LEN, &l->mac);
	if (r == 0)
		r = audit_chain_keypair(l->pk, l->sk);
	snprintf(name, sizeof(name), AUDIT_KEY_FILE, l->stream, l->session);
	if (r == 0)
		r = write_material(l->keysfd, name, l->key, AUDIT_KEY_LEN);
	snprintf(name, sizeof(name), AUDIT_PUB_FILE, l->stream, l->session);
	if (r == 0)
		r = write_material(l->keysfd, name, l->pk, AUDIT_PK_LEN);
	if (r == 0 && fsync(l->keysfd) < 0)
		r = -errno;
	return r;
}

static int lock_stream(struct audit_log *l)
{
	char name[AUDIT_STREAM_MAX + 8];
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	snprintf(name, sizeof(name), AUDIT_LOCK_FILE, l->stream);
	l->lockfd = openat(l->keysfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (l->lockfd < 0)
		return -errno;
	for (int i = 0; i < LOCK_TRIES; i++) {
		if (flock(l->lockfd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK)
			return -errno;
		nanosleep(&ts, NULL);
	}
	return -EBUSY;
}

static int open_sinks(struct audit_log *l, const char *spec)
{
	char *copy = NULL, *save = NULL, *tok;
	int r = 0;

	if (!spec || !*spec)
		return 0;
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && r == 0; tok = strtok_r(NULL, ",", &save)) {
		if (l->nsys == SYSLOG_SINKS_MAX)
			r = -E2BIG;
		else
			r = audit_syslog_open(tok, l->host, l->stream, &l->sys[l->nsys]);
		if (r == 0)
			l->nsys++;
	}
	free(copy);
	return r;
}

static int start_record(struct audit_log *l, uint64_t from_seq, const char *from_head)
{
	struct json_object *rec = json_object_new_object(), *chain = json_object_new_object();
	struct json_object *ck = json_object_new_object();
	char pk[2 * AUDIT_PK_LEN + 1];
	int r = rec && chain && ck ? 0 : -ENOMEM;

	audit_hex(l->pk, sizeof(l->pk), pk);
	if (r == 0)
		r = add_str(rec, "event", "audit-start");
	if (r == 0)
		r = add_str(rec, "result", "ok");
	if (r == 0)
		r = add_str(rec, "stream", l->stream);
	if (r == 0)
		r = add_int(rec, "session", (int64_t)l->session);
	if (r == 0)
		r = add_str(rec, "pub", pk);
	if (r == 0)
		r = add_int(chain, "seq", (int64_t)from_seq);
	if (r == 0)
		r = add_str(chain, "head", from_head);
	if (r == 0) {
		r = json_object_object_add(rec, "chain", chain) < 0 ? -ENOMEM : 0;
		chain = r == 0 ? NULL : chain;
	}
	if (r == 0)
		r = add_int(rec, "epoch_ms", (int64_t)l->epoch_ms);
	if (r == 0)
		r = add_int(ck, "records", (int64_t)l->ckpt_records);
	if (r == 0)
		r = add_int(ck, "ms", (int64_t)l->ckpt_ms);
	if (r == 0) {
		r = json_object_object_add(rec, "checkpoint", ck) < 0 ? -ENOMEM : 0;
		ck = r == 0 ? NULL : ck;
	}
	if (r == 0)
		r = add_int(rec, "pid", (int64_t)getpid());
	if (r == 0)
		r = append(l, rec, 1);
	json_object_put(chain);
	json_object_put(ck);
	json_object_put(rec);
	return r;
}

static void set_params(struct audit_log *l, const struct audit_log_opts *o)
{
	l->epoch_ms = 1000ull * (o->mac_epoch_seconds ? o->mac_epoch_seconds : AUDIT_EPOCH_SECONDS_DEFAULT);
	l->ckpt_records = o->checkpoint_records ? o->checkpoint_records : AUDIT_CHECKPOINT_RECORDS_DEFAULT;
	l->ckpt_ms = 1000ull * (o->checkpoint_seconds ? o->checkpoint_seconds : AUDIT_CHECKPOINT_SECONDS_DEFAULT);
	l->sync_ms = o->sync_ms;
	l->clock_ms = o->clock_ms;
}

int audit_log_mkdirs(const char *dir)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

const char *audit_log_keys_dir(const char *keys_dir)
{
	return keys_dir ? keys_dir : AUDIT_KEYS_DIR_DEFAULT;
}

static int open_dirs(struct audit_log *l, const struct audit_log_opts *o, struct audit_tail *tail)
{
	const char *kd = audit_log_keys_dir(o->keys_dir);
	uint64_t rot_ms = 1000ull * (o->rotate_seconds ? o->rotate_seconds : AUDIT_ROTATE_SECONDS_DEFAULT);
	char name[AUDIT_STREAM_MAX + 8];
	int r;

	/* A first mount on a new machine: /var/lib/phifs may not exist yet. */
	r = audit_log_mkdirs(kd);
	if (r < 0)
		return r;
	l->keysfd = open(kd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->keysfd < 0)
		return -errno;
	r = lock_stream(l);
	if (r < 0)
		return r;
	snprintf(name, sizeof(name), AUDIT_CKPT_FILE, l->stream);
	l->ckptfd = openat(l->keysfd, name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (l->ckptfd < 0)
		return -errno;
	tail->seq = 0;
	memcpy(tail->head, AUDIT_ZERO_HEAD, sizeof(tail->head));
	if (o->spool_dir)
		r = audit_spool_open(o->spool_dir, l->stream,
				     o->rotate_bytes ? o->rotate_bytes : AUDIT_ROTATE_BYTES_DEFAULT, rot_ms,
				     now_ms(l), &l->spool, tail);
	else
		r = load_head(l, tail);
	if (r == 0 && o->spool_dir) {
		l->spool_real = realpath(o->spool_dir, NULL);
		r = l->spool_real ? 0 : -errno;
	}
	return r;
}

int audit_log_open(const struct audit_log_opts *o, struct audit_log **out)
{
	struct audit_tail tail;
	struct audit_log *l = NULL;
	int r;

	if (!o || !out || !audit_stream_valid(o->stream))
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->keysfd = l->lockfd = l->ckptfd = -1;
	snprintf(l->stream, sizeof(l->stream), "%s", o->stream);
	if (gethostname(l->host, sizeof(l->host) - 1) < 0 || !l->host[0])
		snprintf(l->host, sizeof(l->host), "-");
	l->vol = o->vol ? strdup(o->vol) : NULL;
	set_params(l, o);
	r = o->vol && !l->vol ? -ENOMEM : 0;
	if (r == 0)
		r = open_dirs(l, o, &tail);
	if (r == 0) {
		l->seq = tail.seq;
		memcpy(l->head, tail.head, sizeof(l->head));
		l->session = tail.seq + 1;
		r = session_keys(l);
	}
	if (r == 0)
		r = open_sinks(l, o->syslog);
	l->start_ms = l->last_ckpt_ms = l->last_sync_ms = now_ms(l);
	if (r == 0)
		r = start_record(l, tail.seq, tail.head);
	/* The session's first checkpoint anchors its start in keys_dir. */
	if (r == 0)
		r = checkpoint(l);
	if (r < 0) {
		free_log(l);
		return r;
	}
	*out = l;
	return 0;
}
