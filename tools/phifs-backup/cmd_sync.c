/*
 * cmd_sync.c: `phifs-backup sync` (placeholder until it lands; see the tracking issue).
 */
#include "config.h"

#include <stdio.h>

#include "../phifs/common.h"
#include "backupcmd.h"

int backup_cmd_sync(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "phifs-backup: sync: not implemented yet\n");
	return EXIT_USAGE;
}
