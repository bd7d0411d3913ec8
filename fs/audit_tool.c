/*
 * audit_tool.c: audit records of the command-line tools (phifs unlock, lock,
 * fsck; phifs-keys), in the same spool as the daemon's but their own stream
 * "<volid>-tools" (one chain per writer), written synchronously: a tool's
 * record is durable before it exits. Also where the spool directory is
 * chosen and checked, for `phifs mount` and the tools alike.
 * Spec: docs/OPERATIONS.md "Audit".
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "audit.h"
#include "audit_log.h"
#include "audit_rec.h"
#include "hook.h"

struct audit_tool {
	struct audit_log *log;
	uint8_t volume_id[FORMAT_ID_LEN];
};

const char *audit_dir_or_default(const char *v)
{
	const char *env = getenv("PHIFS_AUDIT_DIR");

	if (v && *v)
		return v;
	return env && *env ? env : AUDIT_DEFAULT_DIR;
}

const char *audit_keys_dir(const char *v)
{
	const char *env = getenv("PHIFS_AUDIT_KEYS_DIR");

	if (v && *v)
		return v;
	return env && *env ? env : NULL;
}

int audit_is_off(const char *dir)
{
	return !dir || !strcmp(dir, "off");
}

static int is_under(const char *path, const char *top)
{
	size_t n = strlen(top);

	return !strncmp(path, top, n) && (path[n] == '/' || path[n] == '\0' || n == 1);
}

/* realpath of a path that may not exist yet: its deepest existing ancestor
 * resolved, the rest appended (nothing is created before the check). */
static int would_be(const char *path, char out[PATH_MAX])
{
	char head[PATH_MAX], real[PATH_MAX];
	const char *tail = "";
	char *slash;

	if (snprintf(head, sizeof(head), "%s", path) >= (int)sizeof(head))
		return -ENAMETOOLONG;
	while (!realpath(head, real)) {
		if (errno != ENOENT || !(slash = strrchr(head, '/')) || slash == head)
			return errno == ENOENT ? -ENOENT : -errno;
		*slash = '\0';
		tail = path + (slash - head);
	}
	if (snprintf(out, PATH_MAX, "%s%s", strcmp(real, "/") ? real : "", tail) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

int audit_check_dir(const char *spool, const char *cipherdir, const char *mountpoint, char *err,
		    size_t errcap)
{
	char real[PATH_MAX], c[PATH_MAX], m[PATH_MAX];
	int ret = spool[0] == '/' ? would_be(spool, real) : -EINVAL;

	if (ret) {
		snprintf(err, errcap, "audit directory %s: %s", spool,
			 ret == -EINVAL ? "must be an absolute path" : strerror(-ret));
		return ret;
	}
	/* Inside the cipher dir it would be backed up and served as volume
	 * contents; inside the mount point it would audit itself. */
	if ((cipherdir && realpath(cipherdir, c) && is_under(real, c)) ||
	    (mountpoint && realpath(mountpoint, m) && is_under(real, m))) {
		snprintf(err, errcap, "audit directory %s must be outside the cipher directory "
			 "and the mount point", spool);
		return -EINVAL;
	}
	ret = audit_log_mkdirs(spool);
	if (ret)
		snprintf(err, errcap, "audit directory %s: %s", spool, strerror(-ret));
	return ret;
}

static void on_key(void *arg, const char *op, const char *from, const char *to, int result)
{
	struct audit_tool *t = arg;
	/* unlock and lock are events of their own; every other op is "key". */
	const char *event = !strcmp(op, "unlock") || !strcmp(op, "lock") ? op : "key";

	if (audit_tool_event(t, event, audit_rec_key_fields(op, from, to), result))
		fprintf(stderr, "phifs: audit: the %s record could not be written\n", op);
}

int audit_tool_open(const char *dir, const uint8_t volume_id[FORMAT_ID_LEN],
		    struct audit_tool **out, char *err, size_t errcap)
{
	struct audit_log_opts lo = { 0 };
	struct audit_tool *t;
	char stream[2 * FORMAT_ID_LEN + 8], vol[2 * FORMAT_ID_LEN + 1];
	int ret;

	*out = NULL;
	dir = audit_dir_or_default(dir);
	if (audit_is_off(dir)) {
		fprintf(stderr, "phifs: warning: auditing is off (--audit off): this operation "
			"leaves no audit record\n");
		return 0;
	}
	ret = audit_check_dir(dir, NULL, NULL, err, errcap);
	if (ret)
		return ret;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	memcpy(t->volume_id, volume_id, FORMAT_ID_LEN);
	audit_rec_hex(volume_id, FORMAT_ID_LEN, vol);
	snprintf(stream, sizeof(stream), "%s-tools", vol);
	lo.vol = vol;
	lo.spool_dir = dir;
	lo.keys_dir = audit_keys_dir(NULL);
	lo.stream = stream;
	ret = audit_log_open(&lo, &t->log);
	if (ret) {
		snprintf(err, errcap, "cannot open the audit log in %s (keys in %s): %s", dir,
			 audit_log_keys_dir(lo.keys_dir), strerror(-ret));
		free(t);
		return ret;
	}
	hook_set_key(on_key, t);
	*out = t;
	return 0;
}

int audit_tool_event(struct audit_tool *t, const char *event, struct json_object *extra,
		     int result)
{
	struct json_object *rec;
	int ret;

	if (!t) {
		json_object_put(extra);
		return 0;
	}
	rec = audit_rec_new(event, t->volume_id, NULL, result);
	audit_rec_merge(rec, extra);
	ret = rec ? audit_log_append(t->log, rec) : -ENOMEM;
	json_object_put(rec);
	if (!ret)
		ret = audit_log_sync(t->log);
	return ret;
}

void audit_tool_close(struct audit_tool *t)
{
	if (!t)
		return;
	hook_set_key(NULL, NULL);
	audit_log_close(t->log);
	free(t);
}
