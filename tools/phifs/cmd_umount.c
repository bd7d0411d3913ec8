/*
 * cmd_umount.c: `phifs umount MOUNTPOINT` — detach the mount; the daemon then
 * leaves its loop and wipes every key it held (daemon.c). Returns once the
 * daemon is gone (its volume lock released), so `phifs umount && phifs fsck`
 * or a rotation right after it sees an unmounted volume.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "journal.h"

#define UMOUNT_WAIT_S 10

/* The volume lock of the phifs mount at mnt (cipherdir/phifs.journal, or
 * the cipher dir itself for a read-only mount of a volume without a journal:
 * journal.c), opened before unmounting: -1 when mnt is not a phifs mount. */
static int volume_lock_fd(const char *mnt)
{
	char real[PATH_MAX], path[PATH_MAX + sizeof(JOURNAL_DIR) + 1];
	struct mntent *e;
	FILE *f;
	int fd = -1;

	if (!realpath(mnt, real) || !(f = setmntent("/proc/self/mounts", "re")))
		return -1;
	while ((e = getmntent(f))) {
		if (strcmp(e->mnt_dir, real) || strcmp(e->mnt_type, "fuse.phifs") ||
		    e->mnt_fsname[0] != '/')
			continue;
		snprintf(path, sizeof(path), "%s/%s", e->mnt_fsname, JOURNAL_DIR);
		fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			fd = open(e->mnt_fsname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	endmntent(f);
	return fd;
}

/* The daemon drops the lock only when it has exited. */
static void wait_daemon_gone(int lockfd, const char *mnt)
{
	if (lockfd < 0)
		return;
	for (int i = 0; i < UMOUNT_WAIT_S * 20; i++) {
		if (flock(lockfd, LOCK_EX | LOCK_NB) == 0) {
			(void)flock(lockfd, LOCK_UN);
			close(lockfd);
			return;
		}
		usleep(50000);
	}
	warnx_phifs("%s is unmounted, but its daemon is still exiting after %d s", mnt,
		    UMOUNT_WAIT_S);
	close(lockfd);
}

int cmd_umount(int argc, char **argv)
{
	pid_t pid;
	int status, lockfd;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: phifs umount MOUNTPOINT\n");
		return argc == 2 && !strcmp(argv[1], "--help") ? EXIT_OK : EXIT_USAGE;
	}
	lockfd = volume_lock_fd(argv[1]);
	if (geteuid() == 0) {
		if (umount2(argv[1], UMOUNT_NOFOLLOW) == 0) {
			wait_daemon_gone(lockfd, argv[1]);
			return EXIT_OK;
		}
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
	wait_daemon_gone(lockfd, argv[1]);
	return EXIT_OK;
}
