/*
 * cmd_rotate_kms.c: `phifs-keys rotate-kms [--to URI] [--retire-old] CIPHERDIR`
 * — the yearly KEK rotation. Unwraps the volume keys with the current KMS and
 * wraps them again under a new KEK: a new key (or version) in the same KMS, or
 * another provider given by --to (e.g. from a passphrase to an HSM). Only the
 * config changes, in one atomic rename; no file is touched, so it takes the
 * same time for ten files as for ten million, and a mounted volume keeps
 * working (per-file KMS mode differs: every header is re-wrapped, offline —
 * rotate_files.c). --retire-old then revokes the old KEK in the KMS — only after the
 * new config is durable, because a revoked KMIP key no longer decrypts.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "../phifs/common.h"
#include "audit.h"
#include "hook.h"
#include "keyscmd.h"
#include "kms.h"
#include "rotate_files.h"
#include "volume.h"

struct rotate {
	const char *dir, *to, *kms_override;
	struct kms_opts ko, to_ko;
	int retire_old, json;
	char old_ids[FORMAT_MAX_SLOTS][KMS_KEY_ID_MAX + 1];
	unsigned n_old;
	char new_id[KMS_KEY_ID_MAX + 1];
	char old_uri[FORMAT_MAX_URI + 1];
};

/* The distinct KEK ids of the slots still in use, before the rotation. */
static void collect_old(struct rotate *r, const struct format_config *c)
{
	for (unsigned i = 0; i < c->n_slots; i++) {
		unsigned j;

		if (c->slots[i].state == FORMAT_SLOT_RETIRED)
			continue;
		for (j = 0; j < r->n_old && strcmp(r->old_ids[j], c->slots[i].kek_id); j++)
			;
		if (j == r->n_old)
			snprintf(r->old_ids[r->n_old++], KMS_KEY_ID_MAX + 1, "%s",
				 c->slots[i].kek_id);
	}
}

/* The KMS handle holding the new KEK: --to, or a new key in the current KMS.
 * resume: a per-file rotation was interrupted — its new KEK is already the
 * KMS's current one, so none is created. */
static int open_target(struct rotate *r, const char *cur_uri, int resume, struct kms **out)
{
	int ret;

	if (r->to) {
		r->to_ko.create = 1;       /* local: make the new key file */
		r->to_ko.confirm = 1;      /* passphrase from a terminal: ask twice */
		ret = kms_open(r->to, &r->to_ko, out);
		if (ret)
			warnx_phifs("cannot open the new KMS %s: %s", r->to, strerror(-ret));
		return ret;
	}
	ret = kms_open(cur_uri, &r->ko, out);
	if (ret) {
		warnx_phifs("cannot open KMS %s: %s", cur_uri, strerror(-ret));
		return ret;
	}
	if (resume)
		return 0;
	ret = kms_create_key(*out, r->new_id, sizeof(r->new_id));
	if (ret == -EOPNOTSUPP)
		warnx_phifs("the %s provider has no key versions: name the new KEK with --to "
			    "(e.g. --to local:/etc/phifs/kek-2027.bin)", kms_provider_name(*out));
	else if (ret)
		warnx_phifs("KMS %s could not create a new key: %s", cur_uri, strerror(-ret));
	if (ret) {
		kms_close(*out);
		*out = NULL;
	}
	return ret;
}

/* Revokes the old KEKs through the provider that knows them. */
static int retire_old(struct rotate *r, struct kms *oldk, json_object *retired)
{
	int ret = 0;

	for (unsigned i = 0; i < r->n_old; i++) {
		int rr;

		if (!strcmp(r->old_ids[i], r->new_id))
			continue;
		rr = kms_retire_key(oldk, r->old_ids[i]);
		if (rr != -EOPNOTSUPP)
			hook_key_op("retire-kek", r->old_ids[i], NULL, rr);
		if (rr == -EOPNOTSUPP) {
			warnx_phifs("%s cannot be revoked by phifs (%s provider): keep it while "
				    "backups older than now exist, then destroy it yourself",
				    r->old_ids[i], kms_provider_name(oldk));
			continue;
		}
		if (rr) {
			warnx_phifs("revoking %s failed: %s", r->old_ids[i], strerror(-rr));
			ret = rr;
			continue;
		}
		if (retired)
			json_object_array_add(retired, json_object_new_string(r->old_ids[i]));
		else
			printf("revoked old KEK %s\n", r->old_ids[i]);
	}
	return ret;
}

static void report(struct rotate *r, json_object *retired)
{
	json_object *o, *a;

	if (!r->json) {
		for (unsigned i = 0; i < r->n_old; i++)
			printf("volume keys re-wrapped: %s -> %s\n", r->old_ids[i], r->new_id);
		return;
	}
	o = json_object_new_object();
	a = json_object_new_array();
	for (unsigned i = 0; i < r->n_old; i++)
		json_object_array_add(a, json_object_new_string(r->old_ids[i]));
	json_object_object_add(o, "old_kek_ids", a);
	json_object_object_add(o, "new_kek_id", json_object_new_string(r->new_id));
	if (r->to)
		json_object_object_add(o, "kms_uri", json_object_new_string(r->to));
	json_object_object_add(o, "retired", retired ? json_object_get(retired)
						       : json_object_new_array());
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static int rotate_run(struct rotate *r)
{
	struct volume *v = NULL;
	struct kms *newk = NULL, *oldk = NULL;
	json_object *retired = r->json ? json_object_new_array() : NULL;
	char err[1024] = "";
	int ret, code = EXIT_PROBLEMS;

	ret = volume_open(r->dir, r->kms_override, &r->ko, &v, err, sizeof(err));
	if (ret) {
		warnx_phifs("cannot open volume: %s", err[0] ? err : strerror(-ret));
		code = exit_code_for(ret);
		goto out;
	}
	collect_old(r, v->cfg);
	snprintf(r->old_uri, sizeof(r->old_uri), "%s",
		 r->kms_override ? r->kms_override : v->cfg->kms_uri);
	ret = open_target(r, r->old_uri, v->cfg->wrap_mode == FORMAT_WRAP_KMS &&
			  v->cfg->n_keks > 1, &newk);
	if (ret) {
		code = exit_code_for(ret);
		goto out;
	}
	snprintf(r->new_id, sizeof(r->new_id), "%s", kms_key_id(newk) ? kms_key_id(newk) : "");
	if (v->cfg->wrap_mode == FORMAT_WRAP_KMS) {
		struct rotate_files rf = { .v = v, .dir = r->dir };

		ret = rotate_files_run(&rf, newk, r->new_id);
		if (!r->json)
			printf("file headers re-wrapped under %s: %llu (%llu already)%s\n", r->new_id,
			       rf.rewrapped, rf.already, rf.resumed ? ", resumed" : "");
		if (ret) {
			hook_key_op("rotate-kms", r->old_ids[0], r->new_id, ret);
			code = exit_code_for(ret);
			goto out;
		}
	}
	ret = volume_rewrap(v, newk, r->to, err, sizeof(err));
	hook_key_op("rotate-kms", r->old_ids[0], r->new_id, ret);
	if (ret) {
		warnx_phifs("rotation failed, the volume is unchanged: %s", err);
		goto out;
	}
	code = EXIT_OK;
	if (r->retire_old) {
		/* The provider that wrapped the old slots: the same handle unless --to
		 * moved the volume (a passphrase has nothing to revoke: not reopened). */
		if (r->to && strncmp(r->old_uri, "passphrase", 10) != 0 &&
		    kms_open(r->old_uri, &r->ko, &oldk) != 0)
			oldk = NULL;
		if (r->to && !oldk)
			warnx_phifs("the old KEK of %s was not revoked: its provider is not "
				    "reachable or has nothing to revoke", r->old_uri);
		else if (retire_old(r, oldk ? oldk : newk, retired))
			code = EXIT_PROBLEMS;
	}
	report(r, retired);
out:
	json_object_put(retired);
	kms_close(oldk);
	kms_close(newk);
	volume_close(v);
	return code;
}

int keys_cmd_rotate_kms(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "retire-old", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "kms", required_argument, NULL, 'k' },
		{ "passfile", required_argument, NULL, 'P' },
		{ "extpass", required_argument, NULL, 'E' },
		{ "to-passfile", required_argument, NULL, 'Q' },
		{ "to-extpass", required_argument, NULL, 'F' },
		{ "audit", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	static struct rotate r;
	struct audit_tool *at;
	const char *audit = NULL;
	int opt, code;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (kms_opt(opt, optarg, &r.ko))
			continue;
		switch (opt) {
		case 't': r.to = optarg; break;
		case 'r': r.retire_old = 1; break;
		case 'j': r.json = 1; break;
		case 'k': r.kms_override = optarg; break;
		case 'Q': r.to_ko.passfile = optarg; break;
		case 'F': r.to_ko.extpass = optarg; break;
		case 'A': audit = optarg; break;
		case 'h':
			printf("usage: phifs-keys rotate-kms [--to NEW-URI] [--retire-old] [--json] "
			       "[--kms URI] [--passfile F | --extpass CMD] "
			       "[--to-passfile F | --to-extpass CMD] [--audit DIR|off] CIPHERDIR\n");
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		die(EXIT_USAGE, "usage: phifs-keys rotate-kms [options] CIPHERDIR");
	r.dir = argv[optind];
	at = tool_audit_open(audit, r.dir, 1);
	code = rotate_run(&r);
	audit_tool_close(at);
	return code;
}
