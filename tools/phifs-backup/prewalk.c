/*
 * prewalk.c: the metadata of a whole tree read into the cache, on several
 * threads, while an incremental backup walks it (docs/PERFORMANCE.md
 * "Backups"). With caches cold, the walk of a large quiet tree is a chain of
 * small disk reads, each waiting for the one before — a directory's blocks,
 * then each entry's inode — and that chain was most of an incremental
 * backup's time, while the disk could serve several at once. These threads
 * walk the same tree in no particular order (a shared stack of open
 * directories): readdir, fstatat every entry, and for a file the backup
 * will read (the caller's will_read: not the same as in the parent
 * snapshot) POSIX_FADV_WILLNEED on its first bytes (prefetch.c).
 * They only warm the cache: they decide nothing and store nothing, what the
 * backup records is what its own walk sees (cmd_backup.c), and a tree that
 * changes meanwhile only makes the warming less useful. Directories are
 * opened relative to their parent with O_NOFOLLOW, so a walker never leaves
 * the tree, nor the device.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prefetch.h"
#include "prewalk.h"

#define PREWALK_MAX_THREADS 8
#define PREWALK_STACK 64           /* open directories waiting; beyond, a walker goes down itself */
#define PREWALK_DEPTH 32           /* how far a walker goes down itself before leaving a subtree cold */

struct pw_dir {
	int fd;
	char *path;                    /* relative to the top; "" for the top */
};

struct prewalk {
	dev_t dev;
	const char *const *skip;
	prewalk_read_fn will_read;
	void *arg;
	pthread_t th[PREWALK_MAX_THREADS];
	unsigned nth;
	atomic_int stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;             /* a directory pushed, or all done */
	struct pw_dir stack[PREWALK_STACK];   /* guarded by mu */
	size_t n;                      /* guarded by mu */
	unsigned busy;                 /* guarded by mu: walkers inside a directory */
};

static int skipped(const struct prewalk *pw, const char *top, const char *name)
{
	for (const char *const *s = pw->skip; !*top && s && *s; s++)
		if (!strcmp(*s, name))
			return 1;
	return 0;
}

static void walk_dir(struct prewalk *pw, int fd, char *path, int depth);

/* A subdirectory (fd, path owned): onto the stack for any walker, or, with
 * the stack full, walked here. */
static void push(struct prewalk *pw, int fd, char *path, int depth)
{
	pthread_mutex_lock(&pw->mu);
	if (pw->n < PREWALK_STACK) {
		pw->stack[pw->n++] = (struct pw_dir){ .fd = fd, .path = path };
		pthread_cond_signal(&pw->cv);
		pthread_mutex_unlock(&pw->mu);
		return;
	}
	pthread_mutex_unlock(&pw->mu);
	if (depth < PREWALK_DEPTH) {
		walk_dir(pw, fd, path, depth + 1);
		return;
	}
	close(fd);
	free(path);
}

static void entry(struct prewalk *pw, int dfd, const char *name, char *path, int depth)
{
	struct stat st;
	char *copy;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != pw->dev)
		return;
	if (S_ISREG(st.st_mode) && st.st_size && pw->will_read(pw->arg, path, &st))
		prefetch_file(dfd, name);
	if (!S_ISDIR(st.st_mode))
		return;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	copy = fd >= 0 ? strdup(path) : NULL;

	if (copy)
		push(pw, fd, copy, depth);
	else if (fd >= 0)
		close(fd);
}

/* One directory (fd and path owned: closed and freed here). */
static void walk_dir(struct prewalk *pw, int fd, char *path, int depth)
{
	DIR *d = fdopendir(fd);
	char *child = malloc(PATH_MAX);
	struct dirent *de;

	if (!d || !child) {
		if (!d)
			close(fd);
		goto out;
	}
	while (!atomic_load(&pw->stop) && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    skipped(pw, path, de->d_name))
			continue;
		if (snprintf(child, PATH_MAX, "%s%s%s", path, *path ? "/" : "", de->d_name) < PATH_MAX)
			entry(pw, dirfd(d), de->d_name, child, depth);
	}
out:
	if (d)
		closedir(d);
	free(child);
	free(path);
}

static void *run(void *arg)
{
	struct prewalk *pw = arg;

	pthread_mutex_lock(&pw->mu);
	for (;;) {
		struct pw_dir d;

		while (!atomic_load(&pw->stop) && !pw->n && pw->busy)
			pthread_cond_wait(&pw->cv, &pw->mu);
		if (atomic_load(&pw->stop) || !pw->n)
			break;                  /* stopped, or nothing left anywhere */
		d = pw->stack[--pw->n];
		pw->busy++;
		pthread_mutex_unlock(&pw->mu);
		walk_dir(pw, d.fd, d.path, 0);
		pthread_mutex_lock(&pw->mu);
		pw->busy--;
	}
	pthread_cond_broadcast(&pw->cv);        /* the others see the end too */
	pthread_mutex_unlock(&pw->mu);
	return NULL;
}

struct prewalk *prewalk_start(int dirfd, dev_t dev, unsigned threads, const char *const *skip,
			      prewalk_read_fn will_read, void *arg)
{
	struct prewalk *pw = calloc(1, sizeof(*pw));
	char *top = strdup("");
	int fd = dup(dirfd);

	if (!pw || !top || fd < 0 || !threads)
		goto fail;
	pw->dev = dev;
	pw->skip = skip;
	pw->will_read = will_read;
	pw->arg = arg;
	atomic_init(&pw->stop, 0);
	pthread_mutex_init(&pw->mu, NULL);
	pthread_cond_init(&pw->cv, NULL);
	pw->stack[pw->n++] = (struct pw_dir){ .fd = fd, .path = top };
	for (; pw->nth < threads && pw->nth < PREWALK_MAX_THREADS; pw->nth++)
		if (pthread_create(&pw->th[pw->nth], NULL, run, pw))
			break;
	if (pw->nth)
		return pw;
	prewalk_stop(pw);
	return NULL;
fail:
	if (fd >= 0)
		close(fd);
	free(top);
	free(pw);
	return NULL;
}

void prewalk_stop(struct prewalk *pw)
{
	if (!pw)
		return;
	atomic_store(&pw->stop, 1);
	pthread_mutex_lock(&pw->mu);
	pthread_cond_broadcast(&pw->cv);
	pthread_mutex_unlock(&pw->mu);
	for (unsigned i = 0; i < pw->nth; i++)
		pthread_join(pw->th[i], NULL);
	for (size_t i = 0; i < pw->n; i++) {
		close(pw->stack[i].fd);
		free(pw->stack[i].path);
	}
	pthread_cond_destroy(&pw->cv);
	pthread_mutex_destroy(&pw->mu);
	free(pw);
}
