/*
 * s3_curl.h: libcurl, loaded the first time an S3 repository is used (see
 * s3_curl.c). Spec: docs/OPERATIONS.md "Backup to S3 and cross-region sync".
 */
#ifndef PHIFS_S3_CURL_H
#define PHIFS_S3_CURL_H

#include <curl/curl.h>

/* The libcurl calls s3_http.c makes, by name without the curl_ prefix. */
struct s3_curl {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	void (*easy_reset)(CURL *h);
	void (*easy_cleanup)(CURL *h);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
};

/* libcurl loaded and initialised (curl_global_init) once per process; *out
 * is then valid until exit. 0, or -ELIBACC when libcurl cannot be loaded or
 * lacks a function (the message, which names no repository, is in
 * s3_curl_error()), or -EIO when it fails to initialise. */
int s3_curl_load(const struct s3_curl **out);
/* Why the last s3_curl_load failed, for the user ("" after a success). */
const char *s3_curl_error(void);

#endif
