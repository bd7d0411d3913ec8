/*
 * fileio_keyinfo.c: the key facts of an open file that crypto-shredding needs
 * (docs/FORMAT.md §12.4): file id, header flags, key-table slot. Header fields
 * only; never a key byte.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "fileio.h"
#include "fileio_int.h"

void fileio_keyinfo(struct fileio *f, struct fileio_keyinfo *out)
{
	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&f->lock);
	memcpy(out->file_id, f->hdr.file_id, FORMAT_ID_LEN);
	out->flags = f->hdr.flags;
	out->keytab_slot = f->hdr.keytab_slot;
	pthread_rwlock_unlock(&f->lock);
}
