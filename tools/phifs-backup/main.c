/*
 * main.c: `phifs-backup`, encrypted backup of cipher directories
 * (docs/BACKUP_FORMAT.md, docs/OPERATIONS.md "Backup"): only a dispatch table,
 * one file per subcommand.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "../phifs/common.h"
#include "backupcmd.h"

static const struct tool_cmd cmds[] = {
	{ "init", backup_cmd_init, "create a repository (--kms URI for its key)" },
	{ "backup", backup_cmd_backup, "back up a cipher directory (incremental, no plaintext needed)" },
	{ "snapshots", backup_cmd_snapshots, "list snapshots" },
	{ "ls", backup_cmd_ls, "list the files of a snapshot" },
	{ "restore", backup_cmd_restore, "restore a snapshot to a new cipher directory" },
	{ "check", backup_cmd_check, "check the repository (--read-data, --read-data-subset N%)" },
	{ "forget", backup_cmd_forget, "drop snapshots by a retention policy" },
	{ "prune", backup_cmd_prune, "delete data no snapshot needs (minimum-retention floor)" },
	{ "sync", backup_cmd_sync, "copy missing objects to other repositories (--to REPO)" },
	{ "verify-replica", backup_cmd_verify_replica, "compare a replica with its source (--source REPO)" },
};

/* "-r REPO", "--repo REPO" or "--repo=REPO" before the command name is the
 * same as PHIFS_REPO (every subcommand also takes -r after its name). */
static int global_repo(int argc, char **argv)
{
	if (argc > 2 && (!strcmp(argv[1], "-r") || !strcmp(argv[1], "--repo"))) {
		setenv("PHIFS_REPO", argv[2], 1);
		return 2;
	}
	if (argc > 1 && !strncmp(argv[1], "--repo=", 7)) {
		setenv("PHIFS_REPO", argv[1] + 7, 1);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int shift = global_repo(argc, argv);

	argv[shift] = argv[0];
	argc -= shift;
	argv += shift;
	return tool_main("phifs-backup", cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
