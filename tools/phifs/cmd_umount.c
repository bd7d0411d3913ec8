/*
 * cmd_umount.c: `phifs umount MOUNTPOINT` — detach the mount; the daemon then
 * leaves its loop and wipes every key it held (daemon.c).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

int cmd_umount(int argc, char **argv)
{
	pid_t pid;
	int status;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: phifs umount MOUNTPOINT\n");
		return argc == 2 && !strcmp(argv[1], "--help") ? EXIT_OK : EXIT_USAGE;
	}
	if (geteuid() == 0) {
		if (umount2(argv[1], UMOUNT_NOFOLLOW) == 0)
			return EXIT_OK;
		if (errno == EBUSY)
			die(EXIT_PROBLEMS, "%s is busy: close the files open on it and retry "
			    "(fuser -vm %s lists them)", argv[1], argv[1]);
		die(EXIT_PROBLEMS, "cannot unmount %s: %s", argv[1], strerror(errno));
	}
	/* Unprivileged users go through the setuid fusermount3 helper. */
	pid = fork();
	if (pid < 0)
		die(EXIT_PROBLEMS, "fork: %s", strerror(errno));
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "--", argv[1], (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		die(EXIT_PROBLEMS, "cannot unmount %s", argv[1]);
	return EXIT_OK;
}
