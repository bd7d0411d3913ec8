/*
 * cmd_verify.c: `phifs-audit verify` (placeholder until it lands; see the tracking issue).
 */
#include "config.h"

#include <stdio.h>

#include "../phifs/common.h"
#include "auditcmd.h"

int audit_cmd_verify(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "phifs-audit: verify: not implemented yet\n");
	return EXIT_USAGE;
}
