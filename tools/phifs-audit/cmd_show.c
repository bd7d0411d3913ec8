/*
 * cmd_show.c: `phifs-audit show` (placeholder until it lands; see the tracking issue).
 */
#include "config.h"

#include <stdio.h>

#include "../phifs/common.h"
#include "auditcmd.h"

int audit_cmd_show(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "phifs-audit: show: not implemented yet\n");
	return EXIT_USAGE;
}
