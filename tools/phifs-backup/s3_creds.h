/* s3_creds.h: AWS credentials for the S3 backend (see s3_creds.c). */
#ifndef PHIFS_BACKUP_S3_CREDS_H
#define PHIFS_BACKUP_S3_CREDS_H

#include <stddef.h>

struct s3_creds {
	char *access_key;  /* malloc'd: an identifier, logged nowhere anyway */
	char *secret;      /* secmem_alloc'd, NUL-terminated, wiped on free */
	size_t secret_len;
	char *token;       /* secmem_alloc'd session token, or NULL */
};

/* From AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), else
 * the credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials,
 * profile AWS_PROFILE or "default"). 0, or -ENOKEY / -EINVAL / -errno with a
 * reason in err (never holding the secret). */
int s3_creds_load(struct s3_creds *c, char *err, size_t errlen);
void s3_creds_free(struct s3_creds *c);

#endif
