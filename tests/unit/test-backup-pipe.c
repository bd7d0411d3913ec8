/*
 * test-backup-pipe.c: chunks identified and sealed on worker threads
 * (tools/phifs-backup/repo_pipe.c) land as with no thread at all
 * (docs/BACKUP_FORMAT.md §7 step 4): each id is the chunk's keyed HMAC at
 * its index, duplicates in flight together are stored once, and every blob
 * sits in the same pack at the same offset whatever the thread count (the
 * pack bytes differ only by their random nonces) —
 * through several packs stored by the packer's writer threads
 * (repo_pack.c). A failing chunk fails the pass with its error and leaks
 * nothing (the ASan build runs this too). Storage is stubbed: the packer's
 * two calls into repo.c are defined here.
 */
#include "config.h"
#include <errno.h>
#include "testutil.h"
#include "cipher.h"
#include "repo_index.h"
#include "repo_pack.h"
#include "repo_pipe.h"
#include "repo_util.h"

#define N_CHUNKS 300
#define CHUNK_MAX 4096u

/* The packer's writer threads call this: the object's id, nothing stored. */
int repo_put_object(struct repo *r, const char *prefix, const void *buf, size_t len,
		    uint8_t id[32])
{
	(void)r;
	(void)prefix;
	return id ? cipher_sha256(buf, len, id) : 0;
}

int repo_put_sealed(struct repo *r, uint8_t type, const char *prefix, const void *pt, size_t len,
		    uint8_t id[32])
{
	(void)type;
	return repo_put_object(r, prefix, pt, len, id);
}

static struct repo_keys keys = { .encrypt = { 1, 2, 3 }, .chunk_id = { 4, 5, 6 } };
static struct backend be = { .concurrency = 2 };   /* two pack writers */
static struct repo repo = { .be = &be, .keys = &keys,
			    .cfg = { .chunk_max = CHUNK_MAX, .pack_size = 65536 } };
static uint8_t data[N_CHUNKS][CHUNK_MAX];
static size_t lens[N_CHUNKS];

static int setup(void **state)
{
	(void)state;
	srand(11);
	for (size_t j = 0; j < N_CHUNKS; j++) {
		lens[j] = 64 + (size_t)rand() % (CHUNK_MAX - 64);
		if (j % 7 == 6) {               /* a copy of a recent chunk: in flight with it */
			lens[j] = lens[j - 3];
			memcpy(data[j], data[j - 3], lens[j]);
		} else {
			assert_int_equal(cipher_random(data[j], lens[j]), 0);
		}
	}
	return 0;
}

/* One pass of every chunk through a pipe of nthreads; bytes: the pass's
 * size hint. The index after the packs were written, ids in *ids. */
static int run(unsigned nthreads, uint64_t bytes, struct repo_index **ix, struct json_object **ids)
{
	struct repo_packer *pk = NULL;
	struct repo_pipe *pp = NULL;
	uint8_t *buf;
	int ret, end;

	assert_int_equal(repo_index_new(ix), 0);
	assert_int_equal(repo_packer_new(&repo, *ix, &pk), 0);
	assert_int_equal(repo_pipe_new(&repo, pk, nthreads, &pp), 0);
	*ids = json_object_new_array();
	repo_pipe_begin(pp, *ids, 1, bytes);
	ret = 0;
	for (size_t j = 0; !ret && j < N_CHUNKS; j++) {
		ret = repo_pipe_slot(pp, &buf);
		if (ret)
			break;
		memcpy(buf, data[j], lens[j]);
		ret = repo_pipe_submit(pp, lens[j], j);
	}
	end = repo_pipe_end(pp);
	ret = end ? end : ret;
	if (!ret)
		ret = repo_packer_write_index(pk);
	repo_pipe_free(pp);
	repo_packer_free(pk);
	return ret;
}

static void check_ids(struct json_object *ids)
{
	char hex[REPO_HEX_ID];
	uint8_t id[32];

	assert_int_equal(json_object_array_length(ids), N_CHUNKS);
	for (size_t j = 0; j < N_CHUNKS; j++) {
		assert_int_equal(repo_blob_id(&repo, data[j], lens[j], id), 0);
		repo_hex(id, 32, hex);
		assert_string_equal(json_object_get_string(json_object_array_get_idx(ids, j)), hex);
	}
}

/* Every chunk's blob at the same pack and offset in both indexes. */
static void same_places(const struct repo_index *a, const struct repo_index *b)
{
	uint8_t id[32];

	assert_int_equal(a->count, b->count);
	assert_int_equal(a->npacks, b->npacks);
	for (size_t j = 0; j < N_CHUNKS; j++) {
		const struct repo_loc *la, *lb;

		assert_int_equal(repo_blob_id(&repo, data[j], lens[j], id), 0);
		la = repo_index_find(a, id);
		lb = repo_index_find(b, id);
		assert_non_null(la);
		assert_non_null(lb);
		assert_int_equal(la->pack, lb->pack);
		assert_int_equal(la->off, lb->off);
		assert_int_equal(la->len, lb->len);
	}
}

static void test_threads_store_as_none(void **state)
{
	struct repo_index *ix0 = NULL, *ix3 = NULL;
	struct json_object *ids0 = NULL, *ids3 = NULL;

	(void)state;
	assert_int_equal(run(0, 1 << 20, &ix0, &ids0), 0);
	assert_int_equal(run(3, 1 << 20, &ix3, &ids3), 0);
	check_ids(ids0);
	check_ids(ids3);
	/* N_CHUNKS minus the copies */
	assert_int_equal(ix0->count, N_CHUNKS - N_CHUNKS / 7);
	assert_true(ix0->npacks > 2);   /* several packs, through both writers */
	same_places(ix0, ix3);
	json_object_put(ids0);
	json_object_put(ids3);
	repo_index_free(ix0);
	repo_index_free(ix3);
}

/* A short pass stays on the caller's thread: the same result. */
static void test_short_pass(void **state)
{
	struct repo_index *ix0 = NULL, *ix2 = NULL;
	struct json_object *ids0 = NULL, *ids2 = NULL;

	(void)state;
	assert_int_equal(run(0, 1000, &ix0, &ids0), 0);
	assert_int_equal(run(2, 1000, &ix2, &ids2), 0);
	check_ids(ids2);
	same_places(ix0, ix2);
	json_object_put(ids0);
	json_object_put(ids2);
	repo_index_free(ix0);
	repo_index_free(ix2);
}

static void test_failing_chunk(void **state)
{
	struct repo_index *ix = NULL;
	struct json_object *ids = NULL;

	(void)state;
	setenv("PHIFS_BACKUP_TEST_FAIL_CHUNK", "50", 1);
	assert_int_equal(run(2, 1 << 20, &ix, &ids), -EIO);
	json_object_put(ids);
	repo_index_free(ix);
	assert_int_equal(run(0, 1 << 20, &ix, &ids), -EIO);
	json_object_put(ids);
	repo_index_free(ix);
	unsetenv("PHIFS_BACKUP_TEST_FAIL_CHUNK");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_store_as_none),
		cmocka_unit_test(test_short_pass),
		cmocka_unit_test(test_failing_chunk),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
