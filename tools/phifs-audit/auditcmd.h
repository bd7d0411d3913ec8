/* auditcmd.h: the subcommands of phifs-audit (one file each). */
#ifndef PHIFS_AUDITCMD_H
#define PHIFS_AUDITCMD_H

int audit_cmd_verify(int argc, char **argv);
int audit_cmd_show(int argc, char **argv);
int audit_cmd_report(int argc, char **argv);

#endif
