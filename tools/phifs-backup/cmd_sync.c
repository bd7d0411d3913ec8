/*
 * cmd_sync.c: `phifs-backup -r REPO sync --to REPO2 [--to REPO3]` — copy the
 * objects a replica lacks, byte for byte (docs/BACKUP_FORMAT.md §12.1,
 * docs/OPERATIONS.md "Backup to S3 and cross-region sync").
 *
 * Safe order: config, keys/, data/, index/, snapshots/ — each class finished
 * before the next starts and nothing after a class with a failure — so a
 * replica never holds an index naming a missing pack or a snapshot naming a
 * missing index. Resumable: a re-run lists both sides and copies only what is
 * missing (or of the wrong size); every object is atomic at the destination,
 * so a killed run leaves whole objects only. Each copied object's SHA-256 is
 * checked against its name before it is written (config excepted: it must be
 * byte-identical to a destination's config, or the destination holds another
 * repository). Uploads run in parallel (the destination's concurrency).
 * Needs no repository key: it copies ciphertext it never opens.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../phifs/common.h"
#include "backupcmd.h"
#include "replica.h"
#include "repo_cli.h"
#include "repo_json.h"
#include "repo_lock.h"

#define SYNC_MAX_DEST 8
#define SYNC_MAX_THREADS 16

struct sync_run {
	struct backend *src, *dst;
	const char *to;
	const struct replica_obj *todo;      /* this class's missing objects */
	size_t ntodo;
	atomic_size_t next;
	atomic_size_t copied, failed, done;
	atomic_uint_least64_t bytes;
	atomic_int fatal;                    /* -EACCES/-EIO: stop this destination */
	size_t kill_after;                   /* tests: SIGKILL after this many copies */
	pthread_mutex_t out_lock;            /* progress and problem lines */
	int json, tty;
	double last;                         /* last progress report (tool_now) */
	const char *cls;
};

static void report_problem(struct sync_run *s, const char *name, const char *what)
{
	pthread_mutex_lock(&s->out_lock);
	if (s->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "event", json_object_new_string("problem"));
		json_object_object_add(o, "to", json_object_new_string(s->to));
		json_object_object_add(o, "object", json_object_new_string(name));
		json_object_object_add(o, "problem", json_object_new_string(what));
		replica_json_line(o);
	}
	cli_warn("sync", "%s: %s", name, what);
	pthread_mutex_unlock(&s->out_lock);
}

static void progress(struct sync_run *s, int final)
{
	double now = tool_now();

	if (!s->json && !s->tty)
		return;
	pthread_mutex_lock(&s->out_lock);
	if (tool_report_due(&s->last, now, s->json, final)) {
		if (s->json)
			printf("{\"event\":\"progress\",\"class\":\"%s\",\"done\":%zu,\"total\":%zu,"
			       "\"bytes\":%" PRIu64 "}\n", s->cls, atomic_load(&s->done), s->ntodo,
			       (uint64_t)atomic_load(&s->bytes));
		else
			fprintf(stderr, "\rsync: %-10s %zu/%zu objects, %.1f MiB", s->cls,
				atomic_load(&s->done), s->ntodo,
				(double)atomic_load(&s->bytes) / 1048576.0);
		fflush(s->json ? stdout : stderr);
	}
	pthread_mutex_unlock(&s->out_lock);
}

static void copy_one(struct sync_run *s, const struct replica_obj *o)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char msg[160];
	int ret = backend_get(s->src, o->name, &buf, &len);

	if (ret) {
		snprintf(msg, sizeof(msg), "cannot read from the source: %s", strerror(-ret));
	} else if ((ret = replica_check_bytes(o->name, buf, len)) != 0) {
		snprintf(msg, sizeof(msg), "corrupt in the source (SHA-256 differs from its "
			 "name): not copied");
	} else if ((ret = backend_put(s->dst, o->name, buf, len)) != 0) {
		snprintf(msg, sizeof(msg), "cannot write to %s: %s", s->to, strerror(-ret));
		if (ret == -EACCES || ret == -EIO)
			atomic_store(&s->fatal, ret);
	}
	if (ret) {
		atomic_fetch_add(&s->failed, 1);
		report_problem(s, o->name, msg);
	} else {
		if (atomic_fetch_add(&s->copied, 1) + 1 == s->kill_after)
			raise(SIGKILL);   /* PHIFS_SYNC_TEST_KILL: a kill -9 at a known point */
		atomic_fetch_add(&s->bytes, len);
	}
	atomic_fetch_add(&s->done, 1);
	free(buf);
}

static void *worker(void *arg)
{
	struct sync_run *s = arg;
	size_t i;

	while (!atomic_load(&s->fatal) && (i = atomic_fetch_add(&s->next, 1)) < s->ntodo) {
		copy_one(s, &s->todo[i]);
		progress(s, 0);
	}
	return NULL;
}

static void run_workers(struct sync_run *s)
{
	pthread_t t[SYNC_MAX_THREADS];
	int want = s->dst->concurrency, n = 0;

	if (want > SYNC_MAX_THREADS)
		want = SYNC_MAX_THREADS;
	if ((size_t)want > s->ntodo)
		want = (int)s->ntodo;
	atomic_store(&s->next, 0);
	for (; n < want; n++)
		if (pthread_create(&t[n], NULL, worker, s))
			break;
	if (n == 0)
		worker(s);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	progress(s, 1);
}

/* The source's objects of class c that the destination lacks → todo. */
static int missing(struct sync_run *s, int c, struct replica_list *src,
		   struct replica_list *todo, size_t *present)
{
	struct replica_list dst = { 0 };
	int ret = replica_list_class(s->src, c, src);

	if (!ret)
		ret = replica_list_class(s->dst, c, &dst);
	for (size_t i = 0; !ret && i < src->n; i++) {
		const struct replica_obj *d = replica_list_find(&dst, src->v[i].name);

		if (c == 0 && d && memcmp(d->sha256, src->v[i].sha256, 32)) {
			cli_warn("sync", "%s holds another repository (its config differs)", s->to);
			ret = -EEXIST;
		} else if (d && d->size == src->v[i].size) {
			(*present)++;
		} else {
			ret = replica_list_push(todo, &src->v[i]);
		}
	}
	replica_list_free(&dst);
	return ret;
}

static void summary(struct sync_run *s, size_t present, int complete)
{
	if (s->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "event", json_object_new_string("synced"));
		json_object_object_add(o, "to", json_object_new_string(s->to));
		json_object_object_add(o, "copied", json_object_new_int64((int64_t)atomic_load(&s->copied)));
		json_object_object_add(o, "present", json_object_new_int64((int64_t)present));
		json_object_object_add(o, "failed", json_object_new_int64((int64_t)atomic_load(&s->failed)));
		json_object_object_add(o, "bytes", json_object_new_int64((int64_t)atomic_load(&s->bytes)));
		json_object_object_add(o, "complete", json_object_new_boolean(complete));
		replica_json_line(o);
	} else if (s->tty) {
		printf("%s: %s: %zu objects copied (%.1f MiB), %zu already there%s\n", s->to,
		       complete ? "complete" : "INCOMPLETE", atomic_load(&s->copied),
		       (double)atomic_load(&s->bytes) / 1048576.0, present,
		       atomic_load(&s->failed) ? ", some failed" : "");
	}
}

/* Copies class after class; stops at the first class that did not complete. */
static int sync_classes(struct sync_run *s, struct repo_lock *lock, size_t *present)
{
	int ret = 0;

	for (int c = 0; !ret && c < REPLICA_NCLASSES; c++) {
		struct replica_list src = { 0 }, todo = { 0 };

		s->cls = replica_classes[c];
		ret = missing(s, c, &src, &todo, present);
		if (!ret && todo.n) {
			s->todo = todo.v;
			s->ntodo = todo.n;
			atomic_store(&s->done, 0);
			run_workers(s);
			if (s->tty && !s->json)
				fputc('\n', stderr);
			(void)repo_lock_refresh(lock);
		}
		if (!ret && (atomic_load(&s->failed) || atomic_load(&s->fatal))) {
			ret = atomic_load(&s->fatal) ? atomic_load(&s->fatal) : -EIO;
			if (c + 1 < REPLICA_NCLASSES)
				cli_warn("sync", "%s: not copying %s and later: %zu objects failed",
					 s->to, replica_classes[c + 1], atomic_load(&s->failed));
		}
		replica_list_free(&src);
		replica_list_free(&todo);
	}
	return ret;
}

static int sync_dest(struct backend *src, const char *to, int json)
{
	struct sync_run s = { .src = src, .to = to, .json = json, .tty = cli_tty() };
	struct repo_lock *lock = NULL;
	const char *kill_env = getenv("PHIFS_SYNC_TEST_KILL");
	size_t present = 0;
	int ret;

	s.kill_after = kill_env ? strtoul(kill_env, NULL, 10) : 0;
	pthread_mutex_init(&s.out_lock, NULL);
	ret = backend_open(to, 1, &s.dst);
	if (ret) {
		cli_warn("sync", "cannot open %s: %s", to, strerror(-ret));
		goto out;
	}
	/* exclusive at the destination: no backup or prune may run on a replica being filled */
	ret = repo_lock_take(s.dst, to, 1, &lock);
	if (ret) {
		cli_warn("sync", ret == -EAGAIN ? "%s is locked by another job" :
			 "cannot lock %s: %s", to, strerror(-ret));
		goto out;
	}
	ret = sync_classes(&s, lock, &present);
	summary(&s, present, ret == 0);
out:
	repo_lock_release(lock);
	backend_close(s.dst);
	pthread_mutex_destroy(&s.out_lock);
	return ret;
}

static void usage(void)
{
	printf("usage: phifs-backup [-r REPO] sync --to REPO2 [--to REPO3 ...] [--json]\n"
	       "  copies the objects REPO2 lacks, byte for byte, in the safe order (config, keys,\n"
	       "  data, index, snapshots); resumable; needs no key. REPO2 may be a directory or\n"
	       "  s3:https://HOST/BUCKET[/PREFIX]. Exit 0 every replica complete, 1 some object\n"
	       "  failed, 2 usage, 3 credentials refused, 4 source is not a repository, 5 locked.\n");
}

int backup_cmd_sync(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "to", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	const char *url = NULL, *to[SYNC_MAX_DEST];
	struct backend *src = NULL;
	struct repo_lock *lock = NULL;
	int opt, json = 0, nto = 0, ret, code = EXIT_OK;
	uint64_t size;

	while ((opt = getopt_long(argc, argv, "r:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			url = optarg;
			break;
		case 't':
			if (nto == SYNC_MAX_DEST)
				die(EXIT_USAGE, "at most %d --to", SYNC_MAX_DEST);
			to[nto++] = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			usage();
			return EXIT_USAGE;
		}
	}
	if (optind != argc || nto == 0 || !(url = cli_repo_url(url))) {
		usage();
		return EXIT_USAGE;
	}
	for (int i = 0; i < nto; i++)
		if (!strcmp(to[i], url))
			die(EXIT_USAGE, "--to %s is the source itself", to[i]);
	ret = backend_open(url, 0, &src);
	if (!ret)
		ret = backend_stat(src, "config", &size);
	if (ret) {
		cli_warn("sync", ret == -ENOENT ? "%s is not a repository" : "cannot open %s: %s",
			 url, strerror(-ret));
		backend_close(src);
		return cli_exit_for(ret);
	}
	ret = repo_lock_take(src, url, 0, &lock);
	if (ret) {
		cli_warn("sync", ret == -EAGAIN ? "%s is locked by another job" : "cannot lock %s: %s",
			 url, strerror(-ret));
		backend_close(src);
		return ret == -EAGAIN ? EXIT_LOCKED : cli_exit_for(ret);
	}
	for (int i = 0; i < nto; i++) {
		ret = sync_dest(src, to[i], json);
		if (ret && code == EXIT_OK)
			code = ret == -EEXIST || ret == -ENOENT ? EXIT_PROBLEMS : cli_exit_for(ret);
	}
	repo_lock_release(lock);
	backend_close(src);
	return code;
}
