/*
 * test-chglog-daemon.c: fs/chglog.c on a real file (docs/FORMAT.md §7.1): a
 * generation is WRITING from its first touch until the store, which vouches
 * for the file's mtime and size; a header rewrite between generations
 * (rule 6) appends a generation with no region that vouches for the new
 * mtime; and it does not while a generation is open, after a change by
 * another path, or when the header write failed. The file lives in the
 * build directory: tmpfs has no user xattrs before Linux 6.6.
 */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include "testutil.h"
#include "chglog.h"
#include "chglog_rec.h"

struct fx {
	char path[32];
	int fd;
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	strcpy(x->path, "chglog-test.XXXXXX");
	x->fd = mkstemp(x->path);
	assert_true(x->fd >= 0);
	if (fsetxattr(x->fd, "user.phifs.probe", "", 0, 0) != 0 && errno == ENOTSUP) {
		close(x->fd);
		unlink(x->path);
		free(x);
		return -1;          /* no user xattrs here: cmocka reports the setup */
	}
	assert_int_equal(pwrite(x->fd, "header and blocks", 17, 0), 17);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	close(x->fd);
	unlink(x->path);
	free(x);
	return 0;
}

/* The record on fd, decoded; 0 when there is none. */
static int rec_get(int fd, struct chglog_rec *r)
{
	uint8_t buf[CHGLOG_REC_MAX];
	ssize_t n = fgetxattr(fd, CHGLOG_XATTR, buf, sizeof(buf));

	if (n <= 0)
		return 0;
	assert_int_equal(chglog_rec_decode(buf, (size_t)n, r), 0);
	return 1;
}

static int vouches(int fd, const struct chglog_rec *r)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return chglog_rec_vouches(r, (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
				  (uint64_t)st.st_size);
}

/* One daemon generation: blocks [first, last] written and stored. */
static void generation(int fd, uint64_t first, uint64_t last)
{
	struct chglog *c = chglog_new();

	assert_non_null(c);
	assert_int_equal(chglog_touch(c, fd, first, last), 0);
	assert_int_equal(pwrite(fd, "x", 1, 4), 1);
	chglog_store(c, fd, 64);
	chglog_free(c);
}

static void test_generation(void **state)
{
	struct fx *x = *state;
	struct chglog_rec *r = malloc(sizeof(*r));
	struct chglog *c = chglog_new();

	assert_non_null(r);
	assert_int_equal(chglog_touch(c, x->fd, 3, 5), 0);
	assert_true(rec_get(x->fd, r));
	assert_true(r->flags & CHGLOG_F_WRITING);
	assert_false(vouches(x->fd, r));
	assert_int_equal(pwrite(x->fd, "y", 1, 8), 1);
	chglog_store(c, x->fd, 64);
	assert_true(rec_get(x->fd, r));
	assert_true(vouches(x->fd, r));
	assert_int_equal((int)r->gen, 1);
	chglog_free(c);
	free(r);
}

static void test_header_only(void **state)
{
	struct fx *x = *state;
	struct chglog_rec *r = malloc(sizeof(*r)), *p;
	struct chglog_bits *b = malloc(sizeof(*b));

	assert_non_null(r);
	assert_non_null(b);
	generation(x->fd, 3, 5);
	p = chglog_hdr_prepare(x->fd);
	assert_non_null(p);
	assert_int_equal(pwrite(x->fd, "H", 1, 0), 1);
	chglog_hdr_commit(x->fd, p, 1);
	assert_true(rec_get(x->fd, r));
	assert_true(vouches(x->fd, r));
	assert_int_equal((int)r->gen, 2);
	assert_int_equal(chglog_rec_since(r, 1, b), 0);   /* since the last read: nothing */
	assert_false(chglog_bits_any(b, 0, 63));
	assert_int_equal(chglog_rec_since(r, 0, b), 0);   /* the daemon's blocks stay */
	assert_true(chglog_bits_any(b, 3, 5));
	assert_false(chglog_bits_any(b, 6, 63));
	generation(x->fd, 9, 9);                          /* the daemon continues it */
	assert_true(rec_get(x->fd, r));
	assert_int_equal((int)r->gen, 3);
	free(b);
	free(r);
}

static void test_header_refused(void **state)
{
	struct fx *x = *state;
	struct chglog_rec *r = malloc(sizeof(*r));
	struct chglog *c = chglog_new();

	assert_non_null(r);
	generation(x->fd, 1, 1);
	/* a generation open in the daemon */
	assert_int_equal(chglog_touch(c, x->fd, 2, 2), 0);
	assert_null(chglog_hdr_prepare(x->fd));
	chglog_store(c, x->fd, 64);
	/* a header write that failed: the record stays as it was */
	chglog_hdr_commit(x->fd, chglog_hdr_prepare(x->fd), 0);
	assert_true(rec_get(x->fd, r));
	assert_int_equal((int)r->gen, 2);
	/* a change by another path */
	assert_int_equal(pwrite(x->fd, "z", 1, 12), 1);
	assert_null(chglog_hdr_prepare(x->fd));
	chglog_free(c);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_generation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
