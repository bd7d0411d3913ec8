/*
 * cmd_enable_shred.c: `phifs-keys enable-shred CIPHERDIR` — gives a volume its
 * key table (docs/FORMAT.md §12, docs/OPERATIONS.md "Crypto-shredding";
 * fs/keytab_enable.c does it). Files created (or rekeyed) from the next
 * mount on get a slot; older files get one when `phifs-keys rekey` or
 * `shred` rekeys them.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../phifs/common.h"
#include "audit.h"
#include "keytab.h"
#include "keyscmd.h"
#include "volume.h"

static int enable(const char *dir, const char *kms_override, const struct kms_opts *ko)
{
	struct volume *v = NULL;
	char err[512] = "";
	int ret;

	ret = volume_open(dir, kms_override, ko, &v, err, sizeof(err));
	if (ret) {
		warnx_phifs("%s", err);
		return exit_code_for(ret);
	}
	ret = keytab_enable(v, kms_override, err, sizeof(err));
	volume_close(v);
	if (ret == -EALREADY) {
		printf("enable-shred: already enabled\n");
		return EXIT_OK;
	}
	if (ret == -EOPNOTSUPP) {
		warnx_phifs("crypto-shredding needs a KMS that can destroy keys (local key file, "
			    "KMIP or PKCS#11): a passphrase volume has none");
		return EXIT_PROBLEMS;
	}
	if (ret) {
		warnx_phifs("enable-shred failed: %s", *err ? err : strerror(-ret));
		return EXIT_PROBLEMS;
	}
	printf("enable-shred: key table created; files created from the next mount on can be "
	       "shredded (rekey older ones)\n");
	return EXIT_OK;
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
