/*
 * cmd_init.c: `phifs init` — create a volume (docs/FORMAT.md §3) in an empty
 * or new cipher directory, wrapping its first volume key with the chosen KMS
 * provider. The default provider is a local key file, created if absent.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "format.h"
#include "keytab.h"
#include "volume.h"

#define DEFAULT_KMS "local:/etc/phifs/kek.bin"

static void usage(void)
{
	printf("usage: phifs init [--kms URI] [--cipher gcm|xts] [--wrap volume|per-file-kms]\n"
	       "                  [--shred] [--passfile FILE | --extpass CMD] CIPHERDIR\n"
	       "  --kms URI       key provider: local:/path/keyfile (default %s,\n"
	       "                  created mode 0600 if absent), passphrase, or\n"
	       "                  pkcs11:token=T;object=L?module-path=M&pin-source=file:P\n"
	       "  --cipher C      gcm (default: AES-256-GCM, authenticated) or\n"
	       "                  xts (AES-256-XTS, length-preserving, confidentiality only)\n"
	       "  --wrap W        volume (default: file keys wrapped by the volume key) or\n"
	       "                  per-file-kms (each file's key wrapped by the KMS itself, so\n"
	       "                  the KMS's log shows every file's key use; not with passphrase)\n"
	       "  --passfile F    passphrase provider: read the passphrase from F\n"
	       "  --extpass CMD   passphrase provider: run CMD and read its output\n"
	       "  --shred         give the volume its key table now, so that every file can\n"
	       "                  be crypto-shredded (phifs-keys shred; not with passphrase)\n",
	       DEFAULT_KMS);
}

/* --shred: the key table right away (fs/keytab_enable.c), before any file. */
static int init_shred(const char *dir, const struct volume_create_opts *o)
{
	struct volume *v = NULL;
	char err[512] = "";
	int ret = volume_open(dir, NULL, &o->kms, &v, err, sizeof(err));

	if (!ret)
		ret = keytab_enable(v, NULL, err, sizeof(err));
	volume_close(v);
	if (ret) {
		warnx_phifs("the volume was created, but its key table was not: %s "
			    "(retry with phifs-keys enable-shred)", err[0] ? err : strerror(-ret));
		return EXIT_PROBLEMS;
	}
	printf("key table created: files can be crypto-shredded (phifs-keys shred)\n");
	return EXIT_OK;
}

int cmd_init(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kms", required_argument, NULL, 'k' },
		{ "cipher", required_argument, NULL, 'c' },
		{ "wrap", required_argument, NULL, 'w' },
		{ "passfile", required_argument, NULL, 'P' },
		{ "extpass", required_argument, NULL, 'E' },
		{ "shred", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	struct volume_create_opts o = { DEFAULT_KMS, FORMAT_CIPHER_GCM, { 0 }, FORMAT_WRAP_VOLUME };
	char err[512] = "";
	int opt, ret, shred = 0;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (kms_opt(opt, optarg, &o.kms))
			continue;
		switch (opt) {
		case 'k':
			o.kms_uri = optarg;
			break;
		case 'c':
			if (!strcmp(optarg, "gcm"))
				o.cipher = FORMAT_CIPHER_GCM;
			else if (!strcmp(optarg, "xts"))
				o.cipher = FORMAT_CIPHER_XTS;
			else
				die(EXIT_USAGE, "unknown cipher '%s' (gcm or xts)", optarg);
			break;
		case 'w':
			if (!strcmp(optarg, "volume"))
				o.wrap_mode = FORMAT_WRAP_VOLUME;
			else if (!strcmp(optarg, "per-file-kms"))
				o.wrap_mode = FORMAT_WRAP_KMS;
			else
				die(EXIT_USAGE, "unknown wrap mode '%s' (volume or per-file-kms)",
				    optarg);
			break;
		case 's':
			shred = 1;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		default:
			usage();
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage();
		return EXIT_USAGE;
	}
	/* Asked before any passphrase prompt: a passphrase wraps nothing per file. */
	if (o.wrap_mode == FORMAT_WRAP_KMS && !strncmp(o.kms_uri, "passphrase", 10))
		die(EXIT_USAGE, "--wrap per-file-kms needs a KMS (local, pkcs11 or kmip): a "
		    "passphrase has no KMS log to record each file's key use");
	if (shred && !strncmp(o.kms_uri, "passphrase", 10))
		die(EXIT_USAGE, "--shred needs a KMS that can destroy keys (local key file, KMIP or "
		    "PKCS#11): a passphrase volume has none");
	tool_make_key_dir(o.kms_uri);
	ret = volume_create(argv[optind], &o, err, sizeof(err));
	if (ret)
		die(exit_code_for(ret) == EXIT_KEY ? EXIT_KEY : EXIT_PROBLEMS, "init failed: %s",
		    err[0] ? err : strerror(-ret));
	printf("created phifs volume in %s (%s, key provider %s%s)\n", argv[optind],
	       o.cipher == FORMAT_CIPHER_XTS ? "AES-256-XTS" : "AES-256-GCM", o.kms_uri,
	       o.wrap_mode == FORMAT_WRAP_KMS ? ", per-file KMS wrap" : "");
	if (o.cipher == FORMAT_CIPHER_XTS)
		printf("note: XTS gives confidentiality only; tampering is not detected.\n");
	return shred ? init_shred(argv[optind], &o) : EXIT_OK;
}
