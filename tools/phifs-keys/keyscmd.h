/* keyscmd.h: the phifs-keys subcommands (one file each) and what they share. */
#ifndef PHIFS_KEYSCMD_H
#define PHIFS_KEYSCMD_H

#include <stdint.h>

/* Exit status of `status` when a key is older than --max-age (cron alerts on it). */
#define EXIT_KEY_OLD 3

int keys_cmd_status(int argc, char **argv);
int keys_cmd_rotate_kms(int argc, char **argv);
int keys_cmd_rotate_vk(int argc, char **argv);
int keys_cmd_rekey(int argc, char **argv);
int keys_cmd_enable_shred(int argc, char **argv);
int keys_cmd_shred(int argc, char **argv);

#endif
