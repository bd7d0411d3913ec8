/*
 * mount.phifs: the helper mount(8) runs for `mount -t phifs CIPHERDIR DIR -o
 * OPTS` and for /etc/fstab lines of type phifs. It only rearranges mount(8)'s
 * calling convention into `phifs mount -o OPTS CIPHERDIR DIR`; options are
 * interpreted by phifs (cmd_mount.c), including kms= and passfile=.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef PHIFS_BINDIR
#define PHIFS_BINDIR "/usr/local/bin"
#endif

int main(int argc, char **argv)
{
	const char *opts = NULL;
	const char *pos[2] = { NULL, NULL };
	char phifs[4096];
	int npos = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			opts = argv[++i];
		else if (argv[i][0] == '-')
			continue;   /* -s, -n, -v, -f (fake) and -t are mount(8)'s business */
		else if (npos < 2)
			pos[npos++] = argv[i];
	}
	if (npos != 2) {
		fprintf(stderr, "usage: mount.phifs CIPHERDIR MOUNTPOINT [-o OPTIONS]\n");
		return 2;
	}
	/* Prefer the phifs installed next to this helper, then $PATH. */
	snprintf(phifs, sizeof(phifs), "%s/phifs", PHIFS_BINDIR);
	if (access(phifs, X_OK) != 0)
		snprintf(phifs, sizeof(phifs), "phifs");
	if (opts)
		execlp(phifs, "phifs", "mount", "-o", opts, pos[0], pos[1], (char *)NULL);
	else
		execlp(phifs, "phifs", "mount", pos[0], pos[1], (char *)NULL);
	fprintf(stderr, "mount.phifs: cannot run phifs: %s\n", strerror(errno));
	return 1;
}
