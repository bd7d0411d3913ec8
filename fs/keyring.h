/*
 * keyring.h: unlocked volume keys kept in the kernel keyring between
 * processes (`phifs unlock` / `phifs lock`, docs/OPERATIONS.md "Unlock
 * sessions"), so cron jobs and remounts need not reach the KMS or ask for a
 * passphrase again until the timeout. Keys live in the user keyring (@u) of
 * the calling uid: every process of that uid finds them whatever its session
 * (cron, systemd, a login shell), no other uid can, and the kernel deletes them
 * when their timeout expires. They never touch a file or swap.
 */
#ifndef PHIFS_KEYRING_H
#define PHIFS_KEYRING_H

#include <stddef.h>
#include <stdint.h>
#include "format.h"
#include "keys.h"

/* Stores VK_version of the volume, replacing any older entry; expires after
 * timeout_s seconds (0: when the keyring is cleared or at reboot). */
int keyring_store(const uint8_t vid[FORMAT_ID_LEN], uint32_t version,
		  const uint8_t vk[KEYS_VK_LEN], unsigned timeout_s);
/* Reads VK_version into vk. -ENOKEY when absent, expired or invalidated. */
int keyring_load(const uint8_t vid[FORMAT_ID_LEN], uint32_t version, uint8_t vk[KEYS_VK_LEN]);
/* 1 when VK_version is present and unexpired, else 0 (one syscall). */
int keyring_present(const uint8_t vid[FORMAT_ID_LEN], uint32_t version);
/* Invalidates VK_version: 0, or -ENOKEY when there was none. */
int keyring_forget(const uint8_t vid[FORMAT_ID_LEN], uint32_t version);
/* Seconds until VK_version expires: 0 with *left set, -ENOKEY absent. */
int keyring_time_left(const uint8_t vid[FORMAT_ID_LEN], uint32_t version, long *left);

/* The lock mark of `phifs lock`: a mounted daemon that sees it evicts its
 * volume keys (session.c) until `phifs unlock` clears it. Holds no secret. */
int keyring_set_locked(const uint8_t vid[FORMAT_ID_LEN], int locked);
int keyring_is_locked(const uint8_t vid[FORMAT_ID_LEN]);

/* The primary key version a mounted daemon adopted after a rotation
 * (volume_adopt_config), published so phifs-keys can wait for it. */
int keyring_set_adopted(const uint8_t vid[FORMAT_ID_LEN], uint32_t version);
int keyring_adopted(const uint8_t vid[FORMAT_ID_LEN], uint32_t *version);

/* The reason given at `phifs unlock --break-glass` (at most
 * KEYRING_REASON_MAX bytes; "" clears it), kept as long as the keys: the
 * daemon puts it on every record of a break-glass access (policy_gate.c). */
#define KEYRING_REASON_MAX 512
int keyring_set_break_glass(const uint8_t vid[FORMAT_ID_LEN], const char *reason,
			    unsigned timeout_s);
/* -ENOKEY when none is active. */
int keyring_break_glass(const uint8_t vid[FORMAT_ID_LEN], char *out, size_t cap);

#endif
