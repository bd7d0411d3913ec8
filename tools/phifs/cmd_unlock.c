/*
 * cmd_unlock.c: `phifs unlock [--timeout 15m] CIPHERDIR` — one KMS (or
 * passphrase) round trip, then the volume keys wait in the kernel keyring
 * (fs/keyring.c: the uid's user keyring) until the timeout, so cron jobs and
 * remounts in that window need neither the KMS nor the operator. Also lifts a
 * `phifs lock`: a mounted daemon of the volume serves again within a second.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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

int cmd_unlock(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "kms", required_argument, NULL, 'k' },
		{ "passfile", required_argument, NULL, 'P' },
		{ "extpass", required_argument, NULL, 'E' },
		{ "audit", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	struct kms_opts ko = { 0 };
	const char *kms = NULL;
	struct volume *v = NULL;
	int64_t timeout = UNLOCK_DEFAULT_S;
	char id[2 * FORMAT_ID_LEN + 1];
	struct audit_tool *at;
	const char *audit = NULL;
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
		case 'h':
			printf("usage: phifs unlock [--timeout DUR] [--kms URI] "
			       "[--passfile F | --extpass CMD] [--audit DIR|off] CIPHERDIR\n");
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
	hex_id(v->cfg->volume_id, FORMAT_ID_LEN, id, sizeof(id));
	hook_key_op("unlock", id, NULL, ret);
	audit_tool_close(at);
	volume_close(v);
	if (ret)
		die(EXIT_PROBLEMS, "cannot store the keys in the kernel keyring: %s", strerror(-ret));
	printf("unlocked volume %s: %u key(s) in the user keyring of uid %u for %llds\n", id, n,
	       (unsigned)getuid(), (long long)timeout);
	return EXIT_OK;
}
