/*
 * main.c: `phifs-audit`, the audit reviewer's command (docs/OPERATIONS.md,
 * "Audit"): only a dispatch table, one file per subcommand.
 */
#include "config.h"

#include "../phifs/common.h"
#include "auditcmd.h"

static const struct tool_cmd cmds[] = {
	{ "verify", audit_cmd_verify, "check the chain, MACs and checkpoints of audit logs (exit 1: tampered)" },
	{ "show", audit_cmd_show, "print records, filtered by time, user, event, file id (alias: query)" },
	{ "query", audit_cmd_show, "same as show" },
	{ "report", audit_cmd_report, "flag after-hours, bulk, spike, outlier, denials, integrity, gaps (exit 1: flagged)" },
};

int main(int argc, char **argv)
{
	return tool_main("phifs-audit", cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
