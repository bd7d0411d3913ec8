/*
 * cmd_backup.c: `phifs-backup backup` (placeholder until it lands; see the tracking issue).
 */
#include "config.h"

#include <stdio.h>

#include "../phifs/common.h"
#include "backupcmd.h"

int backup_cmd_backup(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "phifs-backup: backup: not implemented yet\n");
	return EXIT_USAGE;
}
