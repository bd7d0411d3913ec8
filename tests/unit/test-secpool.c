/* test-secpool.c: fs/secpool.c — zeroed slots, wiped on free, distinct across
 * chunk boundaries, size limit, and concurrent use. */
#include "config.h"
#include <pthread.h>
#include "testutil.h"
#include "secmem.h"
#include "secpool.h"

#define N 1000   /* several 256-slot chunks */

static void test_zeroed_distinct(void **state)
{
	static uint8_t *p[N];

	(void)state;
	for (int i = 0; i < N; i++) {
		p[i] = secpool_alloc(SECPOOL_SLOT);
		assert_non_null(p[i]);
		for (int j = 0; j < SECPOOL_SLOT; j++)
			assert_int_equal(p[i][j], 0);
		memset(p[i], 0xA5, SECPOOL_SLOT);
	}
	for (int i = 0; i < N; i++)
		for (int j = 0; j < SECPOOL_SLOT; j++)
			assert_int_equal(p[i][j], 0xA5);   /* no two slots overlap */
	for (int i = 0; i < N; i++)
		secpool_free(p[i]);
	/* Freed slots hold only the free-list link, never the old secret. */
	for (int i = 0; i < N; i++)
		for (int j = (int)sizeof(void *); j < SECPOOL_SLOT; j++)
			assert_int_equal(p[i][j], 0);
}

static void test_limits(void **state)
{
	(void)state;
	assert_null(secpool_alloc(SECPOOL_SLOT + 1));
	secpool_free(NULL);
}

static void *churn(void *arg)
{
	uint8_t tag = (uint8_t)(uintptr_t)arg;

	for (int r = 0; r < 20000; r++) {
		uint8_t *a = secpool_alloc(64), *b = secpool_alloc(200);

		if (!a || !b)
			return (void *)1;
		memset(a, tag, 64);
		memset(b, tag, 200);
		for (int j = 0; j < 64; j++)
			if (a[j] != tag || b[j] != tag)
				return (void *)1;
		secpool_free(a);
		secpool_free(b);
	}
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[4];
	void *ret;

	(void)state;
	for (uintptr_t i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, churn, (void *)(i + 1)), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zeroed_distinct),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_threads),
	};

	if (secmem_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
