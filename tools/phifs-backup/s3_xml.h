/* s3_xml.h: the few S3 XML responses the backend reads (see s3_xml.c). */
#ifndef PHIFS_BACKUP_S3_XML_H
#define PHIFS_BACKUP_S3_XML_H

#include <stddef.h>
#include <stdint.h>

#define S3_XML_TOKEN_MAX 1024  /* bytes of a continuation token we accept */

struct s3_list_page {
	int truncated;                        /* IsTruncated was "true" */
	char next_token[S3_XML_TOKEN_MAX + 1]; /* NextContinuationToken, "" if none */
};

/* One ListObjectsV2 response page: cb(arg, key, size) for each <Contents>
 * (key entity-decoded, NUL-terminated); a non-zero cb result stops and is
 * returned. -EPROTO on malformed XML, a bad size or an over-long key/token. */
int s3_xml_list_page(const char *xml, size_t len,
		     int (*cb)(void *arg, const char *key, uint64_t size), void *arg,
		     struct s3_list_page *pg);
/* Text of the first <tag>...</tag> anywhere in xml, entity-decoded, into out
 * (cap bytes with the NUL). -ENOENT if absent, -EPROTO if malformed or too long. */
int s3_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t cap);

#endif
