/*
 * session.c: evicting and restoring the volume keys of a mounted daemon
 * (session.h). One watcher thread polls, once a second, the lock mark and the
 * unlock session in the kernel keyring and the idle clock; operations report
 * in through session_enter/leave.
 *
 * Eviction must not wipe a key under a thread that is using it, without a lock
 * on the hot path: a key-using operation first increments `inflight`, then
 * reads `state`; the evictor first sets `state`, then waits for `inflight` to
 * drain. With sequentially consistent atomics one of the two always sees the
 * other. Restoring happens only while evicted, when no key user is inside.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hook.h"
#include "keyring.h"
#include "keytab.h"
#include "log.h"
#include "session.h"

enum { S_OPEN, S_LOCKED, S_IDLE };

#define DRAIN_WAIT_MS 5000

static struct volume *s_vol;
static unsigned s_idle;
static atomic_int s_state = S_OPEN;
static atomic_long s_inflight;
static atomic_llong s_last;           /* CLOCK_MONOTONIC seconds of the last operation */
static atomic_int s_active;           /* an operation since the watcher last looked */
static atomic_int s_stop;
static pthread_t s_thread;
static int s_running;
static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;   /* evict/restore */

static long long now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

/* Operations that work on an open handle or on no name need no volume key. */
static int op_needs_keys(const char *op)
{
	if (op[0] == 'r' && op[1] == 'e' && op[2] == 'a' && op[3] == 'd' && !op[4])
		return 0;           /* the hot paths first: read, write */
	if (op[0] == 'w' && !strcmp(op, "write"))
		return 0;
	static const char *const free_ops[] = { "getattr", "read", "write", "release", "flush",
						"fsync", "statfs", "lseek", "fallocate",
						"releasedir", "fsyncdir", "forget", NULL };

	for (int i = 0; free_ops[i]; i++)
		if (!strcmp(op, free_ops[i]))
			return 0;
	return 1;
}

/* op: the key-operation name the audit sees; reason: for the log. */
static void evict(int why, const char *op, const char *reason)
{
	pthread_mutex_lock(&s_mu);
	if (atomic_load(&s_state) == S_OPEN) {
		atomic_store(&s_state, why);
		for (int ms = 0; atomic_load(&s_inflight) > 0 && ms < DRAIN_WAIT_MS; ms++)
			usleep(1000);
		if (atomic_load(&s_inflight) > 0)
			log_msg(LOG_WARNING, "evicting keys with %ld operation(s) still running",
				atomic_load(&s_inflight));
		keys_volume_evict(s_vol->keys);
		keytab_evict(s_vol->keytab);    /* its table key is loaded again on next use */
		log_msg(LOG_NOTICE, "volume keys evicted (%s): new opens are refused until "
			"`phifs unlock`", reason);
		hook_key_op(op, NULL, NULL, 0);
	}
	pthread_mutex_unlock(&s_mu);
}

/* 0 when the keys are back (or were never gone). */
static int restore(void)
{
	int ret = 0;

	pthread_mutex_lock(&s_mu);
	if (atomic_load(&s_state) != S_OPEN) {
		ret = keyring_is_locked(s_vol->cfg->volume_id) ? -EACCES
							       : volume_restore_from_keyring(s_vol);
		if (!ret) {
			atomic_store(&s_state, S_OPEN);
			log_msg(LOG_NOTICE, "volume keys restored from the kernel keyring");
			hook_key_op("restore", NULL, NULL, 0);
		}
	}
	pthread_mutex_unlock(&s_mu);
	return ret;
}

/* phifs.conf replaced (rotate-volume-key, rotate-kms): adopt new key
 * versions. Retried every tick until the key is in the keyring. */
static void watch_config(void)
{
	static struct stat seen;
	struct stat st;
	int ret;

	if (fstatat(s_vol->rootfd, FORMAT_CONFIG_FILE, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    (st.st_ino == seen.st_ino && st.st_mtim.tv_sec == seen.st_mtim.tv_sec &&
	     st.st_mtim.tv_nsec == seen.st_mtim.tv_nsec))
		return;
	pthread_mutex_lock(&s_mu);
	ret = atomic_load(&s_state) == S_OPEN ? volume_adopt_config(s_vol) : -EAGAIN;
	pthread_mutex_unlock(&s_mu);
	if (ret)
		return;
	if (seen.st_ino)
		log_msg(LOG_NOTICE, "adopted the volume config: primary key v%u",
			s_vol->cfg->primary_version);
	seen = st;
	(void)keyring_set_adopted(s_vol->cfg->volume_id, s_vol->cfg->primary_version);
}

static void watch_once(void)
{
	const uint8_t *vid = s_vol->cfg->volume_id;
	int state = atomic_load(&s_state);

	if (atomic_exchange(&s_active, 0))
		atomic_store(&s_last, now_s());

	if (state == S_OPEN)
		watch_config();
	if (state == S_OPEN) {
		if (keyring_is_locked(vid))
			evict(S_LOCKED, "evict-locked", "phifs lock");
		else if (s_vol->from_keyring &&
			 !keyring_present(vid, s_vol->cfg->primary_version))
			evict(S_LOCKED, "evict-expired", "the unlock session ended");
		else if (s_idle && now_s() - atomic_load(&s_last) >= (long long)s_idle)
			evict(S_IDLE, "evict-idle", "idle timeout");
	} else if (state == S_LOCKED && !keyring_is_locked(vid) &&
		   keyring_present(vid, s_vol->cfg->primary_version)) {
		(void)restore();   /* `phifs unlock` ran: serve again */
	}
}

static void *watcher(void *arg)
{
	(void)arg;
	while (!atomic_load(&s_stop)) {
		watch_once();
		sleep(1);
	}
	return NULL;
}

int session_start(struct volume *v, unsigned idle_s)
{
	int ret;

	s_vol = v;
	s_idle = idle_s;
	/* Unlocking through the KMS (or a passphrase) at mount lifts a `phifs lock`. */
	if (!v->from_keyring && keyring_set_locked(v->cfg->volume_id, 0) != 0)
		log_msg(LOG_WARNING, "cannot clear the lock mark in the kernel keyring");
	atomic_store(&s_last, now_s());
	atomic_store(&s_stop, 0);
	ret = pthread_create(&s_thread, NULL, watcher, NULL);
	if (ret)
		return -ret;
	s_running = 1;
	return 0;
}

void session_stop(void)
{
	if (!s_running)
		return;
	atomic_store(&s_stop, 1);
	pthread_join(s_thread, NULL);
	s_running = 0;
}

int session_enter(const char *op, int *held)
{
	*held = 0;
	if (!s_running)
		return 0;
	/* A flag the watcher clears each second, set only when clear: workers
	 * storing a clock to one cache line on every read would fight over it. */
	if (!atomic_load_explicit(&s_active, memory_order_relaxed))
		atomic_store_explicit(&s_active, 1, memory_order_relaxed);
	if (!op_needs_keys(op))
		return 0;
	for (int tries = 0; tries < 2; tries++) {
		atomic_fetch_add(&s_inflight, 1);
		if (atomic_load(&s_state) == S_OPEN) {
			*held = 1;
			return 0;
		}
		atomic_fetch_sub(&s_inflight, 1);
		/* Idle, or a renewed unlock session: back from the keyring if it can. */
		if (restore() != 0)
			break;
	}
	return -EACCES;
}

void session_leave(int held)
{
	if (held)
		atomic_fetch_sub(&s_inflight, 1);
}
