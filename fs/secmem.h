/* secmem.h: secret buffers (see secmem.c). */
#ifndef PHIFS_SECMEM_H
#define PHIFS_SECMEM_H

#include <stddef.h>

int secmem_init(void);
void *secmem_alloc(size_t len);
void secmem_free(void *p);
void secmem_wipe(void *p, size_t len);
int secmem_equal(const void *a, const void *b, size_t len);
/* Core dumps off (PR_SET_DUMPABLE=0, RLIMIT_CORE=0): every process holding keys. */
int secmem_no_dumps(void);
/* mlockall: best effort, so plaintext buffers and key schedules stay out of swap. */
int secmem_lock_all(void);

#endif
