/*
 * cmd_prune.c: `phifs-backup prune` (placeholder until it lands; see the tracking issue).
 */
#include "config.h"

#include <stdio.h>

#include "../phifs/common.h"
#include "backupcmd.h"

int backup_cmd_prune(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "phifs-backup: prune: not implemented yet\n");
	return EXIT_USAGE;
}
