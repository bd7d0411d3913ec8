/*
 * cmd_check.c: `phifs-backup check` (placeholder until it lands; see the tracking issue).
 */
#include "config.h"

#include <stdio.h>

#include "../phifs/common.h"
#include "backupcmd.h"

int backup_cmd_check(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "phifs-backup: check: not implemented yet\n");
	return EXIT_USAGE;
}
