/*
 * policy_store.c: reads and writes `phifs.policy` (docs/FORMAT.md §11.1).
 * The file is the operator's text as given plus one last line,
 *   #phifs-policy-mac v<version> <64 hex>
 * a comment to the parser, whose HMAC-SHA256 (policy-mac key of VK_version)
 * covers every byte before that line. Why a trailer and not a sidecar: one
 * file is replaced atomically, so text and MAC can never disagree after a crash.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "fdio.h"
#include "format.h"
#include "keys.h"
#include "policy_store.h"

#define MAC_MARK "#phifs-policy-mac v"
#define MAC_MARK_LEN (sizeof(MAC_MARK) - 1)

static void hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

int policy_store_write(int dirfd, const char *text, size_t len, const struct keys_volume *kv)
{
	uint32_t version = keys_volume_primary(kv);
	uint8_t mac[FORMAT_MAC_LEN];
	char line[MAC_MARK_LEN + 16 + 2 * FORMAT_MAC_LEN + 2], machex[2 * FORMAT_MAC_LEN + 1];
	char *buf = NULL;
	size_t body = len, n;
	int ret;

	if (len > POLICY_STORE_MAX - sizeof(line) || memmem(text, len, MAC_MARK, MAC_MARK_LEN))
		return -EINVAL;
	buf = malloc(len + 1 + sizeof(line));
	if (!buf)
		return -ENOMEM;
	memcpy(buf, text, len);
	if (body && buf[body - 1] != '\n')
		buf[body++] = '\n';
	ret = keys_policy_mac(kv, version, (const uint8_t *)buf, body, mac);
	if (ret)
		goto out;
	hex(mac, sizeof(mac), machex);
	n = (size_t)snprintf(line, sizeof(line), MAC_MARK "%u %s\n", version, machex);
	memcpy(buf + body, line, n);
	ret = fdio_replace(dirfd, POLICY_STORE_TMP, POLICY_STORE_FILE, buf, body + n, 0400);
out:
	free(buf);
	return ret;
}

/* Splits buf at its MAC line: body length, key version and MAC. -EBADMSG. */
static int split_mac(const char *buf, size_t len, size_t *body, uint32_t *version,
		     uint8_t mac[FORMAT_MAC_LEN])
{
	const char *line;
	char *end;
	unsigned long v;
	size_t start;

	if (len < 2 || buf[len - 1] != '\n')
		return -EBADMSG;
	for (start = len - 1; start > 0 && buf[start - 1] != '\n'; start--)
		;
	line = buf + start;
	if (len - start < MAC_MARK_LEN || memcmp(line, MAC_MARK, MAC_MARK_LEN))
		return -EBADMSG;
	errno = 0;
	v = strtoul(line + MAC_MARK_LEN, &end, 10);
	if (errno || end == line + MAC_MARK_LEN || *end != ' ' || v > UINT32_MAX ||
	    (size_t)(buf + len - 1 - (end + 1)) != 2 * FORMAT_MAC_LEN ||
	    sodium_hex2bin(mac, FORMAT_MAC_LEN, end + 1, 2 * FORMAT_MAC_LEN, NULL, NULL, NULL))
		return -EBADMSG;
	*body = start;
	*version = (uint32_t)v;
	return 0;
}

static int read_all(int dirfd, char **out, size_t *len)
{
	int fd = openat(dirfd, POLICY_STORE_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char *buf = NULL;
	int ret;

	if (fd < 0)
		return -errno;
	buf = malloc(POLICY_STORE_MAX + 1);
	ret = buf ? fdio_read(fd, buf, POLICY_STORE_MAX + 1, len) : -ENOMEM;
	close(fd);
	if (!ret && *len > POLICY_STORE_MAX)
		ret = -EFBIG;
	if (ret) {
		free(buf);
		return ret;
	}
	buf[*len] = '\0';
	*out = buf;
	return 0;
}

int policy_store_read(int dirfd, const struct keys_volume *kv, char **text, size_t *len)
{
	uint8_t mac[FORMAT_MAC_LEN], want[FORMAT_MAC_LEN];
	uint32_t version;
	size_t n = 0, body = 0;
	char *buf = NULL;
	int ret;

	*text = NULL;
	*len = 0;
	ret = read_all(dirfd, &buf, &n);
	if (ret)
		return ret;
	ret = split_mac(buf, n, &body, &version, mac);
	if (!ret && kv) {
		ret = keys_policy_mac(kv, version, (const uint8_t *)buf, body, want);
		if (!ret && sodium_memcmp(mac, want, sizeof(mac)) != 0)
			ret = -EBADMSG;
	}
	if (ret) {
		free(buf);
		return ret;
	}
	buf[body] = '\0';
	*text = buf;
	*len = body;
	return 0;
}

int policy_store_remove(int dirfd)
{
	if (unlinkat(dirfd, POLICY_STORE_FILE, 0) < 0)
		return -errno;
	return syncfs(dirfd) < 0 ? -errno : 0;
}
