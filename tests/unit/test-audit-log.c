/*
 * test-audit-log.c: the audit writer and verifier (fs/audit_*.c,
 * docs/AUDIT_FORMAT.md): chain/MAC/checkpoint round trip, MAC key evolution
 * across epochs (injected clock), chain continuation across sessions and
 * rotated files, a torn tail after a crash, the local syslog sink, and each
 * tamper case found at its first bad line.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <linux/fs.h>
#include <stdio.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <json-c/json.h>

#include "testutil.h"
#include "audit_chain.h"
#include "audit_log.h"
#include "audit_spool.h"
#include "audit_verify.h"
#include "cipher.h"
#include "fdio.h"
#include "secmem.h"

#define STREAM "00112233445566778899aabbccddeeff"

static uint64_t fake_ms;
static uint64_t fake_clock(void)
{
	return fake_ms;
}

struct env {
	char root[64], spool[96], keys[96];
};

static void clear_append_only(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), flags = 0;

	if (fd < 0)
		return;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_APPEND_FL)) {
		flags &= ~FS_APPEND_FL;
		ioctl(fd, FS_IOC_SETFLAGS, &flags);
	}
	close(fd);
}

/* Spool file names, sorted (they sort by first seq). */
static int spool_files(struct env *e, char names[][256], int cap)
{
	struct dirent *d;
	DIR *dp = opendir(e->spool);
	int n = 0;

	assert_non_null(dp);
	while ((d = readdir(dp)))
		if (strstr(d->d_name, ".log") && n < cap)
			snprintf(names[n++], 256, "%.96s/%.128s", e->spool, d->d_name);
	closedir(dp);
	qsort(names, (size_t)n, 256, (int (*)(const void *, const void *))strcmp);
	return n;
}

static void rm_tree(const char *dir)
{
	struct dirent *d;
	char p[512];
	DIR *dp = opendir(dir);

	if (!dp)
		return;
	while ((d = readdir(dp))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, d->d_name);
		if (d->d_type == DT_DIR) {
			rm_tree(p);
		} else {
			clear_append_only(p);
			unlink(p);
		}
	}
	closedir(dp);
	rmdir(dir);
}

static int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	snprintf(e->root, sizeof(e->root), "/tmp/phifs-audit.XXXXXX");
	assert_non_null(mkdtemp(e->root));
	snprintf(e->spool, sizeof(e->spool), "%s/spool", e->root);
	snprintf(e->keys, sizeof(e->keys), "%s/keys", e->root);
	fake_ms = 1000000;
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;

	rm_tree(e->root);
	free(e);
	return 0;
}

static struct audit_log_opts opts(struct env *e)
{
	struct audit_log_opts o = { 0 };

	o.spool_dir = e->spool;
	o.keys_dir = e->keys;
	o.stream = STREAM;
	o.checkpoint_records = 4;
	o.clock_ms = fake_clock;
	o.vol = STREAM;
	return o;
}

static struct json_object *record(unsigned i)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "event", json_object_new_string("open"));
	json_object_object_add(o, "n", json_object_new_int((int)i));
	json_object_object_add(o, "result", json_object_new_string("ok"));
	return o;
}

/* One writer session of n records, step_ms apart on the fake clock. */
static void write_session(struct env *e, struct audit_log_opts *o, unsigned n, uint64_t step_ms)
{
	struct audit_log *l = NULL;

	assert_int_equal(audit_log_open(o, &l), 0);
	for (unsigned i = 0; i < n; i++) {
		struct json_object *rec = record(i);

		fake_ms += step_ms;
		assert_int_equal(audit_log_append(l, rec), 0);
		json_object_put(rec);
		assert_int_equal(audit_log_sync(l), 0);
	}
	audit_log_close(l);
	(void)e;
}

static int verify_dir(struct env *e, struct audit_verify_result *r)
{
	const char *files[] = { e->spool };

	return audit_verify(files, 1, e->keys, r);
}

/* Lines of a file (with their '\n'), malloc'd. */
static int read_lines(const char *path, char ***out)
{
	FILE *f = fopen(path, "r");
	char **v = NULL, *line = NULL;
	size_t cap = 0;
	int n = 0;

	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		v = realloc(v, (size_t)(n + 1) * sizeof(*v));
		v[n++] = strdup(line);
	}
	free(line);
	fclose(f);
	*out = v;
	return n;
}

static void write_lines(const char *path, char **v, int n)
{
	FILE *f;

	clear_append_only(path);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < n; i++)
		fputs(v[i], f);
	fclose(f);
}

static void free_lines(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void test_round_trip(void **state)
{
	struct env *e = *state;
	struct audit_log_opts o = opts(e);
	struct audit_verify_result r;
	char names[4][256], **lines;
	int n;

	write_session(e, &o, 10, 10);
	assert_int_equal(verify_dir(e, &r), 0);
	assert_true(r.ok);
	/* audit-start, 10 records, audit-stop: 12 counted; a checkpoint at
	 * open, every 4 counted, and at close. */
	assert_int_equal(spool_files(e, names, 4), 1);
	n = read_lines(names[0], &lines);
	assert_int_equal(r.records, (uint64_t)n);
	assert_true(r.checkpoints >= 4);
	assert_non_null(strstr(lines[0], "{\"v\":1,\"seq\":1,\"time\":\""));
	assert_non_null(strstr(lines[0], "\"event\":\"audit-start\""));
	assert_non_null(strstr(lines[0], "\"prev\":\"" AUDIT_ZERO_HEAD "\""));
	assert_non_null(strstr(lines[n - 2], "\"event\":\"audit-stop\""));
	assert_non_null(strstr(lines[n - 1], "\"event\":\"checkpoint\""));
	/* The caller's members keep their order after the envelope. */
	assert_non_null(strstr(lines[2], "\"vol\":\"" STREAM "\",\"event\":\"open\",\"n\":0,\"result\":\"ok\",\"epoch\":0,\"prev\""));
	free_lines(lines, n);
}

static void test_append_only_and_modes(void **state)
{
	struct env *e = *state;
	struct audit_log_opts o = opts(e);
	char names[4][256], path[256];
	struct stat st;
	int fd, flags = 0;

	write_session(e, &o, 1, 1);
	assert_int_equal(spool_files(e, names, 4), 1);
	assert_int_equal(stat(names[0], &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/" STREAM ".%020d.key", e->keys, 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, AUDIT_KEY_LEN);
	/* chattr +a where the filesystem has it (ext4 as root: this machine). */
	fd = open(names[0], O_RDONLY);
	assert_true(fd >= 0);
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && geteuid() == 0)
		assert_true(flags & FS_APPEND_FL);
	close(fd);
}

static void test_epochs(void **state)
{
	struct env *e = *state;
	struct audit_log_opts o = opts(e);
	struct audit_verify_result r;
	uint8_t k[AUDIT_KEY_LEN], k1[AUDIT_KEY_LEN], want[AUDIT_KEY_LEN];
	char names[4][256], **lines, *p;
	int n, epochs = 0;
	long last = -1;

	/* The evolution is HMAC-SHA256(k, "phifs audit epoch"). */
	memset(k, 7, sizeof(k));
	assert_int_equal(cipher_hmac_sha256(k, sizeof(k), "phifs audit epoch", 17, want), 0);
	memcpy(k1, k, sizeof(k));
	assert_int_equal(audit_chain_evolve(k1), 0);
	assert_memory_equal(k1, want, sizeof(want));

	o.mac_epoch_seconds = 1;
	o.checkpoint_seconds = 5;
	o.checkpoint_records = 1000;
	write_session(e, &o, 12, 700);   /* 8.4 s: epochs 0..8 */
	assert_int_equal(verify_dir(e, &r), 0);
	assert_true(r.ok);
	assert_true(r.checkpoints >= 3);   /* open, ~5 s, close */
	assert_int_equal(spool_files(e, names, 4), 1);
	n = read_lines(names[0], &lines);
	for (int i = 0; i < n; i++) {
		long ep;

		p = strstr(lines[i], "\"epoch\":");
		assert_non_null(p);
		ep = strtol(p + 8, NULL, 10);
		assert_true(ep >= last);
		epochs += ep != last;
		last = ep;
	}
	assert_true(last >= 8);
	assert_true(epochs >= 6);
	/* A line MAC'd under epoch e does not verify under epoch e-1's key. */
	{
		uint8_t k0[AUDIT_KEY_LEN];
		char kp[256];
		int fd;
		size_t got = 0;

		snprintf(kp, sizeof(kp), "%s/" STREAM ".%020d.key", e->keys, 1);
		fd = open(kp, O_RDONLY);
		assert_int_equal(fdio_read(fd, k0, sizeof(k0), &got), 0);
		close(fd);
		(void)got;
		for (long i = 0; i < last - 1; i++)
			assert_int_equal(audit_chain_evolve(k0), 0);
		assert_int_equal(audit_chain_check(k0, lines[n - 1], strlen(lines[n - 1]) - 1), -EBADMSG);
		assert_int_equal(audit_chain_evolve(k0), 0);
		assert_int_equal(audit_chain_check(k0, lines[n - 1], strlen(lines[n - 1]) - 1), 0);
	}
	free_lines(lines, n);
}

static void test_sessions_continue(void **state)
{
	struct env *e = *state;
	struct audit_log_opts o = opts(e);
	struct audit_verify_result r;
	char names[4][256], **lines, want[128];
	int n, starts = 0;

	write_session(e, &o, 3, 10);
	write_session(e, &o, 3, 10);
	write_session(e, &o, 3, 10);
	assert_int_equal(verify_dir(e, &r), 0);
	assert_true(r.ok);
	assert_int_equal(spool_files(e, names, 4), 1);   /* appended to the same file */
	n = read_lines(names[0], &lines);
	for (int i = 0; i < n; i++) {
		if (!strstr(lines[i], "\"event\":\"audit-start\""))
			continue;
		starts++;
		/* It names the head it continues from: the previous line. */
		if (i > 0) {
			char h[AUDIT_HEX_LEN + 1];

			assert_int_equal(audit_chain_hash(lines[i - 1], strlen(lines[i - 1]) - 1, h), 0);
			snprintf(want, sizeof(want), "\"chain\":{\"seq\":%d,\"head\":\"%s\"}", i, h);
			assert_non_null(strstr(lines[i], want));
		}
	}
	assert_int_equal(starts, 3);
	free_lines(lines, n);
}

static void test_torn_tail(void **state)
{
	struct env *e = *state;
	struct audit_log_opts o = opts(e);
	struct audit_verify_result r;
	char names[4][256];
	FILE *f;

	write_session(e, &o, 3, 10);
	assert_int_equal(spool_files(e, names, 4), 1);
	clear_append_only(names[0]);
	f = fopen(names[0], "a");
	fputs("{\"v\":1,\"seq\":99,\"ti", f);   /* a crash mid-write */
	fclose(f);
	write_session(e, &o, 3, 10);
	assert_int_equal(spool_files(e, names, 4), 2);   /* never appended after the fragment */
	assert_int_equal(verify_dir(e, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.torn, 1);
}

static void test_syslog_local(void **state)
{
	struct env *e = *state;
	struct audit_log_opts o = opts(e);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct audit_log *l = NULL;
	struct json_object *rec = record(1);
	char spec[160], buf[8192], names[4][256], **lines;
	ssize_t got;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), n;

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/log.sock", e->root);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	snprintf(spec, sizeof(spec), "local:%s", a.sun_path);
	o.syslog = spec;
	assert_int_equal(audit_log_open(&o, &l), 0);
	assert_int_equal(audit_log_append(l, rec), 0);
	json_object_put(rec);
	assert_int_equal(audit_log_sync(l), 0);
	assert_int_equal(spool_files(e, names, 4), 1);
	n = read_lines(names[0], &lines);
	/* audit-start, checkpoint, then our record: each one datagram. */
	for (int i = 0; i < 3; i++) {
		size_t ll = strlen(lines[i]) - 1;

		got = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		assert_true(got > 0);
		buf[got] = '\0';
		assert_memory_equal(buf, "<86>1 ", 6);
		assert_non_null(strstr(buf, " phifs-audit "));
		/* The MSG is the spool line, byte for byte. */
		assert_true((size_t)got > ll);
		assert_memory_equal(buf + got - ll, lines[i], ll);
	}
	audit_log_close(l);
	free_lines(lines, n);
	close(fd);
}

static int count_lines(const char *path)
{
	char **v;
	int n = read_lines(path, &v);

	free_lines(v, n);
	return n;
}

/* Checkpoint cadence when idle: S seconds after records were appended, one
 * checkpoint from the timer alone (to the log and to keys_dir); none while
 * nothing new was appended. And one writer per stream (flock). */
static void test_idle_checkpoint_and_lock(void **state)
{
	struct env *e = *state;
	struct audit_log_opts o = opts(e);
	struct audit_log *l = NULL;
	struct json_object *rec = record(1);
	char names[4][256], ck[256], lk[256];
	int n, c, fd;

	o.checkpoint_records = 1000;
	o.checkpoint_seconds = 60;
	snprintf(ck, sizeof(ck), "%s/" STREAM ".ckpt", e->keys);
	snprintf(lk, sizeof(lk), "%s/" STREAM ".lock", e->keys);
	assert_int_equal(audit_log_open(&o, &l), 0);
	fd = open(lk, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	assert_int_equal(audit_log_append(l, rec), 0);
	json_object_put(rec);
	assert_int_equal(spool_files(e, names, 4), 1);
	n = count_lines(names[0]);
	c = count_lines(ck);
	fake_ms += 59 * 1000;
	assert_int_equal(audit_log_sync(l), 0);
	assert_int_equal(count_lines(names[0]), n);
	fake_ms += 1000;
	assert_int_equal(audit_log_sync(l), 0);
	assert_int_equal(count_lines(names[0]), n + 1);
	assert_int_equal(count_lines(ck), c + 1);
	fake_ms += 600 * 1000;   /* idle: the tail is covered, no heartbeat */
	assert_int_equal(audit_log_sync(l), 0);
	assert_int_equal(count_lines(names[0]), n + 1);
	audit_log_close(l);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
}

/* With batched syncs the spool writes its gathered records once
 * AUDIT_SPOOL_FLUSH_BYTES wait or the oldest is AUDIT_SPOOL_FLUSH_MS old
 * (audit_spool_flush_due), not per call. */
static void test_flush_due(void **state)
{
	struct env *e = *state;
	struct audit_log_opts o = opts(e);
	struct audit_log *l = NULL;
	struct json_object *rec = record(1);
	char names[4][256];
	int n;

	o.sync_ms = 1000;
	o.checkpoint_records = 100000;
	assert_int_equal(audit_log_open(&o, &l), 0);
	assert_int_equal(audit_log_sync(l), 0);   /* as audit_start: its checkpoint record out */
	assert_int_equal(spool_files(e, names, 4), 1);
	n = count_lines(names[0]);
	assert_int_equal(audit_log_flush_in(l), 0);          /* nothing waits */
	assert_int_equal(audit_log_append(l, rec), 0);
	fake_ms += 40;
	assert_int_equal(audit_log_flush_in(l), AUDIT_SPOOL_FLUSH_MS - 40);
	assert_int_equal(audit_log_flush(l), 0);
	assert_int_equal(count_lines(names[0]), n);          /* not due: waits */
	fake_ms += AUDIT_SPOOL_FLUSH_MS - 40;
	assert_int_equal(audit_log_flush_in(l), 1);
	assert_int_equal(audit_log_flush(l), 0);
	assert_int_equal(count_lines(names[0]), n + 1);
	assert_int_equal(audit_log_flush_in(l), 0);
	/* AUDIT_SPOOL_FLUSH_BYTES due at once, the clock standing still */
	for (int i = 0; i < 20000 && count_lines(names[0]) == n + 1; i++) {
		assert_int_equal(audit_log_append(l, rec), 0);
		assert_int_equal(audit_log_flush(l), 0);
	}
	assert_true(count_lines(names[0]) > n + 1);
	assert_true(count_lines(names[0]) < n + 1 + 20000);
	json_object_put(rec);
	audit_log_close(l);
}

/* Datagrams waiting on fd, their MSG (the record line) copied into lines. */
static int recv_lines(int fd, char lines[][2048], int cap)
{
	char buf[4096];
	ssize_t got;
	int n = 0;

	while (n < cap && (got = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[got] = '\0';
		assert_non_null(strchr(buf, '{'));
		snprintf(lines[n++], 2048, "%s", strchr(buf, '{'));
	}
	return n;
}

/* Without a spool the chain still continues across sessions (from the head
 * saved at the last checkpoint), and no session's material is overwritten. */
static void test_no_spool(void **state)
{
	struct env *e = *state;
	struct audit_log_opts o = opts(e);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	static char lines[64][2048];
	char spec[160], want[256], h[AUDIT_HEX_LEN + 1], kp[256];
	struct stat st;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), n, m;

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/log.sock", e->root);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	snprintf(spec, sizeof(spec), "local:%s", a.sun_path);
	o.spool_dir = NULL;
	o.syslog = spec;
	write_session(e, &o, 2, 10);
	n = recv_lines(fd, lines, 64);
	assert_true(n >= 5);
	assert_non_null(strstr(lines[n - 1], "\"event\":\"checkpoint\""));
	write_session(e, &o, 2, 10);
	m = recv_lines(fd, lines + n, 64 - n);
	assert_true(m >= 5);
	assert_non_null(strstr(lines[n], "\"event\":\"audit-start\""));
	assert_int_equal(audit_chain_hash(lines[n - 1], strlen(lines[n - 1]), h), 0);
	snprintf(want, sizeof(want), "{\"v\":1,\"seq\":%d,", n + 1);
	assert_memory_equal(lines[n], want, strlen(want));
	snprintf(want, sizeof(want), "\"chain\":{\"seq\":%d,\"head\":\"%s\"}", n, h);
	assert_non_null(strstr(lines[n], want));
	snprintf(kp, sizeof(kp), "%s/" STREAM ".%020d.key", e->keys, 1);
	assert_int_equal(stat(kp, &st), 0);
	snprintf(kp, sizeof(kp), "%s/" STREAM ".%020d.key", e->keys, n + 1);
	assert_int_equal(stat(kp, &st), 0);
	close(fd);
}

/* A write that fails part-way (RLIMIT_FSIZE: EFBIG, even as root) is
 * returned; the chain does not advance, the fragment is never appended to,
 * the next record takes the same seq in a new file, and the log verifies. */
static void test_write_failure(void **state)
{
	struct env *e = *state;
	struct audit_log_opts o = opts(e);
	struct audit_verify_result r;
	struct audit_log *l = NULL;
	struct json_object *rec, *seq;
	struct rlimit old, lim;
	char names[4][256];
	struct stat st;

	o.checkpoint_records = 1000;
	assert_int_equal(audit_log_open(&o, &l), 0);
	rec = record(1);
	assert_int_equal(audit_log_append(l, rec), 0);
	assert_true(json_object_object_get_ex(rec, "seq", &seq));
	assert_int_equal(json_object_get_int64(seq), 3);   /* audit-start, checkpoint, this */
	json_object_put(rec);
	assert_int_equal(spool_files(e, names, 4), 1);
	assert_int_equal(stat(names[0], &st), 0);

	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size + 40;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rec = record(2);
	assert_int_equal(audit_log_append(l, rec), -EFBIG);
	json_object_put(rec);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);

	rec = record(3);
	assert_int_equal(audit_log_append(l, rec), 0);
	assert_true(json_object_object_get_ex(rec, "seq", &seq));
	assert_int_equal(json_object_get_int64(seq), 4);   /* the failed one left no gap */
	json_object_put(rec);
	audit_log_close(l);
	assert_int_equal(spool_files(e, names, 4), 2);
	assert_int_equal(verify_dir(e, &r), 0);
	if (!r.ok)
		fail_msg("%s", r.first_bad);
	assert_int_equal(r.torn, 1);
}

/* ---- tamper cases on a 16-line log: 1 audit-start, 2 checkpoint,
 * 3-6 records, 7 checkpoint, 8-11 records, 12 checkpoint, 13-14 records,
 * 15 audit-stop, 16 checkpoint ---- */

static int tamper_log(struct env *e, char *path, char ***lines)
{
	struct audit_log_opts o = opts(e);
	char names[4][256];
	int n;

	write_session(e, &o, 10, 10);
	assert_int_equal(spool_files(e, names, 4), 1);
	strcpy(path, names[0]);
	n = read_lines(path, lines);
	assert_int_equal(n, 16);
	assert_non_null(strstr((*lines)[11], "\"event\":\"checkpoint\""));
	return n;
}

static void expect_bad(struct env *e, uint64_t line, const char *reason)
{
	struct audit_verify_result r;

	assert_int_equal(verify_dir(e, &r), 0);
	assert_false(r.ok);
	if (!strstr(r.bad_reason, reason) || r.bad_line != line)
		fail_msg("got %s (want line %llu: %s)", r.first_bad, (unsigned long long)line, reason);
}

static void test_tamper_byte(void **state)
{
	struct env *e = *state;
	char path[256], **v, *p;
	int n = tamper_log(e, path, &v);

	p = strstr(v[4], "\"n\":2");
	assert_non_null(p);
	p[4] = '7';
	write_lines(path, v, n);
	expect_bad(e, 5, "MAC mismatch");
	free_lines(v, n);
}

static void test_tamper_delete_line(void **state)
{
	struct env *e = *state;
	char path[256], **v;
	int n = tamper_log(e, path, &v);

	free(v[4]);
	memmove(v + 4, v + 5, (size_t)(n - 5) * sizeof(*v));
	write_lines(path, v, n - 1);
	expect_bad(e, 5, "missing");
	free_lines(v, n - 1);
}

static void test_tamper_swap(void **state)
{
	struct env *e = *state;
	char path[256], **v, *t;
	int n = tamper_log(e, path, &v);

	t = v[4];
	v[4] = v[5];
	v[5] = t;
	write_lines(path, v, n);
	expect_bad(e, 5, "seq 6 where 5 was due");
	free_lines(v, n);
}

static void test_tamper_insert(void **state)
{
	struct env *e = *state;
	char path[256], **v, *forged, *p;
	int n = tamper_log(e, path, &v);

	/* A well-formed line at the right seq with the right prev: only the
	 * MAC can tell. */
	forged = strdup(v[5]);
	p = strstr(forged, "\"n\":3");
	assert_non_null(p);
	p[4] = '9';
	v = realloc(v, (size_t)(n + 1) * sizeof(*v));
	memmove(v + 6, v + 5, (size_t)(n - 5) * sizeof(*v));
	v[5] = forged;
	write_lines(path, v, n + 1);
	expect_bad(e, 6, "MAC mismatch");
	free_lines(v, n + 1);
}

static void test_tamper_truncate(void **state)
{
	struct env *e = *state;
	char path[256], **v;
	int n = tamper_log(e, path, &v);

	/* Cut at a checkpoint: the log itself looks whole, the checkpoint
	 * file in keys_dir does not agree. */
	write_lines(path, v, 12);
	expect_bad(e, 13, "truncated");
	free_lines(v, n);
}

static void test_tamper_ckpt_sig(void **state)
{
	struct env *e = *state;
	struct audit_verify_result r;
	char path[256], ck[256], **v, **c, *p;
	int n = tamper_log(e, path, &v), nc;

	snprintf(ck, sizeof(ck), "%s/" STREAM ".ckpt", e->keys);
	nc = read_lines(ck, &c);
	assert_true(nc >= 4);
	p = strstr(c[1], "\"sig\":\"");
	assert_non_null(p);
	p[7] = p[7] == '0' ? '1' : '0';
	write_lines(ck, c, nc);
	assert_int_equal(verify_dir(e, &r), 0);
	assert_false(r.ok);
	assert_string_equal(r.bad_file, ck);
	assert_int_equal(r.bad_line, 2);
	assert_non_null(strstr(r.bad_reason, "signature"));
	free_lines(c, nc);
	free_lines(v, n);
}

static void test_tamper_rotated_file(void **state)
{
	struct env *e = *state;
	struct audit_log_opts o = opts(e);
	struct audit_verify_result r;
	char names[16][256];
	int n;

	o.rotate_bytes = 1200;
	write_session(e, &o, 20, 10);
	n = spool_files(e, names, 16);
	assert_true(n >= 4);
	assert_int_equal(verify_dir(e, &r), 0);
	assert_true(r.ok);
	/* Each rotated file ends with a checkpoint. */
	for (int i = 0; i < n - 1; i++) {
		char **v;
		int k = read_lines(names[i], &v);

		assert_non_null(strstr(v[k - 1], "\"event\":\"checkpoint\""));
		free_lines(v, k);
	}
	clear_append_only(names[1]);
	assert_int_equal(unlink(names[1]), 0);
	assert_int_equal(verify_dir(e, &r), 0);
	assert_false(r.ok);
	assert_string_equal(r.bad_file, names[2]);
	assert_int_equal(r.bad_line, 1);
	assert_non_null(strstr(r.bad_reason, "deleted file"));
}

static void test_deleted_stream(void **state)
{
	struct env *e = *state;
	struct audit_log_opts o = opts(e);
	struct audit_verify_result r;
	char names[4][256];

	write_session(e, &o, 2, 10);
	assert_int_equal(spool_files(e, names, 4), 1);
	clear_append_only(names[0]);
	assert_int_equal(unlink(names[0]), 0);
	assert_int_equal(verify_dir(e, &r), 0);
	assert_false(r.ok);
	assert_non_null(strstr(r.bad_reason, "deleted"));
}

static void test_missing_material(void **state)
{
	struct env *e = *state;
	struct audit_log_opts o = opts(e);
	struct audit_verify_result r;
	char kp[256];

	write_session(e, &o, 2, 10);
	snprintf(kp, sizeof(kp), "%s/" STREAM ".%020d.key", e->keys, 1);
	assert_int_equal(unlink(kp), 0);
	assert_int_equal(verify_dir(e, &r), -ENOENT);
	assert_false(r.ok);
	assert_non_null(strstr(r.first_bad, ".key"));
}

static void test_parser_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"{}",
		"{\"v\":1,\"seq\":1,\"epoch\":0,\"prev\":\"" AUDIT_ZERO_HEAD "\"}",
		"{\"v\":2,\"seq\":1,\"epoch\":0,\"prev\":\"" AUDIT_ZERO_HEAD "\",\"mac\":\"" AUDIT_ZERO_HEAD "\"}",
		"{\"v\":1,\"seq\":0,\"epoch\":0,\"prev\":\"" AUDIT_ZERO_HEAD "\",\"mac\":\"" AUDIT_ZERO_HEAD "\"}",
		"{\"v\":1,\"seq\":1,\"epoch\":-1,\"prev\":\"" AUDIT_ZERO_HEAD "\",\"mac\":\"" AUDIT_ZERO_HEAD "\"}",
		"{\"v\":1,\"seq\":1,\"epoch\":0,\"prev\":\"00\",\"mac\":\"" AUDIT_ZERO_HEAD "\"}",
		"{\"v\":1,\"seq\":1,\"epoch\":0,\"prev\":\"" AUDIT_ZERO_HEAD "\",\"mac\":\"" AUDIT_ZERO_HEAD "\"} ",
		"[1,\"seq\":1,\"epoch\":0,\"prev\":\"" AUDIT_ZERO_HEAD "\",\"mac\":\"" AUDIT_ZERO_HEAD "\"}",
		"{\"v\":1,\"seq\":1,\"epoch\":0,\"event\":\"audit-start\",\"prev\":\"" AUDIT_ZERO_HEAD "\",\"mac\":\"" AUDIT_ZERO_HEAD "\"}",
	};
	struct audit_rec r;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(audit_rec_parse(bad[i], strlen(bad[i]), &r, &why), -EBADMSG);
		assert_true(why[0] != '\0');
		audit_rec_free(&r);
	}
	{
		const char *ok = "{\"v\":1,\"seq\":1,\"epoch\":0,\"prev\":\"" AUDIT_ZERO_HEAD "\",\"mac\":\"" AUDIT_ZERO_HEAD "\"}";

		assert_int_equal(audit_rec_parse(ok, strlen(ok), &r, &why), 0);
		assert_int_equal(r.seq, 1);
		audit_rec_free(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_append_only_and_modes, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_epochs, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_sessions_continue, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_syslog_local, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_write_failure, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_no_spool, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_idle_checkpoint_and_lock, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_flush_due, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_tamper_byte, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_tamper_delete_line, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_tamper_swap, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_tamper_insert, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_tamper_truncate, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_tamper_ckpt_sig, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_tamper_rotated_file, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_deleted_stream, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_missing_material, env_setup, env_teardown),
		cmocka_unit_test(test_parser_rejects),
	};

	if (secmem_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
