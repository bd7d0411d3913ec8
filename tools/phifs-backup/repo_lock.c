/*
 * repo_lock.c: keeps two phifs-backup jobs from colliding
 * (docs/BACKUP_FORMAT.md §10.1): a local flock (same host), and a lock
 * object "locks/<random>" in the repository (other hosts sharing it), with
 * stale locks — too old, or a dead pid on this host — ignored and, by
 * exclusive holders, removed. It does not order waiting jobs: a conflict is
 * reported at once (cron runs again later).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "cipher.h"
#include "repo_json.h"
#include "repo_lock.h"
#include "repo_util.h"

struct repo_lock {
	struct backend *be;
	int fd;                  /* flock'd directory or lock file */
	int exclusive;
	char name[64];           /* our lock object, "" when none */
	int64_t written;         /* time() of the last write of it */
};

static int local_fd(const char *url)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");
	uint8_t h[32];
	char hex[65], path[512];

	if (strncmp(url, "s3:", 3) != 0)
		return open(url, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cipher_sha256(url, strlen(url), h);
	repo_hex(h, 8, hex);
	snprintf(path, sizeof(path), "%s/phifs-backup-%s.lock", dir && *dir ? dir : "/tmp", hex);
	return open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
}

static int write_obj(struct repo_lock *l)
{
	struct json_object *o = json_object_new_object();
	char host[256] = "";
	const char *text;
	size_t len;
	int ret;

	gethostname(host, sizeof(host) - 1);
	json_object_object_add(o, "host", json_object_new_string(host));
	json_object_object_add(o, "pid", json_object_new_int64(getpid()));
	json_object_object_add(o, "time", json_object_new_int64(time(NULL)));
	json_object_object_add(o, "exclusive", json_object_new_boolean(l->exclusive));
	text = repo_json_text(o, &len);
	ret = backend_put(l->be, l->name, text, len);
	json_object_put(o);
	if (!ret)
		l->written = time(NULL);
	return ret;
}

struct scan {
	struct repo_lock *l;
	int conflict;
};

/* A lock object is stale when old or when its pid on this host is gone. */
static int is_stale(struct json_object *o)
{
	char host[256] = "";
	const char *h = repo_json_str(o, "host");
	int64_t t, pid;

	if (repo_json_i64(o, "time", &t) || repo_json_i64(o, "pid", &pid))
		return 1;
	if (time(NULL) - t > REPO_LOCK_STALE)
		return 1;
	gethostname(host, sizeof(host) - 1);
	return h && !strcmp(h, host) && pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static int scan_one(void *arg, const char *name, uint64_t size)
{
	struct scan *s = arg;
	struct json_object *o = NULL, *ex;
	uint8_t *buf = NULL;
	size_t len;

	if (!strcmp(name, s->l->name) || size > 4096)
		return 0;
	if (backend_get(s->l->be, name, &buf, &len) || repo_json_parse(buf, len, &o)) {
		free(buf);
		return 0;            /* vanished meanwhile, or junk: not a lock */
	}
	if (is_stale(o)) {
		if (s->l->exclusive)
			backend_del(s->l->be, name);
	} else if (s->l->exclusive ||
		   (json_object_object_get_ex(o, "exclusive", &ex) && json_object_get_boolean(ex))) {
		s->conflict = 1;
	}
	json_object_put(o);
	free(buf);
	return 0;
}

int repo_lock_take(struct backend *be, const char *url, int exclusive, struct repo_lock **out)
{
	struct repo_lock *l = calloc(1, sizeof(*l));
	struct scan s = { l, 0 };
	uint8_t rnd[16];
	char hex[33];
	int ret;

	*out = NULL;
	if (!l)
		return -ENOMEM;
	l->be = be;
	l->exclusive = exclusive;
	l->fd = local_fd(url);
	if (l->fd < 0) {
		ret = -errno;
		goto out;
	}
	if (flock(l->fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
		ret = errno == EWOULDBLOCK ? -EAGAIN : -errno;
		goto out;
	}
	cipher_random(rnd, sizeof(rnd));
	repo_hex(rnd, sizeof(rnd), hex);
	snprintf(l->name, sizeof(l->name), "locks/%s", hex);
	ret = write_obj(l);
	if (ret) {
		l->name[0] = '\0';
		goto out;
	}
	ret = backend_list(be, "locks/", scan_one, &s);
	if (!ret && s.conflict)
		ret = -EAGAIN;
out:
	if (ret)
		repo_lock_release(l);
	else
		*out = l;
	return ret;
}

int repo_lock_refresh(struct repo_lock *l)
{
	char old[64];
	uint8_t rnd[16];
	char hex[33];
	int ret;

	if (!l || time(NULL) - l->written < REPO_LOCK_REFRESH)
		return 0;
	/* a name is never rewritten with other bytes: a new object, then the old one goes */
	snprintf(old, sizeof(old), "%s", l->name);
	cipher_random(rnd, sizeof(rnd));
	repo_hex(rnd, sizeof(rnd), hex);
	snprintf(l->name, sizeof(l->name), "locks/%s", hex);
	ret = write_obj(l);
	if (ret) {
		snprintf(l->name, sizeof(l->name), "%s", old);
		return ret;
	}
	backend_del(l->be, old);
	return 0;
}

void repo_lock_release(struct repo_lock *l)
{
	if (!l)
		return;
	if (l->name[0])
		backend_del(l->be, l->name);
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}
