/*
 * keyring.c: volume keys in the kernel's user keyring (keyring.h). A key's
 * description is "phifs:<volume id hex>:v<version>", type "user"; its
 * permissions give the owning uid (possessor or not — a cron job's session
 * keyring does not link @u) view, read and search, nobody else anything.
 * Payloads are read into a buffer that is wiped and freed at once.
 */
#include "config.h"

#include <errno.h>
#include <keyutils.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keyring.h"
#include "secmem.h"

#define KEYRING_TYPE "user"
#define KEYRING_PERM (KEY_POS_ALL | KEY_USR_VIEW | KEY_USR_READ | KEY_USR_SEARCH | \
		      KEY_USR_SETATTR)

/* "phifs:<vid hex>:v<version>", ":locked" for KEYRING_LOCKED, ":adopted"
 * for KEYRING_ADOPTED, ":break-glass" for KEYRING_BREAK_GLASS. */
#define KEYRING_LOCKED UINT32_MAX
#define KEYRING_ADOPTED (UINT32_MAX - 1)
#define KEYRING_BREAK_GLASS (UINT32_MAX - 2)

static void keyring_desc(const uint8_t vid[FORMAT_ID_LEN], uint32_t version, char out[64])
{
	int n = snprintf(out, 64, "phifs:");

	for (int i = 0; i < FORMAT_ID_LEN; i++)
		n += snprintf(out + n, 64 - (size_t)n, "%02x", vid[i]);
	if (version == KEYRING_LOCKED)
		snprintf(out + n, 64 - (size_t)n, ":locked");
	else if (version == KEYRING_ADOPTED)
		snprintf(out + n, 64 - (size_t)n, ":adopted");
	else if (version == KEYRING_BREAK_GLASS)
		snprintf(out + n, 64 - (size_t)n, ":break-glass");
	else
		snprintf(out + n, 64 - (size_t)n, ":v%u", version);
}

static int keyring_find(const uint8_t vid[FORMAT_ID_LEN], uint32_t version, key_serial_t *id)
{
	char desc[64];
	long r;

	keyring_desc(vid, version, desc);
	r = keyctl_search(KEY_SPEC_USER_KEYRING, KEYRING_TYPE, desc, 0);
	if (r < 0)
		return errno == EKEYEXPIRED || errno == EKEYREVOKED || errno == ENOKEY ? -ENOKEY
										 : -errno;
	*id = (key_serial_t)r;
	return 0;
}

int keyring_store(const uint8_t vid[FORMAT_ID_LEN], uint32_t version,
		  const uint8_t vk[KEYS_VK_LEN], unsigned timeout_s)
{
	char desc[64];
	key_serial_t id;

	keyring_desc(vid, version, desc);
	id = add_key(KEYRING_TYPE, desc, vk, KEYS_VK_LEN, KEY_SPEC_USER_KEYRING);
	if (id < 0)
		return -errno;
	if (keyctl_setperm(id, KEYRING_PERM) < 0 ||
	    keyctl_set_timeout(id, timeout_s) < 0) {
		int e = errno;

		(void)keyctl_invalidate(id);
		return -e;
	}
	return 0;
}

int keyring_load(const uint8_t vid[FORMAT_ID_LEN], uint32_t version, uint8_t vk[KEYS_VK_LEN])
{
	key_serial_t id;
	void *buf = NULL;
	long n;
	int ret = keyring_find(vid, version, &id);

	if (ret)
		return ret;
	n = keyctl_read_alloc(id, &buf);
	if (n < 0) {
		ret = errno == EKEYEXPIRED || errno == EKEYREVOKED || errno == ENOKEY ? -ENOKEY
										   : -errno;
		goto out;
	}
	if (n != KEYS_VK_LEN) {
		ret = -EBADMSG;      /* not ours: someone else's key under our name */
		goto out;
	}
	memcpy(vk, buf, KEYS_VK_LEN);
out:
	if (buf && n > 0)
		secmem_wipe(buf, (size_t)n);
	free(buf);
	return ret;
}

int keyring_present(const uint8_t vid[FORMAT_ID_LEN], uint32_t version)
{
	key_serial_t id;

	return keyring_find(vid, version, &id) == 0;
}

int keyring_forget(const uint8_t vid[FORMAT_ID_LEN], uint32_t version)
{
	key_serial_t id;
	int ret = keyring_find(vid, version, &id);

	if (ret)
		return ret;
	return keyctl_invalidate(id) < 0 ? -errno : 0;
}

/* /proc/keys is the only place the kernel shows a key's remaining time. */
int keyring_time_left(const uint8_t vid[FORMAT_ID_LEN], uint32_t version, long *left)
{
	char line[512], want[16], unit;
	key_serial_t id;
	FILE *f;
	long v;
	int ret = keyring_find(vid, version, &id);

	if (ret)
		return ret;
	f = fopen("/proc/keys", "re");
	if (!f)
		return -errno;
	snprintf(want, sizeof(want), "%08x ", (unsigned)id);
	ret = -ENOKEY;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, want, strlen(want)) != 0)
			continue;
		/* "serial flags usage expiry perm ...": expiry is "perm" or <n><s|m|h|d|w> */
		if (sscanf(line, "%*s %*s %*s %ld%c", &v, &unit) == 2) {
			*left = v * (unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 :
				     unit == 'w' ? 604800 : 1);
		} else {
			*left = 0;   /* "perm": no timeout */
		}
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

int keyring_set_locked(const uint8_t vid[FORMAT_ID_LEN], int locked)
{
	static const char mark[] = "locked";
	char desc[64];
	key_serial_t id;
	int ret;

	if (!locked) {
		ret = keyring_forget(vid, KEYRING_LOCKED);
		return ret == -ENOKEY ? 0 : ret;
	}
	keyring_desc(vid, KEYRING_LOCKED, desc);
	id = add_key(KEYRING_TYPE, desc, mark, sizeof(mark) - 1, KEY_SPEC_USER_KEYRING);
	if (id < 0)
		return -errno;
	return keyctl_setperm(id, KEYRING_PERM) < 0 ? -errno : 0;
}

int keyring_is_locked(const uint8_t vid[FORMAT_ID_LEN])
{
	return keyring_present(vid, KEYRING_LOCKED);
}

/* Not secret: which primary version the mounted daemon of the volume serves
 * with, for phifs-keys to wait on. Kept an hour; refreshed on each adoption. */
int keyring_set_adopted(const uint8_t vid[FORMAT_ID_LEN], uint32_t version)
{
	char desc[64];
	key_serial_t id;

	keyring_desc(vid, KEYRING_ADOPTED, desc);
	id = add_key(KEYRING_TYPE, desc, &version, sizeof(version), KEY_SPEC_USER_KEYRING);
	if (id < 0)
		return -errno;
	if (keyctl_setperm(id, KEYRING_PERM) < 0 || keyctl_set_timeout(id, 3600) < 0)
		return -errno;
	return 0;
}

int keyring_adopted(const uint8_t vid[FORMAT_ID_LEN], uint32_t *version)
{
	key_serial_t id;
	uint32_t v;
	int ret = keyring_find(vid, KEYRING_ADOPTED, &id);

	if (ret)
		return ret;
	if (keyctl_read(id, (char *)&v, sizeof(v)) != (long)sizeof(v))
		return -ENOKEY;
	*version = v;
	return 0;
}

/* Not secret: the reason an operator gave for a break-glass session. It
 * expires with the keys of the same `phifs unlock`. */
int keyring_set_break_glass(const uint8_t vid[FORMAT_ID_LEN], const char *reason,
			    unsigned timeout_s)
{
	char desc[64];
	key_serial_t id;
	size_t len = strlen(reason);

	if (!reason[0]) {
		int ret = keyring_forget(vid, KEYRING_BREAK_GLASS);

		return ret == -ENOKEY ? 0 : ret;
	}
	if (len > KEYRING_REASON_MAX)
		return -EINVAL;
	keyring_desc(vid, KEYRING_BREAK_GLASS, desc);
	id = add_key(KEYRING_TYPE, desc, reason, len, KEY_SPEC_USER_KEYRING);
	if (id < 0)
		return -errno;
	if (keyctl_setperm(id, KEYRING_PERM) < 0 ||
	    (timeout_s && keyctl_set_timeout(id, timeout_s) < 0))
		return -errno;
	return 0;
}

int keyring_break_glass(const uint8_t vid[FORMAT_ID_LEN], char *out, size_t cap)
{
	key_serial_t id;
	long n;
	int ret = keyring_find(vid, KEYRING_BREAK_GLASS, &id);

	if (ret)
		return ret;
	n = keyctl_read(id, out, cap - 1);
	if (n < 0 || (size_t)n > cap - 1)
		return -ENOKEY;
	out[n] = '\0';
	return 0;
}
