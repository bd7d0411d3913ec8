/*
 * cmd_rotate_vk.c: `phifs-keys rotate-volume-key [--json] CIPHERDIR` — a new
 * volume key, and every file header re-wrapped under it, online.
 *
 * 1. A new VK version is added to the config as primary (the old one becomes
 *    "retiring": unwrap only) in one atomic write. A run that finds a
 *    retiring slot resumes instead: kill -9 at any point, then run again.
 * 2. If a daemon has the volume mounted (it holds the volume lock), the new
 *    VK goes to the kernel keyring and we wait until the daemon reports that
 *    it adopted it (fs/session.c); from then on it creates files under it and
 *    moves every header it writes to it.
 * 3. Every header still on an older version is re-wrapped (fs/rewrap.c: one
 *    176-byte pwrite under the header lock; contents untouched).
 *    The access policy (phifs.policy) is re-signed under the new key.
 * 4. A retiring version no header uses any more is retired — unless file
 *    names are encrypted under it (names_version), which keeps it retiring.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "../phifs/common.h"
#include "audit.h"
#include "hook.h"
#include "journal.h"
#include "keyring.h"
#include "keyscmd.h"
#include "names.h"
#include "policy_store.h"
#include "redo.h"
#include "rewrap.h"
#include "secmem.h"
#include "volume.h"

#define ADOPT_WAIT_S 15
#define SESSIONLESS_TTL_S 120

struct rvk {
	const char *dir, *kms_override;
	struct kms_opts ko;
	int json, tty;
	struct volume *v;
	uint32_t version;
	uint64_t total, done, rewrapped, already, failed;
	double t0, last_report;
};

static struct rvk *g;   /* nftw has no user pointer */

/* Regular backing files that hold file contents (not config, journal, side files). */
static int is_content(const char *path, const struct stat *sb, int type, const struct FTW *ftw,
		      int *skip)
{
	const char *base = path + ftw->base;

	*skip = 0;
	if (ftw->level > 0 && names_is_reserved(base) && !names_is_long(base)) {
		*skip = type == FTW_D;
		return 0;
	}
	return type == FTW_F && S_ISREG(sb->st_mode);
}

static int count_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	int skip;

	if (is_content(path, sb, type, ftw, &skip))
		g->total++;
	return skip ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
}

static void progress(struct rvk *r, int final)
{
	double now = tool_now(), el = now - r->t0;

	if (!tool_report_due(&r->last_report, now, r->json, final))
		return;
	if (r->json && !final) {
		printf("{\"type\":\"progress\",\"done\":%llu,\"total\":%llu,\"rewrapped\":%llu}\n",
		       (unsigned long long)r->done, (unsigned long long)r->total,
		       (unsigned long long)r->rewrapped);
		fflush(stdout);
	} else if (r->tty) {
		fprintf(stderr, "\rre-wrapping headers: %llu/%llu files, %.0f files/s%s",
			(unsigned long long)r->done, (unsigned long long)r->total,
			el > 0 ? (double)r->done / el : 0.0, final ? "\n" : "");
	}
}

static int rewrap_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	enum rewrap_result res;
	int skip, ret;

	if (!is_content(path, sb, type, ftw, &skip))
		return skip ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
	ret = rewrap_file(path, g->v->keys, g->version, &res);
	g->done++;
	if (ret) {
		g->failed++;
		warnx_phifs("cannot re-wrap %s: %s", path + strlen(g->dir), strerror(-ret));
	} else if (res == REWRAP_DONE) {
		g->rewrapped++;
	} else {
		g->already++;
	}
	progress(g, 0);
	return FTW_CONTINUE;
}

/* Step 1: a new primary, or the one a killed run left. */
static int new_or_resume(struct rvk *r, uint8_t *vk, int *resumed)
{
	const struct format_config *c = r->v->cfg;
	char from[16], to[16];
	int ret;

	/* A retiring slot exists only between steps 1 and 4. */
	*resumed = 0;
	for (unsigned i = 0; i < c->n_slots; i++)
		*resumed |= c->slots[i].state == FORMAT_SLOT_RETIRING;
	if (*resumed) {
		r->version = c->primary_version;
		memcpy(vk, keys_volume_vk(r->v->keys, r->version), KEYS_VK_LEN);
		return 0;
	}
	if (!r->v->kms) {
		/* Keys came from an unlock session: wrapping a new one needs the KMS. */
		ret = kms_open(r->kms_override ? r->kms_override : c->kms_uri, &r->ko, &r->v->kms);
		if (ret) {
			warnx_phifs("cannot open the KMS to wrap the new key: %s", strerror(-ret));
			return ret;
		}
	}
	snprintf(from, sizeof(from), "v%u", c->primary_version);
	ret = volume_add_key(r->v, r->v->kms, vk, &r->version);
	snprintf(to, sizeof(to), "v%u", r->version);
	hook_key_op("rotate-volume-key", from, ret ? NULL : to, ret);
	if (ret)
		warnx_phifs("cannot add a new volume key: %s", strerror(-ret));
	return ret;
}

/* Step 2: a mounted daemon must serve with the new key before headers move. */
static int daemon_adopt(struct rvk *r, const uint8_t *vk)
{
	const uint8_t *vid = r->v->cfg->volume_id;
	uint32_t seen = 0;
	long left = SESSIONLESS_TTL_S;
	int ret, session = 0;

	ret = journal_open(r->v->rootfd, 0, 0);
	if (!ret) {
		/* Not mounted, and we now hold the volume lock. A rekey a crash
		 * interrupted keeps its copy in phifs.journal/, which the walk
		 * skips: finish it first, or retiring a key could orphan it. */
		ret = redo_replay_all(r->v->keys);
		return ret < 0 ? ret : 0;
	}
	if (ret != -EBUSY)
		return ret;
	for (unsigned i = 0; i < r->v->cfg->n_slots; i++)
		if (r->v->cfg->slots[i].version != r->version &&
		    keyring_time_left(vid, r->v->cfg->slots[i].version, &left) == 0 && left > 0)
			session = 1;
	ret = keyring_store(vid, r->version, vk, session ? (unsigned)left : SESSIONLESS_TTL_S);
	if (ret)
		return ret;
	for (int i = 0; i < ADOPT_WAIT_S * 10; i++) {
		if (keyring_adopted(vid, &seen) == 0 && seen == r->version)
			break;
		usleep(100000);
	}
	if (!session)
		(void)keyring_forget(vid, r->version);   /* the daemon holds it now */
	if (seen != r->version) {
		warnx_phifs("the mounted daemon did not take the new key within %d s (an older "
			    "phifs?): unmount, then run rotate-volume-key again to resume",
			    ADOPT_WAIT_S);
		return -ETIMEDOUT;
	}
	return 0;
}

/* Step 3: the access policy's MAC moves to the new primary, or a mount would
 * refuse a policy signed by a retired key. Only a policy that verifies is
 * re-signed (a modified one stays refused); a failure keeps the old key. */
static void resign_policy(struct rvk *r)
{
	int dfd = openat(r->v->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *text = NULL;
	size_t len = 0;
	int ret = dfd < 0 ? -errno : policy_store_read(dfd, r->v->keys, &text, &len);

	if (!ret)
		ret = policy_store_write(dfd, text, len, r->v->keys);
	if (ret && ret != -ENOENT) {
		warnx_phifs("cannot re-sign the access policy under v%u: %s; the old volume key "
			    "is kept (fix the policy with `phifs policy set`, then run again)",
			    r->version, strerror(-ret));
		r->failed++;
	}
	free(text);
	if (dfd >= 0)
		close(dfd);
}

/* Step 4: no header uses a retiring version any more. It is retired — or,
 * when file names are encrypted under it, back to active (not primary). */
static void retire_unused(struct rvk *r, json_object *retired)
{
	const struct format_config *c = r->v->cfg;
	uint32_t vers[FORMAT_MAX_SLOTS];
	unsigned n = 0;

	if (r->failed)
		return;      /* some header may still use an old version: rerun */
	for (unsigned i = 0; i < c->n_slots; i++)
		if (c->slots[i].state == FORMAT_SLOT_RETIRING)
			vers[n++] = c->slots[i].version;
	for (unsigned i = 0; i < n; i++) {
		int names = vers[i] == r->v->cfg->names_version;
		char from[16];
		int ret = volume_set_slot_state(r->v, vers[i],
						names ? FORMAT_SLOT_ACTIVE : FORMAT_SLOT_RETIRED);

		snprintf(from, sizeof(from), "v%u", vers[i]);
		if (!names)
			hook_key_op("retire-volume-key", from, NULL, ret);
		if (ret)
			warnx_phifs("cannot update %s: %s", from, strerror(-ret));
		else if (names && !r->json)
			printf("volume key %s wraps no file any more; it stays for file names\n",
			       from);
		else if (!names && retired)
			json_object_array_add(retired, json_object_new_int64(vers[i]));
		else if (!names)
			printf("retired volume key %s (no header uses it)\n", from);
	}
}

static void summary(struct rvk *r, int resumed, json_object *retired)
{
	double el = tool_now() - r->t0;
	json_object *o;

	progress(r, 1);
	if (!r->json) {
		printf("volume key v%u%s: %llu files, %llu re-wrapped, %llu already on it, "
		       "%llu failed, %.1f s (%.0f files/s)\n", r->version,
		       resumed ? " (resumed)" : "", (unsigned long long)r->done,
		       (unsigned long long)r->rewrapped, (unsigned long long)r->already,
		       (unsigned long long)r->failed, el, el > 0 ? (double)r->done / el : 0.0);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("summary"));
	json_object_object_add(o, "version", json_object_new_int64(r->version));
	json_object_object_add(o, "resumed", json_object_new_boolean(resumed));
	json_object_object_add(o, "files", json_object_new_int64((int64_t)r->done));
	json_object_object_add(o, "rewrapped", json_object_new_int64((int64_t)r->rewrapped));
	json_object_object_add(o, "already", json_object_new_int64((int64_t)r->already));
	json_object_object_add(o, "failed", json_object_new_int64((int64_t)r->failed));
	json_object_object_add(o, "seconds", json_object_new_double(el));
	json_object_object_add(o, "retired", json_object_get(retired));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static int rvk_run(struct rvk *r)
{
	uint8_t *vk = secmem_alloc(KEYS_VK_LEN);
	json_object *retired = json_object_new_array();
	char err[1024] = "";
	int ret, resumed = 0, code = EXIT_PROBLEMS;

	ret = vk ? volume_open_kms(r->dir, r->kms_override, &r->ko, 1, &r->v, err, sizeof(err))
		 : -ENOMEM;
	if (ret) {
		warnx_phifs("cannot open volume: %s", err[0] ? err : strerror(-ret));
		code = exit_code_for(ret);
		goto out;
	}
	ret = new_or_resume(r, vk, &resumed);
	if (!ret)
		ret = daemon_adopt(r, vk);
	if (ret) {
		code = exit_code_for(ret);
		goto out;
	}
	g = r;
	r->t0 = tool_now();
	if (nftw(r->dir, count_one, 64, FTW_PHYS | FTW_ACTIONRETVAL) != 0 ||
	    nftw(r->dir, rewrap_one, 64, FTW_PHYS | FTW_ACTIONRETVAL) != 0) {
		warnx_phifs("cannot walk %s: %s", r->dir, strerror(errno));
		goto out;
	}
	resign_policy(r);
	retire_unused(r, r->json ? retired : NULL);
	summary(r, resumed, retired);
	code = r->failed ? EXIT_PROBLEMS : EXIT_OK;
out:
	json_object_put(retired);
	journal_close();
	secmem_free(vk);
	volume_close(r->v);
	return code;
}

int keys_cmd_rotate_vk(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "kms", required_argument, NULL, 'k' },
		{ "passfile", required_argument, NULL, 'P' },
		{ "extpass", required_argument, NULL, 'E' },
		{ "audit", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	static struct rvk r;
	struct audit_tool *at;
	const char *audit = NULL;
	int opt, code;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (kms_opt(opt, optarg, &r.ko))
			continue;
		switch (opt) {
		case 'j': r.json = 1; break;
		case 'k': r.kms_override = optarg; break;
		case 'A': audit = optarg; break;
		case 'h':
			printf("usage: phifs-keys rotate-volume-key [--json] [--kms URI] "
			       "[--passfile F | --extpass CMD] [--audit DIR|off] CIPHERDIR\n");
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		die(EXIT_USAGE, "usage: phifs-keys rotate-volume-key [options] CIPHERDIR");
	r.dir = argv[optind];
	r.tty = isatty(2) && !r.json;
	at = tool_audit_open(audit, r.dir, 1);
	code = rvk_run(&r);
	audit_tool_close(at);
	return code;
}
