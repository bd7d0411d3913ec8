/*
 * cmd_check.c: `phifs-backup check [--read-data | --read-data-subset N%]` —
 * is every snapshot restorable? (docs/BACKUP_FORMAT.md §2, §6–§9.) Always:
 * the config MAC and key (by opening), every index and snapshot object
 * opens and is named by its hash, every pack an index names exists with its
 * size, every blob a snapshot needs is indexed. With --read-data, every pack
 * is read: its hash, its header and each blob's tag and keyed id. A subset
 * rotates by day so that 100/N days cover the whole repository. Problems
 * name the object (never a plaintext path: trees hold backing names only).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../phifs/common.h"
#include "backupcmd.h"
#include "repo_cli.h"
#include "repo_lock.h"
#include "repo_obj.h"
#include "repo_patch.h"
#include "repo_snap.h"
#include "repo_util.h"

struct listed {
	uint8_t id[32];                 /* first: sorted and searched by id */
	uint64_t size;                  /* bytes */
};

struct ck {
	struct repo *r;
	struct repo_index *ix;
	struct listed *listed;          /* data/ objects, sorted by id */
	size_t nlisted, cap;
	uint64_t problems, notes, blobs_read;
	int json;
	const char *snap;               /* snapshot being walked, for messages */
	struct repo_lock *lock;         /* refreshed while packs are read */
};

static void found(struct ck *c, int is_problem, const char *object, const char *what)
{
	if (c->json)
		printf("{\"%s\":\"%s\",\"object\":\"%s\"}\n", is_problem ? "problem" : "note", what,
		       object);
	else if (is_problem)
		fprintf(stderr, "phifs-backup: check: %s: %s\n", object, what);
	else if (cli_tty())
		fprintf(stderr, "note: %s: %s\n", object, what);
	if (is_problem)
		c->problems++;
	else
		c->notes++;
}

static int list_pack(void *arg, const char *name, uint64_t size)
{
	struct ck *c = arg;
	const char *slash = strrchr(name, '/');

	if (c->nlisted == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct listed *n = realloc(c->listed, cap * sizeof(*c->listed));

		if (!n)
			return -ENOMEM;
		c->listed = n;
		c->cap = cap;
	}
	if (!slash || repo_unhex(slash + 1, c->listed[c->nlisted].id, 32)) {
		found(c, 1, name, "not a pack name");
		return 0;
	}
	c->listed[c->nlisted++].size = size;
	return 0;
}

static int by_id(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static struct listed *listed_find(struct ck *c, const uint8_t id[32])
{
	return bsearch(id, c->listed, c->nlisted, sizeof(*c->listed), by_id);
}

/* Every indexed pack is stored with its size; stored packs without index are notes. */
static void check_packs(struct ck *c)
{
	uint8_t *known = calloc(c->nlisted ? c->nlisted : 1, 1);
	char name[100];

	for (size_t i = 0; i < c->ix->npacks; i++) {
		struct listed *l = listed_find(c, c->ix->packs[i].id);

		repo_obj_name("data", c->ix->packs[i].id, name, sizeof(name));
		if (!l)
			found(c, 1, name, "pack missing");
		else if (l->size != c->ix->packs[i].size)
			found(c, 1, name, "pack has the wrong size");
		if (l && known)
			known[l - c->listed] = 1;
	}
	for (size_t i = 0; known && i < c->nlisted; i++) {
		repo_obj_name("data", c->listed[i].id, name, sizeof(name));
		if (!known[i])
			found(c, 0, name, "pack in no index (left by an interrupted run; prune removes it)");
	}
	free(known);
}

struct ck_entry {
	struct ck *c;
	struct json_object *e;
};

static int check_blob(void *arg, const uint8_t id[32])
{
	struct ck_entry *ce = arg;
	const char *path = repo_json_str(ce->e, "p");
	char what[200], hex[65];

	if (repo_index_find(ce->c->ix, id))
		return 0;
	repo_hex(id, 32, hex);
	snprintf(what, sizeof(what), "chunk %.16s of %.100s is not in the index", hex,
		 path ? path : "?");
	found(ce->c, 1, ce->c->snap, what);
	return 0;
}

/* Every chunk and patch (§6.3) of a file entry is indexed. */
static int check_entry(void *arg, struct json_object *e)
{
	struct ck_entry ce = { .c = arg, .e = e };
	const char *path = repo_json_str(e, "p");
	struct repo_patch *pa = NULL;
	char what[200];
	int64_t sz = 0;
	size_t n = 0;

	repo_json_i64(e, "sz", &sz);
	if (repo_patch_each_blob(e, check_blob, &ce) || repo_patch_parse(e, (uint64_t)sz, &pa, &n)) {
		snprintf(what, sizeof(what), "entry %.100s has a malformed chunk or patch list",
			 path ? path : "?");
		found(ce.c, 1, ce.c->snap, what);
	}
	free(pa);
	return 0;
}

static void check_snapshots(struct ck *c)
{
	struct repo_snap *s = NULL;
	size_t n = 0;
	int bad = 0, ret;
	char name[100];

	ret = repo_snap_list(c->r, &s, &n, &bad);
	if (ret)
		found(c, 1, "snapshots/", strerror(-ret));
	c->problems += (uint64_t)bad;
	for (size_t i = 0; i < n; i++) {
		repo_snap_name(&s[i], name, sizeof(name));
		c->snap = name;
		ret = repo_tree_each(c->r, c->ix, s[i].tree, check_entry, c);
		if (ret)
			found(c, 1, name, ret == -ENOENT ? "tree not in the index" : "tree unreadable");
	}
	repo_snap_free(s, n);
}

/* One pack read whole: hash, header, every blob (§6.2). */
static void read_pack(struct ck *c, const uint8_t id[32])
{
	uint8_t *raw = NULL, *hdr = NULL, got[32];
	struct repo_blob_ent *b = NULL;
	size_t len = 0, hlen = 0, nb = 0, hsz;
	char name[100];
	int ret;

	repo_obj_name("data", id, name, sizeof(name));
	ret = backend_get(c->r->be, name, &raw, &len);
	if (ret) {
		found(c, 1, name, ret == -ENOENT ? "pack missing" : "pack unreadable");
		return;
	}
	if (repo_obj_id(raw, len, got) || memcmp(got, id, 32)) {
		found(c, 1, name, "pack corrupt (hash does not match its name)");
		goto out;
	}
	hsz = len >= 4 ? (size_t)raw[len - 4] | (size_t)raw[len - 3] << 8 |
			 (size_t)raw[len - 2] << 16 | (size_t)raw[len - 1] << 24 : 0;
	if (len < 4 || hsz > len - 4 ||
	    repo_obj_open(c->r->keys->encrypt, REPO_T_PACKHDR, NULL, raw + len - 4 - hsz, hsz, &hdr,
			  &hlen) ||
	    repo_packhdr_decode(hdr, hlen, &b, &nb)) {
		found(c, 1, name, "pack header unreadable");
		goto out;
	}
	for (size_t i = 0; i < nb; i++) {
		uint8_t *pt = NULL, check[32];
		size_t ptlen;

		if (b[i].off + b[i].len > len - 4 - hsz ||
		    repo_obj_open(c->r->keys->encrypt, b[i].type, b[i].id, raw + b[i].off, b[i].len,
				  &pt, &ptlen) ||
		    repo_blob_id(c->r, pt, ptlen, check) || memcmp(check, b[i].id, 32)) {
			found(c, 1, name, "blob corrupt");
			free(pt);
			break;
		}
		c->blobs_read++;
		free(pt);
	}
out:
	free(b);
	free(hdr);
	free(raw);
}

/* The pack's share of today's rotation: N% per day, all in 100/N days. */
static int in_subset(const uint8_t id[32], int pct)
{
	unsigned slot = ((unsigned)id[0] << 8 | id[1]) % 100;
	unsigned start = (unsigned)((repo_now() / 86400) * (unsigned)pct % 100);

	return (slot + 100 - start) % 100 < (unsigned)pct;
}

static void usage(void)
{
	printf("usage: phifs-backup [-r REPO] check [--read-data | --read-data-subset N%%] [--json]\n"
	       "  --read-data            read every pack: hashes, tags, chunk ids\n"
	       "  --read-data-subset N%%  read N%% of the packs (a different N%% each day)\n"
	       "exit: 0 no problem, 1 problems (named on stderr / as JSON lines), 3 key,\n"
	       "      4 not a repository or config modified, 5 locked\n");
}

int backup_cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "read-data", no_argument, NULL, 'd' },
		{ "read-data-subset", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	struct ck c = { 0 };
	const char *url = NULL;
	int opt, code, ret, pct = 0;
	char *end;

	while ((opt = getopt_long(argc, argv, "r:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r': url = optarg; break;
		case 'd': pct = 100; break;
		case 's':
			pct = (int)strtol(optarg, &end, 10);
			if (pct < 1 || pct > 100 || (*end && strcmp(end, "%")))
				die(EXIT_USAGE, "bad --read-data-subset '%s' (1%%..100%%)", optarg);
			break;
		case 'j': c.json = 1; break;
		case 'h': usage(); return EXIT_OK;
		default: usage(); return EXIT_USAGE;
		}
	}
	if (optind != argc || !(url = cli_repo_url(url))) {
		usage();
		return EXIT_USAGE;
	}
	code = cli_open("check", url, 0, &c.r, &c.lock);
	if (code)
		return code;
	ret = repo_index_new(&c.ix);
	if (!ret && repo_index_load(c.r, c.ix))
		found(&c, 1, "index/", "an index object is unreadable (named above)");
	if (!ret)
		ret = backend_list(c.r->be, "data/", list_pack, &c);
	if (!ret) {
		if (c.nlisted)
			qsort(c.listed, c.nlisted, sizeof(*c.listed), by_id);
		check_packs(&c);
		check_snapshots(&c);
		for (size_t i = 0; pct && i < c.nlisted; i++)
			if (pct == 100 || in_subset(c.listed[i].id, pct)) {
				read_pack(&c, c.listed[i].id);
				repo_lock_refresh(c.lock);
			}
	}
	if (ret) {
		cli_warn("check", "cannot read the repository: %s", strerror(-ret));
		code = cli_exit_for(ret) ? cli_exit_for(ret) : EXIT_PROBLEMS;
	} else {
		code = c.problems ? EXIT_PROBLEMS : EXIT_OK;
	}
	if (c.json)
		printf("{\"packs\":%zu,\"blobs\":%zu,\"blobs_read\":%llu,\"problems\":%llu,\"notes\":%llu}\n",
		       c.nlisted, c.ix ? c.ix->count : 0, (unsigned long long)c.blobs_read,
		       (unsigned long long)c.problems, (unsigned long long)c.notes);
	else if (cli_tty())
		printf("%zu packs, %zu blobs, %llu blobs read: %llu problems\n", c.nlisted,
		       c.ix ? c.ix->count : 0, (unsigned long long)c.blobs_read,
		       (unsigned long long)c.problems);
	free(c.listed);
	repo_index_free(c.ix);
	cli_close(c.r, c.lock);
	return code;
}
