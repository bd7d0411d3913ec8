/* testvol.h: a volume key set with one random key (v1 primary and names),
 * and a scratch directory, for unit tests of file-level modules. */
#ifndef PHIFS_TESTVOL_H
#define PHIFS_TESTVOL_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testutil.h"
#include "cipher.h"
#include "keys.h"
#include "secmem.h"

static inline struct keys_volume *tv_keys(void)
{
	struct keys_volume *kv = NULL;
	uint8_t vid[16], vk[32];

	assert_int_equal(secmem_init(), 0);
	assert_int_equal(cipher_random(vid, 16), 0);
	assert_int_equal(cipher_random(vk, 32), 0);
	assert_int_equal(keys_volume_new(vid, &kv), 0);
	assert_int_equal(keys_volume_add(kv, 1, vk), 0);
	assert_int_equal(keys_volume_set_primary(kv, 1), 0);
	assert_int_equal(keys_volume_set_names(kv, 1), 0);
	secmem_wipe(vk, sizeof(vk));
	return kv;
}

/* Keys plus a fresh scratch directory /tmp/phifs-<what>-XXXXXX in dir. */
static inline struct keys_volume *tv_setup(const char *what, char *dir, size_t n)
{
	snprintf(dir, n, "/tmp/phifs-%s-XXXXXX", what);
	assert_non_null(mkdtemp(dir));
	return tv_keys();
}

/* A whole backing file into a malloc'd buffer (the caller frees it). */
static inline void tv_slurp(const char *p, uint8_t **buf, size_t *len)
{
	struct stat st;
	int fd = open(p, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	*buf = malloc(*len + 1);
	assert_non_null(*buf);
	assert_int_equal(read(fd, *buf, *len), (ssize_t)*len);
	close(fd);
}

/* Removes the scratch directory and frees the keys: the teardown. */
static inline int tv_teardown(struct keys_volume *kv, const char *dir)
{
	char cmd[128];

	keys_volume_free(kv);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
