/*
 * cmd_prune.c: `phifs-backup prune` — deletes data no snapshot references
 * (docs/BACKUP_FORMAT.md §10.3): packs with no used blob go, packs with
 * more than 20 % unused bytes are repacked, packs in no index (left by a
 * killed run) go. Order: new packs → new index → old index objects → old
 * packs, so a crash at any point leaves every snapshot readable. It refuses
 * to run when a snapshot object does not open (it could not know what that
 * snapshot needs). It never removes snapshots: the retention floor is
 * enforced by `forget`, and prune deletes only what no remaining snapshot
 * needs. Exclusive lock.
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
#include "repo_pack.h"
#include "repo_patch.h"
#include "repo_snap.h"
#include "repo_util.h"

#define REPACK_UNUSED_PCT 20

struct pr {
	struct repo *r;
	struct repo_index *ix;          /* as stored */
	struct repo_index *used;        /* blob ids some snapshot needs */
	uint64_t *used_bytes, *all_bytes;   /* per ix pack */
	char **orphans;                 /* data/ objects in no index */
	size_t norphans;
	int dry, json;
	struct repo_lock *lock;         /* refreshed while repacking */
};

static int mark(struct pr *p, const uint8_t id[32])
{
	struct repo_loc l = { .type = 1 };

	memcpy(l.id, id, 32);
	return repo_index_add_pending(p->used, &l);
}

static int mark_blob(void *arg, const uint8_t id[32])
{
	return mark(arg, id);
}

/* A file's chunks and patches (§6.3). */
static int mark_entry(void *arg, struct json_object *e)
{
	return repo_patch_each_blob(e, mark_blob, arg);
}

static int mark_all(struct pr *p)
{
	struct repo_snap *s = NULL;
	size_t n = 0;
	int bad = 0, ret = repo_snap_list(p->r, &s, &n, &bad);

	if (!ret && bad) {
		cli_warn("prune", "%d snapshot object(s) do not open: refusing to prune", bad);
		ret = -EBADMSG;
	}
	for (size_t i = 0; !ret && i < n; i++) {
		ret = mark(p, s[i].tree);
		if (!ret)
			ret = repo_tree_each(p->r, p->ix, s[i].tree, mark_entry, p);
		if (ret)
			cli_warn("prune", "snapshot %.16s unreadable: refusing to prune", s[i].id_hex);
	}
	repo_snap_free(s, n);
	return ret;
}

/* Used and total bytes of each pack, counting each blob at its indexed place. */
static int measure(struct pr *p)
{
	p->used_bytes = calloc(p->ix->npacks + 1, sizeof(uint64_t));
	p->all_bytes = calloc(p->ix->npacks + 1, sizeof(uint64_t));
	if (!p->used_bytes || !p->all_bytes)
		return -ENOMEM;
	for (size_t i = 0; i < p->ix->cap; i++) {
		const struct repo_loc *l = &p->ix->slots[i];

		if (!l->type || l->pack == REPO_PACK_PENDING)
			continue;
		p->all_bytes[l->pack] += l->len;
		if (repo_index_find(p->used, l->id))
			p->used_bytes[l->pack] += l->len;
	}
	return 0;
}

/* 0 keep, 1 delete, 2 repack. */
static int fate(const struct pr *p, size_t k)
{
	uint64_t used = p->used_bytes[k], all = p->all_bytes[k];

	if (!used)
		return 1;
	if ((all - used) * 100 > all * REPACK_UNUSED_PCT)
		return 2;
	return 0;
}

/* Used blobs of repacked packs into new packs (their own index object). */
static int repack(struct pr *p, struct repo_index *nix)
{
	struct repo_packer *pk = NULL;
	int ret = repo_packer_new(p->r, nix, &pk);

	for (size_t i = 0; !ret && i < p->ix->cap; i++) {
		const struct repo_loc *l = &p->ix->slots[i];
		uint8_t *buf = NULL;
		size_t len;
		int added;

		if (!l->type || l->pack == REPO_PACK_PENDING || fate(p, l->pack) != 2 ||
		    !repo_index_find(p->used, l->id))
			continue;
		repo_lock_refresh(p->lock);
		ret = repo_blob_read(p->r, p->ix, l->id, &buf, &len);
		if (!ret)
			ret = repo_packer_add(pk, l->type, l->id, buf, len, &added);
		free(buf);
	}
	if (!ret)
		ret = repo_packer_write_index(pk);
	repo_packer_free(pk);
	return ret;
}

/* One index object for every kept pack, with the blobs indexed there. */
static int write_kept_index(struct pr *p)
{
	struct repo_pack_info *packs = calloc(p->ix->npacks + 1, sizeof(*packs));
	size_t *at = calloc(p->ix->npacks + 1, sizeof(*at));   /* ix pack → packs[] */
	uint8_t *pt = NULL;
	size_t np = 0, ptlen;
	int ret = packs && at ? 0 : -ENOMEM;

	for (size_t k = 0; !ret && k < p->ix->npacks; k++) {
		if (fate(p, k))
			continue;
		at[k] = np;
		packs[np] = p->ix->packs[k];
		packs[np].n = 0;
		packs[np].blobs = calloc(p->ix->packs[k].n + 1, sizeof(struct repo_blob_ent));
		if (!packs[np].blobs)
			ret = -ENOMEM;
		np++;
	}
	for (size_t i = 0; !ret && i < p->ix->cap; i++) {
		const struct repo_loc *l = &p->ix->slots[i];
		struct repo_pack_info *pi;

		if (!l->type || l->pack == REPO_PACK_PENDING || fate(p, l->pack))
			continue;
		pi = &packs[at[l->pack]];
		pi->blobs[pi->n++] = (struct repo_blob_ent){ .type = l->type, .off = l->off,
							     .len = l->len, .raw_len = l->raw_len };
		memcpy(pi->blobs[pi->n - 1].id, l->id, 32);
	}
	if (!ret && np)
		ret = repo_index_encode(packs, np, &pt, &ptlen);
	if (!ret && np)
		ret = repo_put_sealed(p->r, REPO_T_INDEX, "index", pt, ptlen, NULL);
	free(pt);
	repo_packs_free(packs, np);
	free(at);
	return ret;
}

static int find_orphan(void *arg, const char *name, uint64_t size)
{
	struct pr *p = arg;
	const char *slash = strrchr(name, '/');
	uint8_t id[32];
	int known = 0;
	char **v;

	(void)size;
	if (!slash || repo_unhex(slash + 1, id, 32))
		return 0;
	for (size_t k = 0; k < p->ix->npacks && !known; k++)
		known = !memcmp(p->ix->packs[k].id, id, 32);
	if (known)
		return 0;
	v = realloc(p->orphans, (p->norphans + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->orphans = v;
	v[p->norphans] = strdup(name);
	if (v[p->norphans])
		p->norphans++;
	return 0;
}

static int delete_old(struct pr *p, uint64_t *deleted, uint64_t *freed)
{
	char name[100];
	int ret = 0;

	for (size_t i = 0; !ret && i < p->ix->nobjects; i++)
		ret = backend_del(p->r->be, p->ix->objects[i]);
	for (size_t k = 0; !ret && k < p->ix->npacks; k++) {
		if (!fate(p, k))
			continue;
		repo_obj_name("data", p->ix->packs[k].id, name, sizeof(name));
		ret = backend_del(p->r->be, name);
		if (ret == -ENOENT)
			ret = 0;
		(*deleted)++;
		*freed += p->ix->packs[k].size;
	}
	for (size_t i = 0; !ret && i < p->norphans; i++) {
		ret = backend_del(p->r->be, p->orphans[i]);
		(*deleted)++;
	}
	return ret;
}

static int run(struct pr *p)
{
	struct repo_index *nix = NULL;
	uint64_t deleted = 0, freed = 0, repacked = 0;
	int ret;

	ret = repo_index_load(p->r, p->ix);
	if (!ret)
		ret = mark_all(p);
	if (!ret)
		ret = measure(p);
	if (!ret)
		ret = backend_list(p->r->be, "data/", find_orphan, p);
	for (size_t k = 0; !ret && k < p->ix->npacks; k++)
		repacked += fate(p, k) == 2;
	if (!ret && !p->dry) {
		ret = repo_index_new(&nix);
		if (!ret)
			ret = repack(p, nix);               /* new packs → their index */
		if (!ret)
			ret = write_kept_index(p);          /* → index of kept packs */
		if (!ret)
			ret = delete_old(p, &deleted, &freed);   /* → old index, old packs */
	}
	repo_index_free(nix);
	if (ret)
		return ret;
	if (p->json)
		printf("{\"packs\":%zu,\"repacked\":%llu,\"deleted\":%llu,\"orphans\":%zu,\"bytes_freed\":%llu,\"dry_run\":%s}\n",
		       p->ix->npacks, (unsigned long long)repacked, (unsigned long long)deleted,
		       p->norphans, (unsigned long long)freed, p->dry ? "true" : "false");
	else if (cli_tty())
		printf("%llu packs deleted, %llu repacked, %.1f MiB freed\n",
		       (unsigned long long)deleted, (unsigned long long)repacked, freed / 1048576.0);
	return 0;
}

static void usage(void)
{
	printf("usage: phifs-backup [-r REPO] prune [--dry-run] [--json]\n"
	       "  deletes data that no snapshot references (run `forget` first)\n");
}

int backup_cmd_prune(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	struct pr p = { 0 };
	const char *url = NULL;
	int opt, code, ret;

	while ((opt = getopt_long(argc, argv, "r:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r': url = optarg; break;
		case 'n': p.dry = 1; break;
		case 'j': p.json = 1; break;
		case 'h': usage(); return EXIT_OK;
		default: usage(); return EXIT_USAGE;
		}
	}
	if (optind != argc || !(url = cli_repo_url(url))) {
		usage();
		return EXIT_USAGE;
	}
	code = cli_open("prune", url, 1, &p.r, &p.lock);
	if (code)
		return code;
	ret = repo_index_new(&p.ix);
	if (!ret)
		ret = repo_index_new(&p.used);
	if (!ret)
		ret = run(&p);
	if (ret)
		cli_warn("prune", "%s", strerror(-ret));
	for (size_t i = 0; i < p.norphans; i++)
		free(p.orphans[i]);
	free(p.orphans);
	free(p.used_bytes);
	free(p.all_bytes);
	repo_index_free(p.used);
	repo_index_free(p.ix);
	cli_close(p.r, p.lock);
	return ret ? EXIT_PROBLEMS : EXIT_OK;
}
