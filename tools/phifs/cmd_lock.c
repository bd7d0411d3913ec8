/*
 * cmd_lock.c: `phifs lock CIPHERDIR` — ends an unlock session now: the
 * volume keys leave the kernel keyring, and a lock mark tells a mounted daemon
 * of the volume to evict its keys (fs/session.c) within a second and refuse
 * new opens until `phifs unlock`. Needs no key: the volume id is in the config.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "audit.h"
#include "hook.h"
#include "keyring.h"
#include "volume.h"

int cmd_lock(int argc, char **argv)
{
	struct format_config *cfg;
	struct audit_tool *at;
	const char *audit = NULL, *dir;
	char id[2 * FORMAT_ID_LEN + 1];
	unsigned n = 0;
	int ret;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: phifs lock [--audit DIR|off] CIPHERDIR\n");
		return EXIT_OK;
	}
	if (argc == 4 && !strcmp(argv[1], "--audit"))
		audit = argv[2];
	else if (argc != 2)
		die(EXIT_USAGE, "usage: phifs lock [--audit DIR|off] CIPHERDIR");
	dir = argv[argc - 1];
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		die(EXIT_PROBLEMS, "out of memory");
	if (tool_config_read(dir, cfg) != EXIT_OK) {
		free(cfg);
		return EXIT_VOLUME;
	}
	/* Locking only takes keys away: an audit outage never stops it (warned). */
	at = tool_audit_open(audit, dir, 0);
	ret = keyring_set_locked(cfg->volume_id, 1);
	for (unsigned i = 0; i < cfg->n_slots; i++)
		n += keyring_forget(cfg->volume_id, cfg->slots[i].version) == 0;
	(void)keyring_set_break_glass(cfg->volume_id, "", 0);   /* ends a break-glass session */
	hex_id(cfg->volume_id, FORMAT_ID_LEN, id, sizeof(id));
	hook_key_op("lock", id, NULL, ret);
	audit_tool_close(at);
	free(cfg);
	if (ret)
		die(EXIT_PROBLEMS, "cannot set the lock mark in the kernel keyring: %s",
		    strerror(-ret));
	printf("locked volume %s: %u key(s) removed from the keyring; a mounted daemon "
	       "evicts its keys within a second\n", id, n);
	return EXIT_OK;
}
