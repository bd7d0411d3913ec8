/*
 * audit-write.c: a tiny audit writer for tests/sh/audit-verify.sh — appends
 * N synthetic records to a stream through the real writer (fs/audit_log.c),
 * so phifs-audit verify is tested on exactly what the daemon would write.
 * usage: audit-write SPOOL KEYS STREAM N [CKPT_RECORDS [ROTATE_BYTES]]
 * AUDIT_WRITE_SYSLOG=SPEC adds syslog sinks (fs/audit_syslog.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "audit_log.h"
#include "secmem.h"

static struct json_object *record(unsigned i)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_object();
	char file[33];

	snprintf(file, sizeof(file), "%032x", i);
	json_object_object_add(o, "vol", json_object_new_string("00112233445566778899aabbccddeeff"));
	json_object_object_add(o, "event", json_object_new_string("open"));
	json_object_object_add(a, "uid", json_object_new_int(1000 + (int)(i % 3)));
	json_object_object_add(a, "pid", json_object_new_int(4000 + (int)i));
	json_object_object_add(a, "comm", json_object_new_string("cat"));
	json_object_object_add(o, "actor", a);
	a = json_object_new_object();
	json_object_object_add(a, "file", json_object_new_string(file));
	json_object_object_add(a, "ino", json_object_new_int64(10000 + i));
	json_object_object_add(o, "object", a);
	json_object_object_add(o, "result", json_object_new_string("ok"));
	return o;
}

int main(int argc, char **argv)
{
	struct audit_log_opts o = { 0 };
	struct audit_log *l = NULL;
	unsigned n;
	int r;

	if (argc < 5) {
		fprintf(stderr, "usage: audit-write SPOOL KEYS STREAM N [CKPT_RECORDS [ROTATE_BYTES]]\n");
		return 2;
	}
	if (secmem_init() != 0)
		return 1;
	o.spool_dir = argv[1];
	o.keys_dir = argv[2];
	o.stream = argv[3];
	n = (unsigned)strtoul(argv[4], NULL, 10);
	o.checkpoint_records = argc > 5 ? (unsigned)strtoul(argv[5], NULL, 10) : 0;
	o.rotate_bytes = argc > 6 ? strtoull(argv[6], NULL, 10) : 0;
	o.sync_ms = 1000;
	o.syslog = getenv("AUDIT_WRITE_SYSLOG");
	r = audit_log_open(&o, &l);
	for (unsigned i = 0; r == 0 && i < n; i++) {
		struct json_object *rec = record(i);

		r = audit_log_append(l, rec);
		json_object_put(rec);
		if (r == 0)
			r = audit_log_sync(l);
	}
	audit_log_close(l);
	if (r < 0) {
		fprintf(stderr, "audit-write: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}
