/*
 * cmd_forget.c: `phifs-backup forget` (placeholder until it lands; see the tracking issue).
 */
#include "config.h"

#include <stdio.h>

#include "../phifs/common.h"
#include "backupcmd.h"

int backup_cmd_forget(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "phifs-backup: forget: not implemented yet\n");
	return EXIT_USAGE;
}
