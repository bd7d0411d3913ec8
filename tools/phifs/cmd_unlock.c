/*
 * cmd_unlock.c: `phifs unlock [--timeout 15m] CIPHERDIR` — one KMS (or
 * passphrase) round trip, then the volume keys wait in the kernel keyring
 * (fs/keyring.c: the uid's user keyring) until the timeout, so cron jobs and
 * remounts in that window need neither the KMS nor the operator. Also lifts a
 * `phifs lock`: a mounted daemon of the volume serves again within a second.
 * `--break-glass REASON` starts an emergency session: the access policy's
 * break-glass group is then served and every record of theirs carries the
 * reason (docs/OPERATIONS.md "Access policy").
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "audit.h"
#include "hook.h"
#include "keyring.h"
#include "volume.h"

#define UNLOCK_DEFAULT_S (15 * 60)
#define UNLOCK_MAX_S (7 * 86400)

/* The KMS, never a previous session: unlocking is proving the right to the keys. */
static int unlock_open(const char *dir, const char *kms, const struct kms_opts *ko,
		       struct volume **v)
{
	struct format_config *cfg = calloc(1, sizeof(*cfg));
	char err[1024] = "";
	int ret;

	if (!cfg)
		return -ENOMEM;
	if (tool_config_read(dir, cfg) != EXIT_OK) {
		free(cfg);
		return -EBADMSG;     /* already said why; exit 4 */
	}
	ret = volume_open(dir, kms ? kms : cfg->kms_uri, ko, v, err, sizeof(err));
	free(cfg);
	if (ret)
		warnx_phifs("cannot unlock %s: %s", dir, err[0] ? err : strerror(-ret));
	return ret;
}

static int unlock_store(struct volume *v, unsigned timeout, unsigned *n)
{
	const struct format_config *c = v->cfg;
	int ret = 0;

	*n = 0;
	for (unsigned i = 0; i < c->n_slots && !ret; i++) {
		if (c->slots[i].state == FORMAT_SLOT_RETIRED)
			continue;
		ret = keyring_store(c->volume_id, c->slots[i].version,
				    keys_volume_vk(v->keys, c->slots[i].version), timeout);
		*n += !ret;
	}
	if (!ret)
		ret = keyring_set_locked(c->volume_id, 0);
	return ret;
}

/* One printable line: the reason goes into audit records and syslog. */
static int reason_ok(const char *r)
{
	size_t n = strlen(r);

	if (n == 0 || n > KEYRING_REASON_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)r[i] < 0x20 || r[i] == 0x7f)
			return 0;
	return 1;
}

static struct json_object *break_glass_fields(const char *reason)
{
	struct json_object *x = json_object_new_object();

	if (x) {
		json_object_object_add(x, "flag", json_object_new_string("break-glass"));
		json_object_object_add(x, "reason", json_object_new_string(reason));
	}
	return x;
}

int cmd_unlock(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "kms", required_argument, NULL, 'k' },
		{ "passfile", required_argument, NULL, 'P' },
		{ "extpass", required_argument, NULL, 'E' },
		{ "audit", required_argument, NULL, 'A' },
		{ "break-glass", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	struct kms_opts ko = { 0 };
	const char *kms = NULL;
	struct volume *v = NULL;
	int64_t timeout = UNLOCK_DEFAULT_S;
	char id[2 * FORMAT_ID_LEN + 1];
	struct audit_tool *at;
	const char *audit = NULL, *reason = "";
	unsigned n = 0;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (kms_opt(opt, optarg, &ko))
			continue;
		switch (opt) {
		case 't':
			if (parse_duration(optarg, &timeout) || timeout > UNLOCK_MAX_S)
				die(EXIT_USAGE, "--timeout wants a duration up to 7d, e.g. 15m");
			break;
		case 'k': kms = optarg; break;
		case 'A': audit = optarg; break;
		case 'B':
			reason = optarg;
			if (!reason_ok(reason))
				die(EXIT_USAGE, "--break-glass wants a reason: 1 to %d printable "
				    "characters on one line (no patient data)", KEYRING_REASON_MAX);
			break;
		case 'h':
			printf("usage: phifs unlock [--timeout DUR] [--kms URI] "
			       "[--passfile F | --extpass CMD] [--audit DIR|off] "
			       "[--break-glass REASON] CIPHERDIR\n");
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		die(EXIT_USAGE, "usage: phifs unlock [options] CIPHERDIR");
	at = tool_audit_open(audit, argv[optind], 1);
	ret = unlock_open(argv[optind], kms, &ko, &v);
	if (ret) {
		audit_tool_event(at, "unlock", NULL, ret);
		audit_tool_close(at);
		return exit_code_for(ret);
	}
	ret = unlock_store(v, (unsigned)timeout, &n);
	/* A plain unlock ends an earlier break-glass session's flagging. */
	if (!ret)
		ret = keyring_set_break_glass(v->cfg->volume_id, reason, (unsigned)timeout);
	hex_id(v->cfg->volume_id, FORMAT_ID_LEN, id, sizeof(id));
	hook_key_op("unlock", id, NULL, ret);
	if (reason[0])
		audit_tool_event(at, "unlock", break_glass_fields(reason), ret);
	audit_tool_close(at);
	volume_close(v);
	if (ret)
		die(EXIT_PROBLEMS, "cannot store the keys in the kernel keyring: %s", strerror(-ret));
	printf("unlocked volume %s: %u key(s) in the user keyring of uid %u for %llds\n", id, n,
	       (unsigned)getuid(), (long long)timeout);
	return EXIT_OK;
}
