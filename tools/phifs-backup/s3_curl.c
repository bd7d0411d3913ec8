/*
 * s3_curl.c: libcurl, loaded the first time an S3 repository is used.
 *
 * phifs-backup is linked without libcurl: a run on a directory repository —
 * the cron job's usual case — starts without libcurl and the ~25 libraries
 * it brings (TLS, HTTP/2, IDN, LDAP, SSH, ...), which after the caches are
 * cold cost ~20 ms of a backup whose incremental runs take ~0.2 s
 * (docs/PERFORMANCE.md "Backups"). The S3 backend (s3_http.c, the one door
 * to libcurl) calls through the table this file fills with dlopen/dlsym, once
 * per process, and runs curl_global_init there. The soname is libcurl's ABI
 * 4, the one Debian's libcurl4 ships and configure checked the headers of.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "s3_curl.h"

#define S3_CURL_SONAME "libcurl.so.4"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static struct s3_curl api;
static int load_ret;
static char load_err[256];

/* dlsym of name into *slot; 0 or -ELIBACC (load_err says which). */
static int sym(void *lib, const char *name, void *slot)
{
	void *f = dlsym(lib, name);

	if (!f) {
		snprintf(load_err, sizeof(load_err), "%s has no %s", S3_CURL_SONAME, name);
		return -ELIBACC;
	}
	memcpy(slot, &f, sizeof(f));   /* object pointer → function pointer, as POSIX allows */
	return 0;
}

static void load(void)
{
	void *lib = dlopen(S3_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	int ret = 0;

	if (!lib) {
		snprintf(load_err, sizeof(load_err), "cannot load %s (install libcurl4): %s",
			 S3_CURL_SONAME, dlerror());
		load_ret = -ELIBACC;
		return;
	}
	ret = ret ? ret : sym(lib, "curl_global_init", &api.global_init);
	ret = ret ? ret : sym(lib, "curl_easy_init", &api.easy_init);
	ret = ret ? ret : sym(lib, "curl_easy_setopt", &api.easy_setopt);
	ret = ret ? ret : sym(lib, "curl_easy_perform", &api.easy_perform);
	ret = ret ? ret : sym(lib, "curl_easy_getinfo", &api.easy_getinfo);
	ret = ret ? ret : sym(lib, "curl_easy_reset", &api.easy_reset);
	ret = ret ? ret : sym(lib, "curl_easy_cleanup", &api.easy_cleanup);
	ret = ret ? ret : sym(lib, "curl_easy_strerror", &api.easy_strerror);
	ret = ret ? ret : sym(lib, "curl_slist_append", &api.slist_append);
	ret = ret ? ret : sym(lib, "curl_slist_free_all", &api.slist_free_all);
	if (!ret && api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(load_err, sizeof(load_err), "libcurl failed to initialise");
		ret = -EIO;
	}
	/* Kept loaded until exit even on failure: handles may outlive a caller. */
	load_ret = ret;
}

int s3_curl_load(const struct s3_curl **out)
{
	pthread_once(&load_once, load);
	*out = load_ret ? NULL : &api;
	return load_ret;
}

const char *s3_curl_error(void)
{
	return load_ret ? load_err : "";
}
