/*
 * main.c: the phifs command — only a dispatch table, one file per subcommand
 * (as wireguard-tools' wg.c).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common.h"
#include "secmem.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{ "init", cmd_init, "create a volume in an empty cipher directory" },
	{ "mount", cmd_mount, "mount a volume (daemonizes; -f stays in front)" },
	{ "umount", cmd_umount, "unmount a volume; the daemon wipes its keys" },
	{ "fsck", cmd_fsck, "verify every header, block and name of a volume" },
	{ "info", cmd_info, "show volume id, cipher, key ids and format version" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: phifs <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\nphifs <command> --help shows a command's options. Version %s.\n",
		PACKAGE_VERSION);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("phifs %s (format v1)\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	if (secmem_init() != 0)
		die(EXIT_PROBLEMS, "cannot initialise libsodium");
	/* Every subcommand may hold keys: no core dump may ever contain them. */
	if (secmem_no_dumps() != 0)
		die(EXIT_PROBLEMS, "cannot disable core dumps");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "phifs: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
