/*
 * cmd_verify_replica.c: `phifs-backup verify-replica` (placeholder until it lands; see the tracking issue).
 */
#include "config.h"

#include <stdio.h>

#include "../phifs/common.h"
#include "backupcmd.h"

int backup_cmd_verify_replica(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "phifs-backup: verify-replica: not implemented yet\n");
	return EXIT_USAGE;
}
