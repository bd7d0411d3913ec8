/*
 * inode.c: the inode table of the FUSE daemon, modelled on libfuse's
 * passthrough_ll: one node per backing inode (keyed by st_dev/st_ino, so hard
 * links share one node and one fileio), a kernel lookup count per node, and an
 * O_PATH fd kept open for the node's lifetime. The node's address is its FUSE
 * node id. It does not encrypt anything (names.c, fileio.c do).
 *
 * Lock order: table->lock before inode->lock; never take the table lock while
 * holding an inode lock. fileio has its own lock, taken after both.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "inode.h"
#include "log.h"

static size_t bucket_of(const struct inode_table *t, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev;

	return (size_t)(h ^ (h >> 29)) & (t->nbuckets - 1);
}

int inode_table_init(struct inode_table *t, int rootfd)
{
	struct stat st;

	memset(t, 0, sizeof(*t));
	if (fstatat(rootfd, "", &st, AT_EMPTY_PATH) < 0)
		return -errno;
	t->nbuckets = 1024;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	pthread_mutex_init(&t->root.lock, NULL);
	t->root.fd = rootfd;
	t->root.ino = st.st_ino;
	t->root.dev = st.st_dev;
	t->root.type = S_IFDIR;
	t->root.nlookup = 2;
	return 0;
}

static void inode_free(struct inode *i)
{
	if (i->fio)
		fileio_close(i->fio);
	close(i->fd);
	pthread_mutex_destroy(&i->lock);
	free(i);
}

void inode_table_destroy(struct inode_table *t)
{
	inode_reap_stop(t);
	for (size_t b = 0; t->buckets && b < t->nbuckets; b++) {
		struct inode *i = t->buckets[b];

		while (i) {
			struct inode *n = i->next;

			inode_free(i);
			i = n;
		}
	}
	free(t->buckets);
	t->buckets = NULL;
	if (t->root.fio)
		fileio_close(t->root.fio);
	pthread_mutex_destroy(&t->root.lock);
	pthread_mutex_destroy(&t->lock);
}

static int grow(struct inode_table *t)
{
	size_t nb = t->nbuckets * 2;
	struct inode **nbk = calloc(nb, sizeof(*nbk));

	if (!nbk)
		return -ENOMEM;
	for (size_t b = 0; b < t->nbuckets; b++) {
		struct inode *i = t->buckets[b];

		while (i) {
			struct inode *n = i->next;
			size_t h;

			t->nbuckets = nb;
			h = bucket_of(t, i->dev, i->ino);
			t->nbuckets = nb / 2;
			i->next = nbk[h];
			nbk[h] = i;
			i = n;
		}
	}
	free(t->buckets);
	t->buckets = nbk;
	t->nbuckets = nb;
	return 0;
}

/* Called with t->lock held. Takes ownership of fd on success. */
static int find_or_insert(struct inode_table *t, int fd, const struct stat *st,
			  struct inode **out)
{
	size_t h = bucket_of(t, st->st_dev, st->st_ino);
	struct inode *i;

	if (st->st_dev == t->root.dev && st->st_ino == t->root.ino) {
		t->root.nlookup++;
		close(fd);
		*out = &t->root;
		return 0;
	}
	for (i = t->buckets[h]; i; i = i->next) {
		if (i->ino == st->st_ino && i->dev == st->st_dev) {
			i->nlookup++;
			close(fd);
			*out = i;
			return 0;
		}
	}
	i = calloc(1, sizeof(*i));
	if (!i)
		return -ENOMEM;
	i->fd = fd;
	i->ino = st->st_ino;
	i->dev = st->st_dev;
	i->type = st->st_mode & S_IFMT;
	i->nlookup = 1;
	pthread_mutex_init(&i->lock, NULL);
	i->next = t->buckets[h];
	t->buckets[h] = i;
	t->count++;
	if (t->count > t->nbuckets * 2)
		(void)grow(t);
	*out = i;
	return 0;
}

int inode_lookup(struct inode_table *t, struct inode *parent, const char *name,
		 struct inode **out, struct stat *st)
{
	int fd = openat(parent->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	pthread_mutex_lock(&t->lock);
	ret = find_or_insert(t, fd, st, out);
	pthread_mutex_unlock(&t->lock);
	if (ret)
		close(fd);
	return ret;
}

void inode_forget(struct inode_table *t, struct inode *i, uint64_t n)
{
	struct inode **pp;

	pthread_mutex_lock(&t->lock);
	i->nlookup = i->nlookup > n ? i->nlookup - n : 0;
	if (i->nlookup || i == &t->root) {
		pthread_mutex_unlock(&t->lock);
		return;
	}
	for (pp = &t->buckets[bucket_of(t, i->dev, i->ino)]; *pp; pp = &(*pp)->next) {
		if (*pp == i) {
			*pp = i->next;
			t->count--;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	inode_free(i);
}

int inode_dirid(struct inode *dir, uint8_t out[NAMES_DIRID_LEN])
{
	int ret = 0;

	pthread_mutex_lock(&dir->lock);
	if (!dir->dirid_ok) {
		ret = names_dirid_read(dir->fd, dir->dirid);
		if (ret == -ENOENT && names_dirid_heal(dir->fd) == 0)
			ret = names_dirid_read(dir->fd, dir->dirid);
		dir->dirid_ok = ret == 0;
	}
	if (!ret)
		memcpy(out, dir->dirid, NAMES_DIRID_LEN);
	pthread_mutex_unlock(&dir->lock);
	return ret;
}

int inode_file_get(struct inode *i, const struct keys_volume *kv, int writable,
		   struct fileio **out)
{
	char path[64];
	int fd, ret = 0;

	pthread_mutex_lock(&i->lock);
	if (!i->fio && i->unlinked) {
		ret = -ENOENT;
		goto out;
	}
	if (!i->fio) {
		inode_procpath(i, path);
		/* O_RDWR even for O_WRONLY handles: partial blocks are read-modify-write. */
		fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
		if (fd < 0) {
			ret = -errno;
			goto out;
		}
		ret = fileio_open(fd, kv, writable, &i->fio);
		if (ret)
			goto out;
	}
	i->nopen++;
	*out = i->fio;
out:
	pthread_mutex_unlock(&i->lock);
	return ret;
}

void inode_file_set(struct inode *i, struct fileio *fio)
{
	pthread_mutex_lock(&i->lock);
	if (i->fio) {
		/* A racing open of the same new inode won; keep its state. */
		fileio_close(fio);
	} else {
		i->fio = fio;
	}
	i->nopen++;
	pthread_mutex_unlock(&i->lock);
}

/*
 * Frees the data blocks of a backing file with no links and no handles; the
 * header stays (FORMAT.md §4: a file always has one), so whatever still
 * looks at the inode sees an empty file, never a malformed one. Best effort:
 * at worst the space comes back when the kernel forgets the inode.
 */
void inode_release_space(struct inode *i)
{
	char path[64];
	int fd;

	inode_procpath(i, path);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (ftruncate(fd, FORMAT_HEADER_LEN) < 0)
		log_msg(LOG_NOTICE, "cannot give a deleted file's space back at once (%s); "
			"it comes back when the kernel forgets the file", strerror(errno));
	close(fd);
}

void inode_file_put(struct inode *i)
{
	int release = 0;

	pthread_mutex_lock(&i->lock);
	/* Closed under the lock: the close stores the file's change record
	 * (chglog.c), and an open racing in must not start another fileio on
	 * the same backing file until that record is written. */
	if (i->nopen && --i->nopen == 0) {
		fileio_close(i->fio);
		i->fio = NULL;
		release = i->unlinked;
	}
	pthread_mutex_unlock(&i->lock);
	/* An unlinked node never gets a new fileio, so no lock is needed here. */
	if (release)
		inode_release_space(i);
}

/* A reference on the node of dev/ino if the kernel knows it, else NULL. */
static struct inode *find_ref(struct inode_table *t, dev_t dev, ino_t ino)
{
	struct inode *i;

	pthread_mutex_lock(&t->lock);
	for (i = t->buckets[bucket_of(t, dev, ino)]; i; i = i->next)
		if (i->ino == ino && i->dev == dev)
			break;
	if (i)
		i->nlookup++;
	pthread_mutex_unlock(&t->lock);
	return i;
}

void inode_unlinked(struct inode_table *t, dev_t dev, ino_t ino)
{
	struct inode *i = find_ref(t, dev, ino);
	struct stat st;
	int later = 0;

	if (!i)
		return;   /* no O_PATH fd: the kernel frees it at once */
	pthread_mutex_lock(&i->lock);
	if (i->type == S_IFREG && fstatat(i->fd, "", &st, AT_EMPTY_PATH) == 0 &&
	    st.st_nlink == 0) {
		i->unlinked = 1;
		later = !i->nopen;   /* else the last release gives it back */
	}
	pthread_mutex_unlock(&i->lock);
	if (later)
		inode_reap_later(t, i);   /* takes our reference */
	else
		inode_forget(t, i, 1);
}

void inode_procpath(const struct inode *i, char buf[64])
{
	snprintf(buf, 64, "/proc/self/fd/%d", i->fd);
}
