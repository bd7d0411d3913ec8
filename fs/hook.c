/*
 * hook.c: the process-wide door for security events (integrity failures of
 * docs/FORMAT.md §5.3). Owns the current handler and the default one, which
 * writes a single line naming the file id and block number to stderr: never a
 * file name, path or content (PHI). Key operations (rotation, unlock, lock)
 * pass through the same door; by default they become one log line with the
 * key ids. The audit module installs its own handlers.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>

#include "hook.h"
#include "log.h"

static void hook_default(void *arg, const uint8_t file_id[FORMAT_ID_LEN], uint64_t blockno,
			 const char *what);

/* Guarded by hook_lock; failures are rare, so a mutex costs nothing. */
static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static hook_integrity_fn hook_fn = hook_default;
static void *hook_arg;

static void hook_default(void *arg, const uint8_t file_id[FORMAT_ID_LEN], uint64_t blockno,
			 const char *what)
{
	char hex[2 * FORMAT_ID_LEN + 1];

	(void)arg;
	for (int i = 0; i < FORMAT_ID_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", file_id[i]);
	fprintf(stderr, "phifs: integrity failure: file %s block %llu: %s\n", hex,
		(unsigned long long)blockno, what ? what : "unknown");
}

/* fn NULL restores the default handler. */
void hook_set_integrity(hook_integrity_fn fn, void *arg)
{
	pthread_mutex_lock(&hook_lock);
	hook_fn = fn ? fn : hook_default;
	hook_arg = fn ? arg : NULL;
	pthread_mutex_unlock(&hook_lock);
}

void hook_integrity_failure(const uint8_t file_id[FORMAT_ID_LEN], uint64_t blockno,
			    const char *what)
{
	hook_integrity_fn fn;
	void *arg;

	/* Call outside the lock so a handler may itself (re)set the hook. */
	pthread_mutex_lock(&hook_lock);
	fn = hook_fn;
	arg = hook_arg;
	pthread_mutex_unlock(&hook_lock);
	fn(arg, file_id, blockno, what);
}

static void hook_key_default(void *arg, const char *op, const char *from, const char *to,
			     int result)
{
	(void)arg;
	log_msg(result ? LOG_WARNING : LOG_INFO, "key operation %s%s%s%s%s: %s", op,
		from ? " from " : "", from ? from : "", to ? " to " : "", to ? to : "",
		result ? "failed" : "done");
}

static hook_key_fn hook_key = hook_key_default;
static void *hook_key_arg;

/* fn NULL restores the default handler. */
void hook_set_key(hook_key_fn fn, void *arg)
{
	pthread_mutex_lock(&hook_lock);
	hook_key = fn ? fn : hook_key_default;
	hook_key_arg = fn ? arg : NULL;
	pthread_mutex_unlock(&hook_lock);
}

void hook_key_op(const char *op, const char *from, const char *to, int result)
{
	hook_key_fn fn;
	void *arg;

	pthread_mutex_lock(&hook_lock);
	fn = hook_key;
	arg = hook_key_arg;
	pthread_mutex_unlock(&hook_lock);
	fn(arg, op, from, to, result);
}
