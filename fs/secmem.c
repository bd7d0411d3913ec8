/*
 * secmem.c: the one door to libsodium's guarded memory.
 *
 * Owns every buffer that holds key material: sodium_malloc gives guard pages,
 * mlock (never swapped) and MADV_DONTDUMP; secmem_free wipes before release.
 * It deliberately knows nothing about what the bytes mean (keys.c does).
 * See docs/THREAT_MODEL.md "Keys in memory".
 */
#include "config.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sodium.h>

#include "secmem.h"

int secmem_init(void)
{
	if (sodium_init() < 0)
		return -EIO;
	return 0;
}

void *secmem_alloc(size_t len)
{
	return sodium_malloc(len);
}

void secmem_free(void *p)
{
	/* sodium_free wipes the region before unmapping it; it takes NULL. */
	sodium_free(p);
}

void secmem_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}

/* Constant-time comparison: returns 1 when equal, 0 otherwise. */
int secmem_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

/*
 * No core dumps and no ptrace attach by other users: a core of the daemon
 * would hold keys and plaintext (PHI). Every page the daemon touches is also
 * locked (on fault, so idle thread stacks cost nothing): OpenSSL's key
 * schedules and the plaintext in request buffers live outside secmem, and must
 * not reach swap either. Returns -errno if locking failed (limits), so the
 * caller can warn; dumps are disabled regardless.
 */
int secmem_no_dumps(void)
{
	struct rlimit rl = { 0, 0 };

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	if (setrlimit(RLIMIT_CORE, &rl) < 0)
		return -errno;
	return 0;
}

int secmem_lock_all(void)
{
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0)
		return -errno;
	return 0;
}
