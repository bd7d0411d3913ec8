/*
 * cmd_snapshots.c: `phifs-backup snapshots` (placeholder until it lands; see the tracking issue).
 */
#include "config.h"

#include <stdio.h>

#include "../phifs/common.h"
#include "backupcmd.h"

int backup_cmd_snapshots(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "phifs-backup: snapshots: not implemented yet\n");
	return EXIT_USAGE;
}
