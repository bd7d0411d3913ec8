/*
 * cmd_verify_replica.c: `phifs-backup -r REPLICA verify-replica [--source
 * REPO] [--spot-check N|P%]` — is the replica whole? (docs/BACKUP_FORMAT.md
 * §12.2, docs/OPERATIONS.md "Backup to S3 and cross-region sync").
 *
 * With --source: a manifest of every source object's name, size and SHA-256
 * is made, MAC'd with the repository's mac key and stored in the replica;
 * without: the newest manifest stored in the replica is used, once its MAC
 * verifies under the key the replica itself holds (the source region may be
 * down). Then a full listing of the replica is compared with the manifest
 * (missing objects, wrong sizes, a different config), and N objects are
 * downloaded and hashed — a different N each day, so that repeated runs read
 * the whole replica. Problems are named by object; objects are never opened
 * or decrypted.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../phifs/common.h"
#include "backupcmd.h"
#include "cipher.h"
#include "replica.h"
#include "repo_cli.h"
#include "repo_json.h"
#include "repo_lock.h"
#include "repo_util.h"

#define VR_IDENTICAL 0
#define VR_DIFFERENT 1
#define VR_USAGE 2
#define VR_KEY 3
#define VR_UNREACHABLE 4

struct verify {
	struct backend *replica;
	const char *url;
	struct replica_list manifest, actual;
	size_t missing, corrupt, extra, checked;
	int json;
};

static int vr_exit(int err)
{
	switch (err) {
	case 0:
		return VR_IDENTICAL;
	case -EACCES:
	case -ENOKEY:
	case -EKEYREJECTED:
		return VR_KEY;
	case -EAGAIN:
		return EXIT_LOCKED;
	case -ENODATA:   /* no valid manifest: nothing proves the replica whole */
		return VR_DIFFERENT;
	default:
		return VR_UNREACHABLE;
	}
}

static void problem(struct verify *v, const char *name, const char *kind, const char *detail)
{
	if (v->json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "event", json_object_new_string(kind));
		json_object_object_add(o, "object", json_object_new_string(name));
		if (detail)
			json_object_object_add(o, "detail", json_object_new_string(detail));
		replica_json_line(o);
	}
	if (strcmp(kind, "extra"))
		cli_warn("verify-replica", "%s: %s%s%s", name, kind, detail ? ": " : "",
			 detail ? detail : "");
}

/* Listing against the manifest: sizes, and config's bytes. */
static void compare(struct verify *v)
{
	char detail[96];

	for (size_t i = 0; i < v->manifest.n; i++) {
		const struct replica_obj *m = &v->manifest.v[i];
		const struct replica_obj *a = replica_list_find(&v->actual, m->name);

		if (!a) {
			v->missing++;
			problem(v, m->name, "missing", NULL);
		} else if (a->size != m->size) {
			v->corrupt++;
			snprintf(detail, sizeof(detail), "size %" PRIu64 ", expected %" PRIu64,
				 a->size, m->size);
			problem(v, m->name, "corrupt", detail);
		} else if (!strcmp(m->name, "config") && memcmp(a->sha256, m->sha256, 32)) {
			v->corrupt++;
			problem(v, m->name, "corrupt", "differs from the source");
		}
	}
	for (size_t i = 0; i < v->actual.n; i++)
		if (!replica_list_find(&v->manifest, v->actual.v[i].name)) {
			v->extra++;
			problem(v, v->actual.v[i].name, "extra", "not in the manifest");
		}
}

/* Today's share: count objects starting at a day-dependent offset. */
static void spot_check(struct verify *v, size_t count)
{
	size_t n = v->manifest.n, start;

	if (n == 0 || count == 0)
		return;
	if (count > n)
		count = n;
	start = (size_t)((uint64_t)(repo_now() / 86400) * count % n);
	for (size_t k = 0; k < count; k++) {
		const struct replica_obj *m = &v->manifest.v[(start + k) % n];
		uint8_t *buf = NULL, md[32];
		size_t len = 0;
		int ret;

		if (!replica_list_find(&v->actual, m->name))
			continue;   /* already reported missing */
		ret = backend_get(v->replica, m->name, &buf, &len);
		if (!ret)
			ret = cipher_sha256(buf, len, md);
		v->checked++;
		if (ret == -ENOENT) {
			v->missing++;
			problem(v, m->name, "missing", "vanished while checked");
		} else if (ret) {
			v->corrupt++;
			problem(v, m->name, "unreadable", strerror(-ret));
		} else if (memcmp(md, m->sha256, 32)) {
			v->corrupt++;
			problem(v, m->name, "corrupt", "SHA-256 differs");
		}
		free(buf);
	}
}

/* "N" objects or "P%" of them (1..100); 0 disables. */
static int parse_spot(const char *s, size_t *n, int *pct)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s || (*end && strcmp(end, "%")))
		return -EINVAL;
	if (*end == '%') {
		if (v > 100)
			return -EINVAL;
		*pct = (int)v;
		*n = 0;
	} else {
		*pct = -1;
		*n = v;
	}
	return 0;
}

static size_t spot_count(size_t total, size_t n, int pct)
{
	if (pct < 0)
		return n;
	if (pct == 0 || total == 0)
		return 0;
	return (total * (size_t)pct + 99) / 100;
}

/* With --source: manifest from the source's listing, signed and stored. */
static int manifest_from_source(struct verify *v, const char *src_url)
{
	struct repo *r = NULL;
	struct repo_lock *lock = NULL;
	char err[512], *text = NULL;
	size_t len = 0;
	int ret = repo_open_msg(src_url, &r, err, sizeof(err));

	if (ret) {
		cli_warn("verify-replica", "source: %s", err);
		return ret;
	}
	ret = repo_lock_take(r->be, src_url, 0, &lock);
	if (!ret)
		ret = replica_list_all(r->be, &v->manifest);
	if (!ret)
		ret = replica_manifest_encode(r, &v->manifest, repo_now(), &text, &len);
	if (!ret)
		ret = replica_manifest_store(v->replica, text, len);
	if (ret)
		cli_warn("verify-replica", "manifest of %s: %s", src_url, strerror(-ret));
	free(text);
	repo_lock_release(lock);
	repo_close(r);
	return ret;
}

/* Without: the newest manifest in the replica, MAC checked with its own key. */
static int manifest_from_replica(struct verify *v)
{
	struct repo *r = NULL;
	char err[512];
	int64_t created = 0;
	int ret = repo_open_msg(v->url, &r, err, sizeof(err));

	if (ret) {
		cli_warn("verify-replica", "%s", err);
		return ret;
	}
	ret = replica_manifest_load(r, v->replica, &v->manifest, &created);
	if (ret == -ENOENT) {
		cli_warn("verify-replica", "no valid manifest in %s: run it once with --source",
			 v->url);
		ret = -ENODATA;
	}
	else if (ret)
		cli_warn("verify-replica", "cannot read manifests: %s", strerror(-ret));
	repo_close(r);
	return ret;
}

static void usage(void)
{
	printf("usage: phifs-backup -r REPLICA verify-replica [--source REPO] [--spot-check N|P%%] [--json]\n"
	       "  --source REPO     make a signed manifest of REPO's objects and store it in the\n"
	       "                    replica (without: use the newest manifest stored there)\n"
	       "  --spot-check N    download and hash N objects (or P%%), a different share each\n"
	       "                    day (default 1%%)\n"
	       "Exit 0 identical, 1 differences (named on stderr), 2 usage, 3 key or credentials,\n"
	       "4 unreachable or not a repository, 5 locked.\n");
}

static int report(struct verify *v)
{
	int same = !v->missing && !v->corrupt;

	if (v->json)
		printf("{\"event\":\"verified\",\"objects\":%zu,\"missing\":%zu,\"corrupt\":%zu,"
		       "\"extra\":%zu,\"spot_checked\":%zu,\"identical\":%s}\n", v->manifest.n,
		       v->missing, v->corrupt, v->extra, v->checked, same ? "true" : "false");
	else if (cli_tty() || !same)
		printf("%s: %zu objects, %zu missing, %zu corrupt, %zu extra, %zu hashed: %s\n",
		       v->url, v->manifest.n, v->missing, v->corrupt, v->extra, v->checked,
		       same ? "identical" : "DIFFERENT");
	return same ? VR_IDENTICAL : VR_DIFFERENT;
}

int backup_cmd_verify_replica(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "source", required_argument, NULL, 's' },
		{ "spot-check", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	struct verify v = { 0 };
	struct repo_lock *lock = NULL;
	const char *source = NULL;
	size_t spot_n = 0;
	int opt, ret, pct = 1, code;

	while ((opt = getopt_long(argc, argv, "r:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			v.url = optarg;
			break;
		case 's':
			source = optarg;
			break;
		case 'n':
			if (parse_spot(optarg, &spot_n, &pct))
				die(VR_USAGE, "bad --spot-check '%s' (N objects or P%%)", optarg);
			break;
		case 'j':
			v.json = 1;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			usage();
			return VR_USAGE;
		}
	}
	if (optind != argc || !(v.url = cli_repo_url(v.url))) {
		usage();
		return VR_USAGE;
	}
	if (source && !strcmp(source, v.url))
		die(VR_USAGE, "--source is the replica itself");
	ret = backend_open(v.url, 0, &v.replica);
	if (!ret)
		ret = repo_lock_take(v.replica, v.url, 0, &lock);
	if (ret)
		cli_warn("verify-replica", "%s: %s", v.url, ret == -EAGAIN ?
			 "locked by another job (a sync?)" : strerror(-ret));
	if (!ret)
		ret = source ? manifest_from_source(&v, source) : manifest_from_replica(&v);
	if (!ret) {
		ret = replica_list_all(v.replica, &v.actual);
		if (ret)
			cli_warn("verify-replica", "cannot list %s: %s", v.url, strerror(-ret));
	}
	if (ret) {
		code = vr_exit(ret);
	} else {
		compare(&v);
		spot_check(&v, spot_count(v.manifest.n, spot_n, pct));
		code = report(&v);
	}
	replica_list_free(&v.manifest);
	replica_list_free(&v.actual);
	repo_lock_release(lock);
	backend_close(v.replica);
	return code;
}
