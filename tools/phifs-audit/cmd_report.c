/*
 * cmd_report.c: `phifs-audit report` (placeholder until it lands; see the tracking issue).
 */
#include "config.h"

#include <stdio.h>

#include "../phifs/common.h"
#include "auditcmd.h"

int audit_cmd_report(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "phifs-audit: report: not implemented yet\n");
	return EXIT_USAGE;
}
