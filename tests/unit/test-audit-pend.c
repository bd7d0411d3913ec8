/*
 * test-audit-pend.c: fs/audit_pend.c — a captured event becomes, on the
 * writer thread, the record audit.c used to build on the FUSE thread: the
 * same members in the same order (envelope, actor, review flags, object,
 * object2, event fields; the io summary's and a per-op call's fields), the
 * event's own time rather than the build time.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "audit_pend.h"
#include "opctx.h"

static const uint8_t VOL[FORMAT_ID_LEN] = { 0xab, 0xcd, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };
#define VOLHEX "abcd0102030405060708090a0b0c0d0e"
#define ACTOR "\"actor\":{\"uid\":1000,\"user\":\"alice\",\"gid\":100,\"pid\":4242," \
	      "\"comm\":\"tar\",\"exe\":\"/usr/bin/tar\",\"loginuid\":1000}"

static struct audit_pend *pend(enum audit_pend_kind kind, const char *event, int result)
{
	struct audit_pend *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->kind = kind;
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

/* The record without "host" (the machine's), checked for time and vol,
 * serialised as audit_log.c serialises it. */
static void expect_record(struct audit_pend *p, const char *want)
{
	struct json_object *rec = audit_pend_build(p, NULL, VOL), *t = NULL;
	char host[256] = "";

	assert_non_null(rec);
	assert_true(json_object_object_get_ex(rec, "time", &t));
	assert_string_equal(json_object_get_string(t), "2023-11-14T22:13:20.123456Z");
	assert_true(json_object_object_get_ex(rec, "host", &t));
	gethostname(host, sizeof(host) - 1);
	assert_string_equal(json_object_get_string(t), host);
	json_object_object_del(rec, "time");
	json_object_object_del(rec, "host");
	assert_string_equal(json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE),
			    want);
	json_object_put(rec);
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

static void test_review_flag_before_object(void **state)
{
	struct audit_pend *p = pend(AUDIT_PEND_EVENT, "open", 0);

	(void)state;
	p->actor.review = OPCTX_REVIEW_AUDIT;
	p->actor.rule = 3;
	p->obj.present = 1;
	p->obj.ino = 5;
	p->extra = json_object_new_object();
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

static void test_obj_copy_and_clear(void **state)
{
	struct audit_pend_obj a = { .present = 1, .ino = 3 }, b;

	(void)state;
	a.path = strdup("/clinic/p1.txt");
	assert_int_equal(audit_pend_obj_copy(&b, &a), 0);
	assert_ptr_not_equal(a.path, b.path);
	assert_string_equal(b.path, "/clinic/p1.txt");
	assert_int_equal(b.ino, 3);
	audit_pend_obj_clear(&a);
	assert_null(a.path);
	audit_pend_obj_clear(&b);
	audit_pend_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_objects_and_fields),
		cmocka_unit_test(test_no_object_error_result),
		cmocka_unit_test(test_review_flag_before_object),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_call),
		cmocka_unit_test(test_obj_copy_and_clear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
