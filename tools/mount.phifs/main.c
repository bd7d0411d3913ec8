/*
 * mount.phifs: the helper mount(8) runs for `mount -t phifs CIPHERDIR DIR -o
 * OPTS` and for /etc/fstab lines of type phifs. It only rearranges mount(8)'s
 * calling convention into `phifs mount -o OPTS CIPHERDIR DIR`; options are
 * interpreted by phifs (cmd_mount.c), including kms= and passfile=.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef PHIFS_BINDIR
#define PHIFS_BINDIR "/usr/local/bin"
#endif

/*
 * mount(8) runs helpers with a sanitized PATH, so find phifs by location:
 * beside this helper's real file (same bin dir, or the build tree's
 * tools/phifs/), then the configured bindir. Each candidate is as trusted as
 * the helper itself.
 */
static int find_phifs(char *out, size_t cap)
{
	static const char *const rel[] = { "phifs", "../phifs/phifs" };
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';
		for (size_t i = 0; slash && i < sizeof(rel) / sizeof(rel[0]); i++) {
			if (snprintf(out, cap, "%s/%s", self, rel[i]) < (int)cap &&
			    access(out, X_OK) == 0)
				return 0;
		}
	}
	if (snprintf(out, cap, "%s/phifs", PHIFS_BINDIR) < (int)cap && access(out, X_OK) == 0)
		return 0;
	return -ENOENT;
}

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
	if (find_phifs(phifs, sizeof(phifs)) != 0)
		snprintf(phifs, sizeof(phifs), "phifs");   /* last resort: $PATH */
	if (opts)
		execlp(phifs, "phifs", "mount", "-o", opts, pos[0], pos[1], (char *)NULL);
	else
		execlp(phifs, "phifs", "mount", pos[0], pos[1], (char *)NULL);
	fprintf(stderr, "mount.phifs: cannot run phifs: %s\n", strerror(errno));
	return 1;
}
