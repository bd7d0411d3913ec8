/*
 * cmd_enable_shred.c: `phifs-keys enable-shred CIPHERDIR` — gives a volume its
 * key table (docs/FORMAT.md §12, docs/OPERATIONS.md "Crypto-shredding"):
 * writes phifs.keytab at epoch 1 with its own KEK beside the volume's local
 * key file, then sets the KEYTAB incompat flag in the config (MAC'd under the
 * primary VK), in that order so that a crash between leaves an unused table.
 * Files created (or rekeyed) from the next mount on get a slot; older files
 * get one when `phifs-keys rekey` or `shred` rekeys them.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../phifs/common.h"
#include "audit.h"
#include "format.h"
#include "hook.h"
#include "keytab.h"
#include "keyscmd.h"
#include "volume.h"

static int enable(const char *dir, const char *kms_override, const struct kms_opts *ko)
{
	struct volume *v = NULL;
	const char *uri;
	char err[512] = "", kek[4200];
	int dfd, ret, code = EXIT_PROBLEMS;

	ret = volume_open(dir, kms_override, ko, &v, err, sizeof(err));
	if (ret) {
		warnx_phifs("%s", err);
		return exit_code_for(ret);
	}
	uri = kms_override ? kms_override : v->cfg->kms_uri;
	if (keytab_kek_uri(uri, 1, kek, sizeof(kek)) != 0) {
		warnx_phifs("crypto-shredding needs a KMS that can destroy keys (local key file, "
			    "KMIP or PKCS#11): a passphrase volume has none");
		goto out;
	}
	if (v->cfg->incompat_flags & FORMAT_INCOMPAT_KEYTAB) {
		printf("enable-shred: already enabled\n");
		code = EXIT_OK;
		goto out;
	}
	ret = keytab_create(v->rootfd, uri, v->cfg->volume_id, err, sizeof(err));
	if (ret && ret != -EEXIST) {
		warnx_phifs("cannot create the key table: %s", *err ? err : strerror(-ret));
		goto out;
	}
	v->cfg->incompat_flags |= FORMAT_INCOMPAT_KEYTAB;
	dfd = openat(v->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);   /* fsync needs one */
	ret = dfd < 0 ? -errno : volume_config_write(dfd, v->cfg, v->keys);
	if (dfd >= 0)
		close(dfd);
	hook_key_op("enable-shred", NULL, ret ? NULL : "keytab:1", ret);
	if (ret) {
		warnx_phifs("cannot write the config: %s", strerror(-ret));
		goto out;
	}
	printf("enable-shred: key table created; files created from the next mount on can be "
	       "shredded (rekey older ones)\n");
	code = EXIT_OK;
out:
	volume_close(v);
	return code;
}

int keys_cmd_enable_shred(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kms", required_argument, NULL, 'k' },
		{ "passfile", required_argument, NULL, 'P' },
		{ "extpass", required_argument, NULL, 'E' },
		{ "audit", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	struct kms_opts ko = { 0 };
	const char *audit = NULL, *kms_override = NULL;
	struct audit_tool *at;
	int opt, code;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (kms_opt(opt, optarg, &ko))
			continue;
		switch (opt) {
		case 'k': kms_override = optarg; break;
		case 'A': audit = optarg; break;
		case 'h':
			printf("usage: phifs-keys enable-shred [--kms URI] [--audit DIR|off] CIPHERDIR\n");
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		die(EXIT_USAGE, "usage: phifs-keys enable-shred [options] CIPHERDIR");
	at = tool_audit_open(audit, argv[optind], 1);
	code = enable(argv[optind], kms_override, &ko);
	audit_tool_close(at);
	return code;
}
