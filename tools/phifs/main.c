/*
 * main.c: the phifs command — only a dispatch table, one file per subcommand
 * (as wireguard-tools' wg.c); tool_main() in common.c does the rest.
 */
#include "config.h"

#include "common.h"

static const struct tool_cmd cmds[] = {
	{ "init", cmd_init, "create a volume in an empty cipher directory" },
	{ "mount", cmd_mount, "mount a volume (daemonizes; -f stays in front)" },
	{ "umount", cmd_umount, "unmount a volume; the daemon wipes its keys" },
	{ "fsck", cmd_fsck, "verify every header, block and name of a volume" },
	{ "info", cmd_info, "show volume id, cipher, key ids and format version" },
	{ "unlock", cmd_unlock, "keep the volume keys in the kernel keyring for a while" },
	{ "lock", cmd_lock, "end an unlock session; mounted volumes evict their keys" },
	{ "policy", cmd_policy, "set, show or check the volume's access policy" },
};

int main(int argc, char **argv)
{
	return tool_main("phifs", cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv);
}
