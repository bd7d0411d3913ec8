/* repo_plainpath.h: plaintext path → backing path of a restored cipher
 * directory, with the volume key (repo_plainpath.c). */
#ifndef PHIFS_BACKUP_REPO_PLAINPATH_H
#define PHIFS_BACKUP_REPO_PLAINPATH_H

#include <stddef.h>

struct volume;

/* path: '/'-separated plaintext names below the volume root. out gets the
 * backing path below the cipher dir (encrypted names, long names as
 * phifs.ln.<h>). The cipher dir's directories and dir ids must exist.
 * 0, -ENOENT (a directory on the way is missing), -EINVAL (bad name). */
int repo_plainpath_map(struct volume *v, const char *path, char *out, size_t cap);

#endif
