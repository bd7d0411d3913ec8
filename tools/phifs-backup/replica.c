/*
 * replica.c: what `sync` and `verify-replica` share (docs/BACKUP_FORMAT.md
 * §12): the classes of objects in the safe copy order, full listings of a
 * backend, the SHA-256 each content-named object must have, and the signed
 * replica manifest — every object's name, size and SHA-256, MAC'd with the
 * repository's "mac" key (repo_mac) and stored in the replica as
 * replica/<sha256>.
 *
 * It reads names, sizes and hashes only: no object is opened or decrypted,
 * so a replica is checked without trusting the store and without any key
 * but the MAC key. Copying and reporting are the commands' business.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cipher.h"
#include "replica.h"
#include "repo_json.h"
#include "repo_util.h"
#include "secmem.h"

#define MANIFEST_MAGIC "phifs-backup replica manifest v1\n"

const char *const replica_classes[REPLICA_NCLASSES] = {
	"config", "keys/", "data/", "index/", "snapshots/",
};

int replica_list_push(struct replica_list *l, const struct replica_obj *o)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		struct replica_obj *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *o;
	return 0;
}

static int add(struct replica_list *l, const char *name, uint64_t size)
{
	struct replica_obj o;

	if (strlen(name) >= sizeof(o.name))
		return -ENAMETOOLONG;
	memset(&o, 0, sizeof(o));
	snprintf(o.name, sizeof(o.name), "%s", name);
	o.size = size;
	(void)replica_name_hash(name, o.sha256);
	return replica_list_push(l, &o);
}

static int on_entry(void *arg, const char *name, uint64_t size)
{
	return add(arg, name, size);
}

static int cmp_obj(const void *a, const void *b)
{
	return strcmp(((const struct replica_obj *)a)->name, ((const struct replica_obj *)b)->name);
}

/* config: not content-named, so its hash is computed from its bytes. */
static int list_config(struct backend *be, struct replica_list *l)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret = backend_get(be, "config", &buf, &len);

	if (ret == -ENOENT)
		return 0;
	if (!ret)
		ret = add(l, "config", len);
	if (!ret)
		ret = cipher_sha256(buf, len, l->v[l->n - 1].sha256);
	free(buf);
	return ret;
}

int replica_list_class(struct backend *be, int cls, struct replica_list *l)
{
	size_t first = l->n;
	int ret;

	if (cls == 0)
		ret = list_config(be, l);
	else
		ret = backend_list(be, replica_classes[cls], on_entry, l);
	if (!ret && l->n > first)
		qsort(l->v + first, l->n - first, sizeof(*l->v), cmp_obj);
	return ret;
}

int replica_list_all(struct backend *be, struct replica_list *l)
{
	int ret = 0;

	for (int c = 0; !ret && c < REPLICA_NCLASSES; c++)
		ret = replica_list_class(be, c, l);
	if (!ret && l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_obj);
	return ret;
}

const struct replica_obj *replica_list_find(const struct replica_list *l, const char *name)
{
	struct replica_obj key;

	if (!l->n || strlen(name) >= sizeof(key.name))
		return NULL;
	snprintf(key.name, sizeof(key.name), "%s", name);
	return bsearch(&key, l->v, l->n, sizeof(*l->v), cmp_obj);
}

void replica_list_free(struct replica_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int replica_name_hash(const char *name, uint8_t out[32])
{
	const char *slash = strrchr(name, '/');

	if (!slash || strlen(slash + 1) != 64 || !strcmp(name, "config") ||
	    !strncmp(name, "locks/", 6))
		return -ENOENT;
	return repo_unhex(slash + 1, out, 32) ? -ENOENT : 0;
}

int replica_check_bytes(const char *name, const void *buf, size_t len)
{
	uint8_t want[32], got[32];
	int ret = replica_name_hash(name, want);

	if (ret == -ENOENT)
		return 0;
	ret = cipher_sha256(buf, len, got);
	if (ret)
		return ret;
	return memcmp(want, got, 32) ? -EBADMSG : 0;
}

/* Lines: "<name> <size> <sha256 hex>\n"; the header names the repository. */
int replica_manifest_encode(const struct repo *r, const struct replica_list *l, int64_t now,
			    char **out, size_t *len)
{
	uint8_t mac[REPO_MAC_LEN];
	char hex[REPO_HEX_ID], *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	int ret;

	*out = NULL;
	if (!f)
		return -ENOMEM;
	fprintf(f, MANIFEST_MAGIC "repository %s\ncreated %" PRId64 "\nobjects %zu\n",
		r->cfg.id_hex, now, l->n);
	for (size_t i = 0; i < l->n; i++) {
		repo_hex(l->v[i].sha256, 32, hex);
		fprintf(f, "%s %" PRIu64 " %s\n", l->v[i].name, l->v[i].size, hex);
	}
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	ret = repo_mac(r, buf, n, mac);
	if (ret) {
		free(buf);
		return ret;
	}
	repo_hex(mac, sizeof(mac), hex);
	f = open_memstream(out, len);
	if (!f) {
		free(buf);
		return -ENOMEM;
	}
	fprintf(f, "%smac %s\n", buf, hex);
	free(buf);
	return fclose(f) == 0 ? 0 : -ENOMEM;
}

static int parse_line(const char *s, const char *e, struct replica_list *l)
{
	char name[128], hex[65];
	uint64_t size;
	int used = 0;
	char line[256];

	if ((size_t)(e - s) >= sizeof(line))
		return -EBADMSG;
	memcpy(line, s, (size_t)(e - s));
	line[e - s] = '\0';
	if (sscanf(line, "%127s %" SCNu64 " %64s%n", name, &size, hex, &used) != 3 ||
	    (size_t)used != strlen(line) || strlen(hex) != 64)
		return -EBADMSG;
	if (add(l, name, size))
		return -ENOMEM;
	return repo_unhex(hex, l->v[l->n - 1].sha256, 32) ? -EBADMSG : 0;
}

int replica_manifest_parse(const struct repo *r, const char *buf, size_t len,
			   struct replica_list *l, int64_t *created)
{
	uint8_t want[REPO_MAC_LEN], got[REPO_MAC_LEN];
	const char *macl, *p, *end;
	size_t body, count = 0;
	long long c = 0;
	char id[2 * REPO_ID_BYTES + 1], machex[65];
	int ret, n = 0;

	/* the last line is "mac <64 hex>\n" over every byte before it */
	if (len < 69 || buf[len - 1] != '\n' || memcmp(buf + len - 69, "mac ", 4))
		return -EBADMSG;
	macl = buf + len - 69;
	body = (size_t)(macl - buf);
	memcpy(machex, macl + 4, 64);
	machex[64] = '\0';
	if (repo_unhex(machex, want, sizeof(want)) || repo_mac(r, buf, body, got))
		return -EBADMSG;
	ret = secmem_equal(want, got, sizeof(want)) ? 0 : -EBADMSG;
	if (ret)
		return ret;
	if (body < strlen(MANIFEST_MAGIC) || memcmp(buf, MANIFEST_MAGIC, strlen(MANIFEST_MAGIC)) ||
	    sscanf(buf + strlen(MANIFEST_MAGIC), "repository %32s\ncreated %lld\nobjects %zu\n%n",
		   id, &c, &count, &n) != 3 || strcmp(id, r->cfg.id_hex))
		return -EBADMSG;
	*created = c;
	end = macl;
	for (p = buf + strlen(MANIFEST_MAGIC) + n; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			return -EBADMSG;
		ret = parse_line(p, nl, l);
		if (ret)
			return ret;
		p = nl + 1;
	}
	if (l->n != count)
		return -EBADMSG;
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_obj);
	return 0;
}

int replica_manifest_store(struct backend *be, const char *buf, size_t len)
{
	struct replica_list old = { 0 };
	uint8_t id[32];
	char name[128];
	int ret = repo_obj_id(buf, len, id);

	if (ret)
		return ret;
	repo_obj_name("replica", id, name, sizeof(name));
	ret = backend_put(be, name, buf, len);
	if (!ret)
		ret = backend_list(be, REPLICA_PREFIX, on_entry, &old);
	/* older manifests are superseded: best effort, a leftover is harmless */
	for (size_t i = 0; !ret && i < old.n; i++)
		if (strcmp(old.v[i].name, name))
			(void)backend_del(be, old.v[i].name);
	replica_list_free(&old);
	return ret;
}

int replica_manifest_load(const struct repo *r, struct backend *be, struct replica_list *l,
			  int64_t *created)
{
	struct replica_list found = { 0 };
	int64_t best = -1;
	int ret = backend_list(be, REPLICA_PREFIX, on_entry, &found);

	for (size_t i = 0; !ret && i < found.n; i++) {
		struct replica_list cand = { 0 };
		uint8_t *buf = NULL;
		size_t len = 0;
		int64_t t = 0;

		if (backend_get(be, found.v[i].name, &buf, &len) == 0 &&
		    replica_check_bytes(found.v[i].name, buf, len) == 0 &&
		    replica_manifest_parse(r, (const char *)buf, len, &cand, &t) == 0 && t > best) {
			replica_list_free(l);
			*l = cand;
			cand.v = NULL;
			best = t;
			*created = t;
		}
		replica_list_free(&cand);
		free(buf);
	}
	replica_list_free(&found);
	if (!ret && best < 0)
		ret = -ENOENT;
	return ret;
}

void replica_json_line(struct json_object *o)
{
	size_t len;
	const char *text = repo_json_text(o, &len);

	fwrite(text, 1, len, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	json_object_put(o);
}
