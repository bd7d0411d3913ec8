/*
 * s3-probe.c: drives the S3 backend (tools/phifs-backup/backend_s3.c) through
 * the object contract of backend.h, for tests/sh/s3.sh and tests/sh/sync.sh
 * against a real s3rver. Not installed.
 *
 *   s3-probe URL put NAME FILE|-       s3-probe URL get NAME
 *   s3-probe URL range NAME OFF LEN    s3-probe URL stat NAME
 *   s3-probe URL list [PREFIX]         s3-probe URL del NAME
 *   s3-probe URL putmany PREFIX N SIZE (N objects, backend->concurrency threads)
 *   s3-probe URL lock                  ("object-lock on|off")
 * Exit: 0 ok, 1 other failure, 2 usage, 3 refused (-EACCES), 4 no such object.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_s3.h"
#include "secmem.h"

static int code_for(int err)
{
	return err == -EACCES ? 3 : err == -ENOENT ? 4 : err == -EINVAL ? 2 : 1;
}

static int read_all(const char *file, uint8_t **buf, size_t *len)
{
	FILE *f = strcmp(file, "-") ? fopen(file, "rb") : stdin;
	size_t cap = 0;

	*buf = NULL;
	*len = 0;
	if (!f)
		return -errno;
	for (;;) {
		if (*len == cap) {
			uint8_t *nb = realloc(*buf, cap = cap ? 2 * cap : 65536);

			if (!nb)
				return -ENOMEM;
			*buf = nb;
		}
		size_t n = fread(*buf + *len, 1, cap - *len, f);

		if (n == 0)
			break;
		*len += n;
	}
	if (f != stdin)
		fclose(f);
	return 0;
}

static int print_entry(void *arg, const char *name, uint64_t size)
{
	(void)arg;
	printf("%s %" PRIu64 "\n", name, size);
	return 0;
}

struct many {
	struct backend *b;
	const char *prefix;
	long n;
	size_t size;
	atomic_long next;
	atomic_int err;
};

static void *put_worker(void *arg)
{
	struct many *m = arg;
	uint8_t *buf = malloc(m->size ? m->size : 1);
	char name[256];
	long i;

	if (!buf) {
		atomic_store(&m->err, -ENOMEM);
		return NULL;
	}
	while ((i = atomic_fetch_add(&m->next, 1)) < m->n && !atomic_load(&m->err)) {
		int ret;

		for (size_t k = 0; k < m->size; k++)
			buf[k] = (uint8_t)(i * 31 + (long)k);
		snprintf(name, sizeof(name), "%s%06ld", m->prefix, i);
		ret = backend_put(m->b, name, buf, m->size);
		if (ret)
			atomic_store(&m->err, ret);
	}
	free(buf);
	return NULL;
}

static int put_many(struct backend *b, const char *prefix, long n, size_t size)
{
	struct many m = { .b = b, .prefix = prefix, .n = n, .size = size };
	pthread_t t[16];
	int nt = b->concurrency < 16 ? b->concurrency : 16, started = 0;

	for (; started < nt; started++)
		if (pthread_create(&t[started], NULL, put_worker, &m))
			break;
	if (started == 0)
		put_worker(&m);
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	return atomic_load(&m.err);
}

static int run(struct backend *b, int argc, char **argv)
{
	const char *op = argv[2];
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t size;
	int ret = -EINVAL;

	if (!strcmp(op, "put") && argc == 5) {
		ret = read_all(argv[4], &buf, &len);
		if (!ret)
			ret = backend_put(b, argv[3], buf, len);
	} else if (!strcmp(op, "get") && argc == 4) {
		ret = backend_get(b, argv[3], &buf, &len);
		if (!ret && fwrite(buf, 1, len, stdout) != len)
			ret = -EIO;
	} else if (!strcmp(op, "range") && argc == 6) {
		uint64_t off = strtoull(argv[4], NULL, 10);

		len = strtoul(argv[5], NULL, 10);
		buf = malloc(len ? len : 1);
		ret = buf ? backend_get_range(b, argv[3], off, len, buf) : -ENOMEM;
		if (!ret && fwrite(buf, 1, len, stdout) != len)
			ret = -EIO;
	} else if (!strcmp(op, "stat") && argc == 4) {
		ret = backend_stat(b, argv[3], &size);
		if (!ret)
			printf("%" PRIu64 "\n", size);
	} else if (!strcmp(op, "list") && (argc == 3 || argc == 4)) {
		ret = backend_list(b, argc == 4 ? argv[3] : "", print_entry, NULL);
	} else if (!strcmp(op, "del") && argc == 4) {
		ret = backend_del(b, argv[3]);
	} else if (!strcmp(op, "putmany") && argc == 6) {
		ret = put_many(b, argv[3], strtol(argv[4], NULL, 10), strtoul(argv[5], NULL, 10));
	} else if (!strcmp(op, "lock") && argc == 3) {
		printf("object-lock %s\n", backend_s3_object_lock(b) ? "on" : "off");
		ret = 0;
	}
	free(buf);
	return ret;
}

int main(int argc, char **argv)
{
	struct backend *b = NULL;
	int ret;

	if (argc < 3) {
		fprintf(stderr, "usage: s3-probe URL put|get|range|stat|list|del|putmany|lock ...\n");
		return 2;
	}
	if (secmem_init() != 0)
		return 1;
	ret = backend_s3_open(argv[1], &b);
	if (!ret)
		ret = run(b, argc, argv);
	if (ret)
		fprintf(stderr, "s3-probe: %s: %s\n", argv[2], strerror(-ret));
	backend_close(b);
	return ret ? code_for(ret) : 0;
}
