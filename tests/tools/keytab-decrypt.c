/*
 * keytab-decrypt.c: tries to decrypt a copy of a backing file, as an attacker
 * holding the volume's KEK and a key table would (tests/sh/shred.sh). Usage:
 *   keytab-decrypt CIPHERDIR KEYTABDIR BACKINGFILE
 * opens the volume in CIPHERDIR (its volume keys), the key table found in
 * KEYTABDIR (the live one, or an old copy), and the header and blocks of
 * BACKINGFILE. Prints "ok <sha256 of the plaintext>" and exits 0 when it
 * decrypts; otherwise prints why ("key table: ...", "file: ...") and exits 1.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cipher.h"
#include "fileio.h"
#include "keytab.h"
#include "volume.h"

/* Whole plaintext in memory: the test's files are small. */
static int sha_file(struct fileio *f)
{
	uint8_t md[32], *buf = NULL;
	uint64_t size = 0;
	ssize_t n = 0;
	int ret = fileio_size(f, &size);

	if (!ret && !(buf = malloc(size + 1)))
		ret = -ENOMEM;
	if (!ret && (n = fileio_read(f, buf, size, 0)) < 0)
		ret = (int)n;
	if (!ret)
		ret = cipher_sha256(buf, (size_t)n, md);
	free(buf);
	if (ret) {
		printf("file: blocks: %s\n", strerror(-ret));
		return 1;
	}
	printf("ok ");
	for (size_t i = 0; i < sizeof(md); i++)
		printf("%02x", md[i]);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct kms_opts ko = { 0 };
	struct volume *v = NULL;
	struct keytab *kt = NULL;
	struct fileio *f = NULL;
	char err[1024] = "";
	int ret, code = 1, tabfd = -1, fd;

	if (argc != 4) {
		fprintf(stderr, "usage: keytab-decrypt CIPHERDIR KEYTABDIR BACKINGFILE\n");
		return 2;
	}
	ret = volume_open(argv[1], NULL, &ko, &v, err, sizeof(err));
	if (ret) {
		printf("volume: %s\n", err);
		return 2;
	}
	tabfd = open(argv[2], O_PATH | O_DIRECTORY | O_CLOEXEC);
	ret = tabfd < 0 ? -errno : keytab_open(tabfd, v->cfg->kms_uri, v->cfg->volume_id, &kt,
					       err, sizeof(err));
	if (ret) {
		printf("key table: %s (%s)\n", strerror(-ret), err);
		goto out;
	}
	keys_volume_set_keytab(v->keys, &keytab_ops, kt);
	fd = open(argv[3], O_RDONLY | O_CLOEXEC);
	ret = fd < 0 ? -errno : fileio_open(fd, v->keys, 0, &f);
	if (ret) {
		printf("file: %s\n", strerror(-ret));
		goto out;
	}
	code = sha_file(f);
out:
	fileio_close(f);
	if (v)
		keys_volume_set_keytab(v->keys, NULL, NULL);
	keytab_close(kt);
	if (tabfd >= 0)
		close(tabfd);
	volume_close(v);
	return code;
}
