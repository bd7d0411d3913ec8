/*
 * cmd_restore.c: `phifs-backup restore` (placeholder until it lands; see the tracking issue).
 */
#include "config.h"

#include <stdio.h>

#include "../phifs/common.h"
#include "backupcmd.h"

int backup_cmd_restore(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "phifs-backup: restore: not implemented yet\n");
	return EXIT_USAGE;
}
