/*
 * test-backup-ptree.c: the parent tree of an incremental backup
 * (tools/phifs-backup/repo_ptree.c, docs/BACKUP_FORMAT.md §7 step 3, §9.1):
 * lines found by path (escaped paths decoded as json-c does, the later of two
 * equal paths winning, lines without a path skipped), a line handed back
 * byte for byte with keys the scanner does not know, the file keys read as
 * json-c would read them, and every unusual shape (float, escaped key, key
 * twice, missing key, not a file, broken JSON) refused rather than guessed —
 * the backup then reads the file, which is always correct.
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "repo_ptree.h"

#define ID_A "aa00000000000000000000000000000000000000000000000000000000000001"
#define ID_B "bb00000000000000000000000000000000000000000000000000000000000002"

#define FILE_LINE "{\"p\":\"d/f\",\"t\":\"f\",\"m\":420,\"u\":1000,\"g\":100,\"mt\":1700000000123456789," \
	"\"ct\":1700000000223456789,\"ino\":42,\"sz\":5000,\"c\":[\"" ID_A "\",\"" ID_B "\"]," \
	"\"x\":{\"user.phifs.a\":\"AAE\"},\"cl\":\"00ff\",\"cg\":3,\"zz\":[{\"k\":[1,2.5e3,true,null]}]}"

static struct ptree *load(const char *text)
{
	struct ptree *t = NULL;
	char *copy = strdup(text);

	assert_non_null(copy);
	assert_int_equal(ptree_from_text(copy, strlen(copy), &t), 0);
	return t;
}

static int load_err(const char *text)
{
	struct ptree *t = NULL;
	char *copy = strdup(text);
	int ret;

	assert_non_null(copy);
	ret = ptree_from_text(copy, strlen(copy), &t);
	assert_null(t);
	return ret;
}

static void test_lookup(void **state)
{
	struct ptree *t;
	struct json_object *o;
	const char *line;
	size_t len;

	(void)state;
	t = load("{\"p\":\".\",\"t\":\"d\"}\n" FILE_LINE "\n"
		 "{\"p\":\"a\\/b\",\"t\":\"d\"}\n"               /* an escaped path, decoded */
		 "{\"t\":\"d\"}\n"                               /* no path: skipped */
		 "{\"p\":\"dup\",\"t\":\"d\",\"m\":1}\n{\"p\":\"dup\",\"t\":\"d\",\"m\":2}\n");
	line = ptree_line(t, "d/f", &len);
	assert_non_null(line);
	assert_int_equal(len, strlen(FILE_LINE));
	assert_memory_equal(line, FILE_LINE, len);       /* whole, unknown keys included */
	assert_non_null(ptree_line(t, ".", &len));
	assert_non_null(ptree_line(t, "a/b", &len));
	assert_null(ptree_line(t, "a\\/b", &len));
	assert_null(ptree_line(t, "d", &len));
	assert_null(ptree_line(t, "d/f/", &len));
	o = ptree_entry(t, "dup");
	assert_non_null(o);
	assert_int_equal(json_object_get_int(json_object_object_get(o, "m")), 2);
	json_object_put(o);
	assert_null(ptree_entry(t, "missing"));
	assert_null(ptree_line(NULL, "d/f", &len));
	ptree_free(t);
	ptree_free(NULL);
}

static void test_load_refuses(void **state)
{
	(void)state;
	assert_int_equal(load_err("{\"p\":\"a\"}\n{\"p\":\"b\"\n"), -EBADMSG);
	assert_int_equal(load_err("{\"p\":\"a\"}\n\n{\"p\":\"b\"}\n"), -EBADMSG);
	assert_int_equal(load_err("[1]\n"), -EBADMSG);
}

static struct ptree_file edited;    /* the last scan_edit's keys */

/* FILE_LINE with `from` replaced by `to`, scanned into `edited`. */
static int scan_edit(const char *from, const char *to)
{
	char buf[1024];
	const char *at = strstr(FILE_LINE, from);

	assert_non_null(at);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - FILE_LINE), FILE_LINE, to, at + strlen(from));
	return ptree_scan_file(buf, strlen(buf), &edited);
}

static void test_scan_file(void **state)
{
	struct ptree_file f;

	(void)state;
	assert_int_equal(ptree_scan_file(FILE_LINE, strlen(FILE_LINE), &f), 0);
	assert_int_equal(f.m, 420);
	assert_int_equal(f.u, 1000);
	assert_int_equal(f.g, 100);
	assert_true(f.mt == 1700000000123456789LL);
	assert_true(f.ct == 1700000000223456789LL);
	assert_int_equal(f.ino, 42);
	assert_int_equal(f.sz, 5000);
	assert_int_equal(f.c_len, 2 + 2 * 66 + 1);
	assert_memory_equal(f.c, "[\"" ID_A "\"", 67);
	assert_false(f.pa);
	assert_int_equal(scan_edit("\"x\":", "\"pa\":[[0,4096,\"" ID_B "\"]],\"x\":"), 0);
	assert_true(edited.pa);                           /* patches: checked by the caller */
}

static void test_scan_refuses(void **state)
{
	struct ptree_file f;
	const char *ws = " { \"t\" : \"f\" , \"m\":1,\"u\":2,\"g\":3,\"mt\":-4,\"ct\":5,\"ino\":6,\"sz\":0,\"c\": [ ] } ";

	(void)state;
	assert_int_equal(ptree_scan_file(ws, strlen(ws), &f), 0);  /* whitespace is JSON */
	assert_int_equal(f.mt, -4);
	assert_int_equal(scan_edit("\"sz\":5000", "\"sz\":5000.0"), -EBADMSG);
	assert_int_equal(scan_edit("\"sz\":5000", "\"sz\":5e3"), -EBADMSG);
	assert_int_equal(scan_edit("\"sz\":5000", "\"sz\":\"5000\""), -EBADMSG);
	assert_int_equal(scan_edit("\"sz\":5000", "\"sz\":05000"), -EBADMSG);
	assert_int_equal(scan_edit("\"sz\":5000", "\"sz\":99999999999999999999"), -EBADMSG);
	assert_int_equal(scan_edit("\"sz\":5000,", ""), -EBADMSG);               /* missing */
	assert_int_equal(scan_edit("\"sz\":5000", "\"sz\":5000,\"sz\":5000"), -EBADMSG);
	assert_int_equal(scan_edit("\"sz\"", "\"s\\u007a\""), -EBADMSG);         /* escaped key */
	assert_int_equal(scan_edit("\"t\":\"f\"", "\"t\":\"d\""), -EBADMSG);
	assert_int_equal(scan_edit("\"t\":\"f\"", "\"t\":\"\\u0066\""), -EBADMSG);
	assert_int_equal(scan_edit("\"c\":[\"" ID_A "\",\"" ID_B "\"]", "\"c\":\"x\""), -EBADMSG);
	assert_int_equal(scan_edit("true", "tru"), -EBADMSG);
	assert_int_equal(scan_edit("2.5e3", "2.e3"), -EBADMSG);
	assert_int_equal(scan_edit("\"AAE\"", "\"A\\qE\""), -EBADMSG);
	assert_int_equal(scan_edit("null]}]}", "null]}]}x"), -EBADMSG);
	assert_int_equal(scan_edit("null]}]}", "null]}],}"), -EBADMSG);
	assert_int_equal(scan_edit("[{\"k\":[1,2.5e3,true,null]}]", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"),
			 -EBADMSG);                                       /* deeper than json-c reads */
	assert_int_equal(scan_edit("[{\"k\":[1,2.5e3,true,null]}]", "[[[[[[[[[[]]]]]]]]]]"), 0);
	assert_int_equal(ptree_scan_file(FILE_LINE, strlen(FILE_LINE) - 1, &f), -EBADMSG);
	assert_int_equal(ptree_scan_file("", 0, &f), -EBADMSG);
}

static void test_chunks_indexed(void **state)
{
	struct repo_index *ix = NULL;
	struct repo_loc l = { .type = 1, .pack = REPO_PACK_PENDING, .len = 1, .raw_len = 1 };
	struct ptree_file f;
	const char *bad = "{\"t\":\"f\",\"m\":1,\"u\":2,\"g\":3,\"mt\":4,\"ct\":5,\"ino\":6,\"sz\":7,"
			  "\"c\":[\"" ID_A "\",17]}";

	(void)state;
	assert_int_equal(repo_index_new(&ix), 0);
	memset(l.id, 0, sizeof(l.id));
	l.id[0] = 0xaa;
	l.id[31] = 1;
	assert_int_equal(repo_index_add_pending(ix, &l), 0);
	assert_int_equal(ptree_scan_file(FILE_LINE, strlen(FILE_LINE), &f), 0);
	assert_false(ptree_chunks_indexed(&f, ix));      /* ID_B is not in the index */
	l.id[0] = 0xbb;
	l.id[31] = 2;
	assert_int_equal(repo_index_add_pending(ix, &l), 0);
	assert_true(ptree_chunks_indexed(&f, ix));
	assert_int_equal(ptree_scan_file(bad, strlen(bad), &f), 0);
	assert_false(ptree_chunks_indexed(&f, ix));      /* not a string id */
	repo_index_free(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_load_refuses),
		cmocka_unit_test(test_scan_file),
		cmocka_unit_test(test_scan_refuses),
		cmocka_unit_test(test_chunks_indexed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
