/*
 * fuzz-backuptree.c: libFuzzer harness for the two readers of a parent
 * snapshot's tree lines (docs/BACKUP_FORMAT.md §6.3, §9.1): the text scanner
 * an incremental backup uses for unchanged files (repo_ptree.c) and the
 * patch list parser every reader of a file's content uses (repo_patch.c).
 * Trees are authenticated, so this is defence in depth: no input may crash
 * either, and where the scanner accepts a line that json-c also parses, both
 * must read the same numbers (else the unchanged test could be fooled).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "repo_json.h"
#include "repo_patch.h"
#include "repo_ptree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_blob(void *arg, const uint8_t id[32])
{
	(void)id;
	(*(size_t *)arg)++;
	return 0;
}

static void same(struct json_object *e, const char *key, int64_t want)
{
	int64_t v;

	if (repo_json_i64(e, key, &v) == 0 && v != want)
		abort();
}

/* One line: the scanner against json-c, then the patch parser and walk. */
static void line_target(const struct ptree *t, const char *line, size_t len)
{
	struct ptree_file f;
	struct json_object *e = NULL;
	struct repo_patch *pa = NULL;
	size_t n = 0, blobs = 0, got = 0;
	const char *p;
	int scanned = ptree_scan_file(line, len, &f) == 0;

	if (repo_json_parse(line, len, &e) != 0 || !json_object_is_type(e, json_type_object))
		goto out;
	if (scanned) {
		same(e, "m", f.m);
		same(e, "u", f.u);
		same(e, "g", f.g);
		same(e, "mt", f.mt);
		same(e, "ct", f.ct);
		same(e, "ino", f.ino);
		same(e, "sz", f.sz);
	}
	p = repo_json_str(e, "p");
	if (p && !ptree_line(t, p, &got))
		abort();   /* a line that parses with a path is found by that path */
	if (repo_patch_parse(e, f.sz > 0 && scanned ? (uint64_t)f.sz : UINT64_MAX, &pa, &n) == 0)
		free(pa);
	repo_patch_each_blob(e, count_blob, &blobs);
out:
	json_object_put(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct ptree *t = NULL;
	size_t start = 0;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (ptree_from_text(text, size, &t) != 0)
		return 0;   /* text is freed by ptree_from_text, also on error */
	for (size_t i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		if (i > start)
			line_target(t, (const char *)data + start, i - start);
		start = i + 1;
	}
	ptree_free(t);
	return 0;
}
