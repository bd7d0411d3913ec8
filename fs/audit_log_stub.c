/*
 * audit_log_stub.c: TEMPORARY stand-in for fs/audit_log.c (the audit-log
 * branch) so the event side can be built and tested first. One JSON line per
 * record in <spool_dir>/<stream>.log (O_APPEND), with v/seq/prev and a dummy
 * mac. Deleted before merge; never shipped.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "audit_log.h"
#include "cipher.h"
#include "fdio.h"

struct audit_log {
	int fd;
	uint64_t seq;
	char prev[65];
};

static void hex(const uint8_t *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

int audit_log_open(const struct audit_log_opts *o, struct audit_log **out)
{
	struct audit_log *l = calloc(1, sizeof(*l));
	char path[4096];
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!l)
		return -ENOMEM;
	memset(l->prev, '0', 64);
	snprintf(path, sizeof(path), "%s/%s.log", o->spool_dir, o->stream);
	l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (l->fd < 0) {
		free(l);
		return -errno;
	}
	f = fopen(path, "r");
	while (f && (n = getline(&line, &cap, f)) > 0) {
		uint8_t h[32];

		if (line[n - 1] == '\n')
			line[--n] = '\0';
		cipher_sha256(line, (size_t)n, h);
		hex(h, 32, l->prev);
		l->seq++;
	}
	free(line);
	if (f)
		fclose(f);
	*out = l;
	{
		struct json_object *rec = json_object_new_object();

		json_object_object_add(rec, "event", json_object_new_string("audit-start"));
		json_object_object_add(rec, "result", json_object_new_string("ok"));
		audit_log_append(l, rec);
		json_object_put(rec);
	}
	return 0;
}

int audit_log_append(struct audit_log *l, struct json_object *rec)
{
	const char *s;
	char *line;
	uint8_t h[32];
	size_t n;
	int ret;

	json_object_object_add(rec, "v", json_object_new_int(1));
	json_object_object_add(rec, "seq", json_object_new_int64((int64_t)l->seq + 1));
	json_object_object_add(rec, "prev", json_object_new_string(l->prev));
	json_object_object_add(rec, "mac", json_object_new_string(
		"0000000000000000000000000000000000000000000000000000000000000000"));
	s = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	n = strlen(s);
	line = malloc(n + 1);
	if (!line)
		return -ENOMEM;
	memcpy(line, s, n);
	line[n] = '\n';
	off_t at = lseek(l->fd, 0, SEEK_END);

	ret = fdio_write(l->fd, line, n + 1);
	if (ret && at >= 0 && ftruncate(l->fd, at) < 0)
		ret = -errno;   /* never leave a torn line */
	if (!ret) {
		cipher_sha256(line, n, h);
		hex(h, 32, l->prev);
		l->seq++;
	}
	free(line);
	return ret;
}

int audit_log_sync(struct audit_log *l)
{
	return fdatasync(l->fd) < 0 ? -errno : 0;
}

void audit_log_close(struct audit_log *l)
{
	struct json_object *rec = json_object_new_object();

	if (!l)
		return;
	json_object_object_add(rec, "event", json_object_new_string("audit-stop"));
	json_object_object_add(rec, "result", json_object_new_string("ok"));
	audit_log_append(l, rec);
	json_object_put(rec);
	close(l->fd);
	free(l);
}
