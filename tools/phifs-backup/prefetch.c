/*
 * prefetch.c: keeps the disk busy while a backup works through a directory
 * of small files (docs/PERFORMANCE.md "Backups"). The backup reads one file
 * at a time; with caches cold, each open, stat and first read waits for the
 * disk in turn, and for a tree like /usr/include that wait was most of the
 * time. A thread walks the same sorted names a few dozen entries ahead:
 * stat (the inode comes in), then POSIX_FADV_WILLNEED on the first bytes
 * (the read is queued, not waited for). It only warms the cache: it stores
 * nothing, decides nothing, and what the backup reads is still read by the
 * backup (cmd_backup.c), so a file that changes meanwhile is handled there.
 * Device nodes and FIFOs are never opened (O_NONBLOCK, and only after a
 * stat says regular).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prefetch.h"

#define PREFETCH_AHEAD 64                 /* names past the caller's */
#define PREFETCH_BYTES (1024u * 1024u)    /* of each file; the backup asks for the rest */

struct prefetch {
	int dirfd;
	char *const *names;
	size_t n;
	dev_t dev;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;          /* at or stop changed */
	size_t at;                  /* guarded by mu: the caller's position */
	int stop;                   /* guarded by mu */
};

void prefetch_file(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOATIME);

	if (fd < 0 && errno == EPERM)   /* O_NOATIME only for the owner, as the backup's open */
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;                 /* gone or unreadable: the backup will see */
	(void)posix_fadvise(fd, 0, PREFETCH_BYTES, POSIX_FADV_WILLNEED);
	close(fd);
}

static void warm(struct prefetch *pf, const char *name)
{
	struct stat st;

	if (fstatat(pf->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_dev != pf->dev || !st.st_size)
		return;
	prefetch_file(pf->dirfd, name);
}

static void *run(void *arg)
{
	struct prefetch *pf = arg;

	for (size_t i = 0; i < pf->n; i++) {
		pthread_mutex_lock(&pf->mu);
		while (!pf->stop && i >= pf->at + PREFETCH_AHEAD)
			pthread_cond_wait(&pf->cv, &pf->mu);
		if (pf->stop || i < pf->at) {   /* stopped, or the caller is past it */
			int stop = pf->stop;

			pthread_mutex_unlock(&pf->mu);
			if (stop)
				break;
			continue;
		}
		pthread_mutex_unlock(&pf->mu);
		warm(pf, pf->names[i]);
	}
	return NULL;
}

struct prefetch *prefetch_start(int dirfd, char *const *names, size_t n, dev_t dev)
{
	struct prefetch *pf;

	if (n < 2 || !(pf = calloc(1, sizeof(*pf))))
		return NULL;
	*pf = (struct prefetch){ .dirfd = dirfd, .names = names, .n = n, .dev = dev };
	pthread_mutex_init(&pf->mu, NULL);
	pthread_cond_init(&pf->cv, NULL);
	if (pthread_create(&pf->th, NULL, run, pf)) {
		pthread_cond_destroy(&pf->cv);
		pthread_mutex_destroy(&pf->mu);
		free(pf);
		return NULL;
	}
	return pf;
}

void prefetch_at(struct prefetch *pf, size_t i)
{
	if (!pf)
		return;
	pthread_mutex_lock(&pf->mu);
	pf->at = i;
	if (i % (PREFETCH_AHEAD / 4) == 0)      /* wake it a few times per window, not per name */
		pthread_cond_signal(&pf->cv);
	pthread_mutex_unlock(&pf->mu);
}

void prefetch_stop(struct prefetch *pf)
{
	if (!pf)
		return;
	pthread_mutex_lock(&pf->mu);
	pf->stop = 1;
	pthread_cond_signal(&pf->cv);
	pthread_mutex_unlock(&pf->mu);
	pthread_join(pf->th, NULL);
	pthread_cond_destroy(&pf->cv);
	pthread_mutex_destroy(&pf->mu);
	free(pf);
}
