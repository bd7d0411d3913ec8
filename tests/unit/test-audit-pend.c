/*
 * test-audit-pend.c: fs/audit_pend.c — a captured event becomes, on the
 * writer thread, the record audit.c used to build on the FUSE thread: the
 * same members in the same order (envelope, actor, review flags, object,
 * object2, event fields; the io summary's and a per-op call's fields), the
 * event's own time rather than the build time.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <fuse_lowlevel.h>

#include "audit.h"
#include "audit_line.h"
#include "audit_pend.h"
#include "audit_rec.h"
#include "opctx.h"

static const uint8_t VOL[FORMAT_ID_LEN] = { 0xab, 0xcd, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };
#define VOLHEX "abcd0102030405060708090a0b0c0d0e"
#define ACTOR "\"actor\":{\"uid\":1000,\"user\":\"alice\",\"gid\":100,\"pid\":4242," \
	      "\"comm\":\"tar\",\"exe\":\"/usr/bin/tar\",\"loginuid\":1000}"

static struct audit_pend *pend_room(enum audit_pend_kind kind, const char *event, int result,
				     int io_room)
{
	struct audit_pend *p = io_room ? audit_pend_new_io(kind) : audit_pend_new(kind);

	assert_non_null(p);
	p->event = event;
	p->result = result;
	p->at.tv_sec = 1700000000;     /* 2023-11-14T22:13:20Z */
	p->at.tv_nsec = 123456789;
	p->actor.uid = 1000;
	p->actor.gid = 100;
	p->actor.pid = 4242;
	p->actor.loginuid = 1000;
	strcpy(p->actor.user, "alice");
	strcpy(p->actor.comm, "tar");
	strcpy(p->actor.exe, "/usr/bin/tar");
	return p;
}

static struct audit_pend *pend(enum audit_pend_kind kind, const char *event, int result)
{
	return pend_room(kind, event, result, 0);
}

/* json-c's view of a record's text: it parses, and json-c serialises the
 * parse to the very same bytes (the serialiser writes json-c's plain form). */
static void expect_json_c_agrees(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	assert_non_null(o);
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE),
			    text);
	json_object_put(o);
}

/* The members of p's record, braced, "host" (the machine's) checked and
 * cut out, time checked. */
static char *record_text(struct audit_pend *p)
{
	struct audit_line l = { 0 };
	char time[40], host[256] = "", *want_host = NULL, *text = NULL;

	assert_int_equal(audit_pend_write(p, NULL, VOL, time, &l), 0);
	assert_string_equal(time, "2023-11-14T22:13:20.123456Z");
	audit_line_raw(&l, "", 1);
	gethostname(host, sizeof(host) - 1);
	assert_true(asprintf(&want_host, "\"host\":\"%s\",", host) > 0);
	assert_memory_equal(l.buf, want_host, strlen(want_host));
	assert_true(asprintf(&text, "{%s}", l.buf) > 0);
	expect_json_c_agrees(text);
	memmove(text + 1, text + 1 + strlen(want_host), strlen(text + 1 + strlen(want_host)) + 1);
	free(want_host);
	audit_line_free(&l);
	return text;
}

static void expect_record(struct audit_pend *p, const char *want)
{
	char *text = record_text(p);

	assert_string_equal(text, want);
	free(text);
	audit_pend_free(p);
}

static void test_event_objects_and_fields(void **state)
{
	struct audit_pend *p = pend(AUDIT_PEND_EVENT, "rename", 0);

	(void)state;
	p->obj.present = 1;
	p->obj.has_id = 1;
	memset(p->obj.file_id, 0x11, FORMAT_ID_LEN);
	p->obj.ino = 77;
	p->obj2.present = 1;                  /* a destination that did not exist: empty */
	p->extra = json_object_new_object();
	json_object_object_add(p->extra, "flags", json_object_new_array());
	expect_record(p, "{\"vol\":\"" VOLHEX "\",\"event\":\"rename\"," ACTOR ",\"result\":\"ok\","
		      "\"object\":{\"file\":\"11111111111111111111111111111111\",\"ino\":77},"
		      "\"object2\":{},\"flags\":[]}");
}

static void test_no_object_error_result(void **state)
{
	struct audit_pend *p = pend(AUDIT_PEND_EVENT, "unmount", -ENOENT);

	(void)state;
	p->actor.loginuid = -1;
	p->actor.user[0] = '\0';
	expect_record(p, "{\"vol\":\"" VOLHEX "\",\"event\":\"unmount\",\"actor\":{\"uid\":1000,"
		      "\"gid\":100,\"pid\":4242,\"comm\":\"tar\",\"exe\":\"/usr/bin/tar\"},"
		      "\"result\":\"ENOENT\"}");
}

/* An event of an access the policy flagged (rule 3) on inode 5, with an
 * empty object of event fields. */
static struct audit_pend *flagged(const char *event, int result)
{
	struct audit_pend *p = pend(AUDIT_PEND_EVENT, event, result);

	p->actor.review = OPCTX_REVIEW_AUDIT;
	p->actor.rule = 3;
	p->obj.present = 1;
	p->obj.ino = 5;
	p->extra = json_object_new_object();
	return p;
}

static void test_review_flag_before_object(void **state)
{
	struct audit_pend *p = flagged("open", 0);

	(void)state;
	json_object_object_add(p->extra, "flags", json_object_new_string("x"));
	expect_record(p, "{\"vol\":\"" VOLHEX "\",\"event\":\"open\"," ACTOR ",\"result\":\"ok\","
		      "\"flag\":\"policy-audit\",\"rule\":3,\"object\":{\"ino\":5},\"flags\":\"x\"}");
}

static void test_summary(void **state)
{
	struct audit_pend *p = pend(AUDIT_PEND_SUMMARY, "io", 0);
	struct timespec t1 = { 1700000001, 500000000 }, t2 = { 1700000002, 0 };

	(void)state;
	p->obj.present = 1;
	p->obj.ino = 9;
	audit_io_note(&p->io, 0, 0, 100, &t1);
	audit_io_note(&p->io, 0, 100, 50, &t2);
	p->final = 1;
	expect_record(p, "{\"vol\":\"" VOLHEX "\",\"event\":\"io\"," ACTOR ",\"result\":\"ok\","
		      "\"object\":{\"ino\":9},\"read\":{\"ops\":2,\"bytes\":150,\"ranges\":[[0,150]]},"
		      "\"first\":\"2023-11-14T22:13:21.500000Z\",\"last\":\"2023-11-14T22:13:22.000000Z\","
		      "\"final\":true}");
}

static void test_call(void **state)
{
	struct audit_pend *p = pend(AUDIT_PEND_CALL, "write", 0);

	(void)state;
	p->obj.present = 1;
	p->obj.ino = 9;
	p->off = 4096;
	p->bytes = 512;
	expect_record(p, "{\"vol\":\"" VOLHEX "\",\"event\":\"write\"," ACTOR ",\"result\":\"ok\","
		      "\"object\":{\"ino\":9},\"offset\":4096,\"bytes\":512}");
}

/* Strings that need escapes where records carry outside text: the user and
 * process names, the executable, an event field. */
static void test_escapes(void **state)
{
	struct audit_pend *p = pend(AUDIT_PEND_EVENT, "mount", 0);

	(void)state;
	strcpy(p->actor.user, "d\xc3\xa9j\xc3\xa0 \"q\" \\");
	strcpy(p->actor.comm, "t\x01\x1f\ta\nb\rc\bd\fe\x7f");
	strcpy(p->actor.exe, "/opt/\xe6\x97\xa5\xff/x");
	p->extra = json_object_new_object();
	json_object_object_add(p->extra, "mountpoint", json_object_new_string_len("/m\0n", 4));
	expect_record(p, "{\"vol\":\"" VOLHEX "\",\"event\":\"mount\",\"actor\":{\"uid\":1000,"
		      "\"user\":\"d\xc3\xa9j\xc3\xa0 \\\"q\\\" \\\\\",\"gid\":100,\"pid\":4242,"
		      "\"comm\":\"t\\u0001\\u001f\\ta\\nb\\rc\\bd\\fe\x7f\","
		      "\"exe\":\"/opt/\xe6\x97\xa5\xff/x\",\"loginuid\":1000},\"result\":\"ok\","
		      "\"mountpoint\":\"/m\\u0000n\"}");
}

/* The writer keeps the last actor's text: a changed actor, even in one
 * member, is written anew. */
static void test_actor_changes(void **state)
{
	static const char *const comms[] = { "tar", "tar", "gzip", "tar" };
	char want[256], *text;

	(void)state;
	for (size_t i = 0; i < sizeof(comms) / sizeof(comms[0]); i++) {
		struct audit_pend *p = pend(AUDIT_PEND_EVENT, "open", 0);

		strcpy(p->actor.comm, comms[i]);
		p->actor.pid = i == 3 ? 4243 : 4242;
		text = record_text(p);
		snprintf(want, sizeof(want), "\"pid\":%d,\"comm\":\"%s\",", i == 3 ? 4243 : 4242,
			 comms[i]);
		assert_non_null(strstr(text, want));
		free(text);
		audit_pend_free(p);
	}
}

/* An event field named like a member written before the fields takes that
 * member's place (as json-c's object_add did); the others follow the objects. */
static void test_field_clash(void **state)
{
	struct audit_pend *p = flagged("denied", -EACCES);

	(void)state;
	json_object_object_add(p->extra, "op", json_object_new_string("open"));
	json_object_object_add(p->extra, "reason", json_object_new_string("policy"));
	json_object_object_add(p->extra, "rule", json_object_new_int(7));
	json_object_object_add(p->extra, "learn", json_object_new_boolean(1));
	json_object_object_add(p->extra, "seq", json_object_new_int(99));   /* envelope: dropped */
	expect_record(p, "{\"vol\":\"" VOLHEX "\",\"event\":\"denied\"," ACTOR ",\"result\":\"EACCES\","
		      "\"flag\":\"policy-audit\",\"rule\":7,\"object\":{\"ino\":5},\"op\":\"open\","
		      "\"reason\":\"policy\",\"learn\":true}");
}

static void test_summary_both_directions(void **state)
{
	struct audit_pend *p = pend(AUDIT_PEND_SUMMARY, "io", 0);
	struct timespec t1 = { 1700000001, 5000 }, t2 = { 1700000003, 999999999 };

	(void)state;
	p->obj.present = 1;
	p->obj.has_id = 1;
	memset(p->obj.file_id, 0xfe, FORMAT_ID_LEN);
	audit_io_note(&p->io, 1, 0, 10, &t1);
	audit_io_note(&p->io, 1, 100, 10, &t2);
	audit_io_note(&p->io, 0, INT64_MAX - 5, 5, &t2);
	expect_record(p, "{\"vol\":\"" VOLHEX "\",\"event\":\"io\"," ACTOR ",\"result\":\"ok\","
		      "\"object\":{\"file\":\"fefefefefefefefefefefefefefefefe\"},"
		      "\"read\":{\"ops\":1,\"bytes\":5,\"ranges\":[[9223372036854775802,5]]},"
		      "\"write\":{\"ops\":2,\"bytes\":20,\"ranges\":[[0,10],[100,10]]},"
		      "\"first\":\"2023-11-14T22:13:21.000005Z\",\"last\":\"2023-11-14T22:13:23.999999Z\","
		      "\"final\":false}");
}

/* Every event the daemon records, with its fields from the same helpers
 * the operations use: the text parses, json-c prints the parse back to the
 * same bytes, and each field reads back as it was given. */
#define NO_FIELDS AUDIT_FIELDS_NONE, 0, NULL   /* an event without typed fields */
static void test_every_event_type(void **state)
{
	struct {
		const char *event;
		struct json_object *extra;
		int result;
		enum audit_pend_fields fields;
		int flags;
		const char *want;           /* the typed fields' text */
	} ev[] = {
		{ "open", NULL, 0, AUDIT_FIELDS_OPEN, O_RDWR | O_APPEND | O_NOATIME,
		  ",\"flags\":[\"rdwr\",\"append\",\"noatime\"]}" },
		{ "create", NULL, 0, AUDIT_FIELDS_OPEN, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC,
		  ",\"flags\":[\"wronly\",\"trunc\",\"creat\",\"excl\"]}" },
		{ "open", NULL, 0, AUDIT_FIELDS_OPEN, O_RDONLY, ",\"flags\":[\"rdonly\"]}" },
		{ "setattr", NULL, 0, AUDIT_FIELDS_SETATTR, 0x7fffffff,
		  ",\"attrs\":[\"mode\",\"uid\",\"gid\",\"size\",\"atime\",\"mtime\"],\"size\":-1}" },
		{ "setattr", NULL, -EPERM, AUDIT_FIELDS_SETATTR, 0, ",\"attrs\":[]}" },
		{ "setattr", NULL, 0, AUDIT_FIELDS_SETATTR, FUSE_SET_ATTR_MTIME_NOW,
		  ",\"attrs\":[\"mtime\"]}" },
		{ "mkdir", NULL, 0, NO_FIELDS }, { "unlink", NULL, -ENOENT, NO_FIELDS },
		{ "rmdir", NULL, -ENOTEMPTY, NO_FIELDS },
		{ "rename", audit_rename_flags(~0u), 0, NO_FIELDS }, { "link", NULL, 0, NO_FIELDS },
		{ "symlink", NULL, 0, NO_FIELDS },
		{ "mknod", audit_node_type(S_IFIFO), 0, NO_FIELDS },
		{ "mknod", audit_node_type(S_IFBLK), 0, NO_FIELDS },
		{ "setxattr", audit_xattr_field("user.x"), 0, NO_FIELDS },
		{ "key", audit_rec_key_fields("rekey", "k\"1", NULL), -EKEYREJECTED, NO_FIELDS },
		{ "integrity", NULL, -EBADMSG, NO_FIELDS }, { "denied", NULL, -EACCES, NO_FIELDS },
		{ "mount", NULL, 0, NO_FIELDS }, { "unmount", NULL, 0, NO_FIELDS },
		{ "nonesuch", NULL, -99999, NO_FIELDS },
	};

	(void)state;
	ev[16].extra = json_object_new_object();
	json_object_object_add(ev[16].extra, "block", json_object_new_int64(INT64_MIN));
	json_object_object_add(ev[16].extra, "reason", json_object_new_string("tag\n"));
	ev[18].extra = json_object_new_object();
	json_object_object_add(ev[18].extra, "mountpoint", json_object_new_string("/srv/\"x\""));
	json_object_object_add(ev[18].extra, "nested",
			       json_tokener_parse("{\"a\":[1,-2,{\"b\":null,\"c\":[]},{}],"
						  "\"d\":false,\"e\":1.5,\"f\":\"\\u0002\"}"));
	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		struct audit_pend *p = pend(AUDIT_PEND_EVENT, ev[i].event, ev[i].result);
		struct json_object *rec, *v;
		char *text;

		p->obj.present = 1;
		p->obj.ino = 1000 + i;
		p->extra = ev[i].extra;
		p->fields = ev[i].fields;
		p->flags = ev[i].flags;
		p->size = UINT64_MAX;
		text = record_text(p);
		if (ev[i].want) {   /* the typed fields close the record */
			assert_true(strlen(text) > strlen(ev[i].want));
			assert_string_equal(text + strlen(text) - strlen(ev[i].want), ev[i].want);
		}
		rec = json_tokener_parse(text);
		assert_non_null(rec);
		assert_true(json_object_object_get_ex(rec, "event", &v));
		assert_string_equal(json_object_get_string(v), ev[i].event);
		assert_true(json_object_object_get_ex(rec, "result", &v));
		assert_string_equal(json_object_get_string(v), audit_rec_result(ev[i].result));
		if (ev[i].extra) {
			json_object_object_foreach(ev[i].extra, k, want) {
				assert_true(json_object_object_get_ex(rec, k, &v));
				assert_true(json_object_equal(v, want));
			}
		}
		json_object_put(rec);
		free(text);
		audit_pend_free(p);
	}
}

/* setattr calls joined into one record (audit.c setattr_join): "calls"
 * counts them all and "last" is the last one's time, after the attrs. */
static void test_joined_setattr(void **state)
{
	struct audit_pend *p = pend(AUDIT_PEND_EVENT, "setattr", 0);
	const char *want = ",\"attrs\":[\"mode\",\"uid\",\"mtime\"],\"calls\":3,"
			   "\"last\":\"2023-11-14T22:13:21.000007Z\"}";
	char *text;

	(void)state;
	p->obj.present = 1;
	p->fields = AUDIT_FIELDS_SETATTR;
	p->flags = FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_MTIME;
	p->calls = 2;
	p->last.tv_sec = 1700000001;
	p->last.tv_nsec = 7000;
	text = record_text(p);
	assert_string_equal(text + strlen(text) - strlen(want), want);
	free(text);
	p->calls = 0;   /* one call: neither field */
	text = record_text(p);
	assert_null(strstr(text, "\"calls\""));
	assert_null(strstr(text, "\"last\""));
	free(text);
	audit_pend_free(p);
}

/* An open whose handle's final summary joined it (audit.c io_join): the
 * summary's members, as an "io" record has them, under "io". */
/* A create of inode 9 with open flags, and a write of len bytes at t (its
 * handle's final summary) joined into it. */
static struct audit_pend *create_with_io(int flags, uint64_t len, const struct timespec *t)
{
	struct audit_pend *p = pend_room(AUDIT_PEND_EVENT, "create", 0, 1);

	p->obj.present = 1;
	p->obj.ino = 9;
	p->fields = AUDIT_FIELDS_OPEN;
	p->flags = flags;
	audit_io_reset(&p->io);
	audit_io_note(&p->io, 1, 0, len, t);
	p->final = 1;
	p->io_joined = 1;
	return p;
}

static void test_open_with_io(void **state)
{
	struct timespec t1 = { 1700000001, 500000000 };
	struct audit_pend *p = create_with_io(O_WRONLY | O_CREAT, 4096, &t1);

	(void)state;
	audit_io_note(&p->io, 1, 4096, 10, &t1);
	expect_record(p, "{\"vol\":\"" VOLHEX "\",\"event\":\"create\"," ACTOR ",\"result\":\"ok\","
		      "\"object\":{\"ino\":9},\"flags\":[\"wronly\",\"creat\"],"
		      "\"io\":{\"write\":{\"ops\":2,\"bytes\":4106,\"ranges\":[[0,4106]]},"
		      "\"first\":\"2023-11-14T22:13:21.500000Z\",\"last\":\"2023-11-14T22:13:21.500000Z\","
		      "\"final\":true}}");
}

/* setattr calls joined into the open (audit.c setattr_join_open), after
 * its joined summary. */
static void test_open_with_setattr(void **state)
{
	struct timespec t1 = { 1700000001, 0 };
	struct audit_pend *p = create_with_io(O_WRONLY | O_CREAT | O_EXCL, 10, &t1);

	(void)state;
	p->sa_valid = FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID | FUSE_SET_ATTR_MODE |
		      FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME;
	p->sa_calls = 3;
	p->sa_first = t1;
	p->sa_last.tv_sec = 1700000001;
	p->sa_last.tv_nsec = 9000;
	expect_record(p, "{\"vol\":\"" VOLHEX "\",\"event\":\"create\"," ACTOR ",\"result\":\"ok\","
		      "\"object\":{\"ino\":9},\"flags\":[\"wronly\",\"creat\",\"excl\"],"
		      "\"io\":{\"write\":{\"ops\":1,\"bytes\":10,\"ranges\":[[0,10]]},"
		      "\"first\":\"2023-11-14T22:13:21.000000Z\",\"last\":\"2023-11-14T22:13:21.000000Z\","
		      "\"final\":true},"
		      "\"setattr\":{\"attrs\":[\"mode\",\"uid\",\"gid\",\"atime\",\"mtime\"],\"calls\":3,"
		      "\"first\":\"2023-11-14T22:13:21.000000Z\",\"last\":\"2023-11-14T22:13:21.000009Z\"}}");
}

static void test_obj_copy_and_clear(void **state)
{
	struct audit_pend_obj a = { .present = 1, .ino = 3 }, b, c = { 0 };
	char longp[600];

	(void)state;
	a.path = strdup("/clinic/p1.txt");   /* set directly: free(3)d */
	assert_int_equal(audit_pend_obj_copy(&b, &a), 0);
	assert_ptr_not_equal(a.path, b.path);
	assert_string_equal(b.path, "/clinic/p1.txt");
	assert_int_equal(b.ino, 3);
	audit_pend_obj_clear(&a);
	assert_null(a.path);
	audit_pend_obj_clear(&b);
	/* Paths longer than a pooled block, and blocks reused after a wipe. */
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = 0;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(audit_pend_obj_set_path(&c, i == 1 ? longp : "/a/b"), 0);
		assert_string_equal(c.path, i == 1 ? longp : "/a/b");
		audit_pend_obj_clear(&c);
		assert_null(c.path);
	}
	audit_pend_free(NULL);
	audit_pend_drain();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_objects_and_fields),
		cmocka_unit_test(test_no_object_error_result),
		cmocka_unit_test(test_review_flag_before_object),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_call),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_field_clash),
		cmocka_unit_test(test_actor_changes),
		cmocka_unit_test(test_summary_both_directions),
		cmocka_unit_test(test_every_event_type),
		cmocka_unit_test(test_joined_setattr),
		cmocka_unit_test(test_open_with_io),
		cmocka_unit_test(test_open_with_setattr),
		cmocka_unit_test(test_obj_copy_and_clear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
