/* backupcmd.h: the subcommands of phifs-backup (one file each). */
#ifndef PHIFS_BACKUPCMD_H
#define PHIFS_BACKUPCMD_H

int backup_cmd_init(int argc, char **argv);
int backup_cmd_backup(int argc, char **argv);
int backup_cmd_snapshots(int argc, char **argv);
int backup_cmd_ls(int argc, char **argv);
int backup_cmd_restore(int argc, char **argv);
int backup_cmd_check(int argc, char **argv);
int backup_cmd_forget(int argc, char **argv);
int backup_cmd_prune(int argc, char **argv);
int backup_cmd_sync(int argc, char **argv);
int backup_cmd_verify_replica(int argc, char **argv);

#endif
