/* s3_url.h: parsing an S3 repository URL (see s3_url.c). */
#ifndef PHIFS_BACKUP_S3_URL_H
#define PHIFS_BACKUP_S3_URL_H

#include <stddef.h>

struct s3_url {
	char *endpoint;  /* "https://host[:port]": what libcurl connects to */
	char *host;      /* the Host header: "host[:port]" as given, IPv6 in brackets */
	char *bucket;
	char *prefix;    /* "" or "a/b/": every object name is prefixed by it */
	char *region;    /* ?region=, or NULL */
	char *ca_file;   /* ?ca=, or NULL */
	char *retain;    /* ?retain= (a duration, Object Lock), or NULL */
	int loopback;    /* host is 127.0.0.0/8, ::1 or localhost */
};

/* "s3:http(s)://HOST[:PORT]/BUCKET[/PREFIX][?region=R&ca=FILE&retain=D]".
 * Plain http only for loopback hosts. 0, or -EINVAL with a reason (never
 * holding credentials: a URL with "user@" is refused) in err. */
int s3_url_parse(const char *url, struct s3_url *u, char *err, size_t errlen);
void s3_url_free(struct s3_url *u);
/* 1 when host (no port; IPv6 without brackets) is a loopback name or address. */
int s3_url_host_is_loopback(const char *host);

#endif
