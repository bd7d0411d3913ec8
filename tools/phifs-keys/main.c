/*
 * main.c: `phifs-keys`, the key-management command (docs/OPERATIONS.md, "Key
 * rotation"): only a dispatch table, one file per subcommand, like phifs.
 */
#include "config.h"

#include "../phifs/common.h"
#include "keyscmd.h"

static const struct tool_cmd cmds[] = {
	{ "status", keys_cmd_status, "key versions, KEKs, files per key, ages (exit 3: too old)" },
	{ "rotate-kms", keys_cmd_rotate_kms, "wrap the volume keys under a new KMS key; no file touched" },
	{ "rotate-volume-key", keys_cmd_rotate_vk, "new volume key; re-wrap every file header (online, resumable)" },
	{ "rekey", keys_cmd_rekey, "new data key for files of a mounted volume; blocks re-encrypted (online, resumable)" },
	{ "enable-shred", keys_cmd_enable_shred, "give a volume its key table so that files can be crypto-shredded" },
	{ "shred", keys_cmd_shred, "crypto-shred files of a mounted volume: their keys destroyed, then unlinked" },
};

int main(int argc, char **argv)
{
	return tool_main("phifs-keys", cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
