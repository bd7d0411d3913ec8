/*
 * common.c: helpers shared by the phifs subcommands — fatal errors (only tools
 * may exit), mapping library errors to documented exit codes, KMS options.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "common.h"
#include "secmem.h"
#include "volume.h"

static void vwarn_phifs(const char *fmt, va_list ap)
{
	fputs("phifs: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void warnx_phifs(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn_phifs(fmt, ap);
	va_end(ap);
}

void die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn_phifs(fmt, ap);
	va_end(ap);
	exit(code);
}

int exit_code_for(int err)
{
	switch (err) {
	case -EKEYREJECTED:
	case -ENOKEY:
	case -EACCES:
	case -ECONNREFUSED:
	case -ETIMEDOUT:
	case -EHOSTUNREACH:
	case -ECONNRESET:
		return EXIT_KEY;
	case -ENOENT:
	case -EBADMSG:
	case -EPROTO:
		return EXIT_VOLUME;
	default:
		return EXIT_PROBLEMS;
	}
}

int kms_opt(int opt, const char *arg, struct kms_opts *o)
{
	switch (opt) {
	case 'P':
		o->passfile = arg;
		return 1;
	case 'E':
		o->extpass = arg;
		return 1;
	default:
		return 0;
	}
}

double tool_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int parse_duration(const char *s, int64_t *out)
{
	char *end;
	long long v;
	int64_t unit = 1;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v <= 0)
		return -EINVAL;
	if (*end == 'd')
		unit = 86400;
	else if (*end == 'h')
		unit = 3600;
	else if (*end == 'm')
		unit = 60;
	else if (*end != 's' && *end != '\0')
		return -EINVAL;
	if (*end && end[1])
		return -EINVAL;
	if (v > INT64_MAX / unit)
		return -EINVAL;
	*out = v * unit;
	return 0;
}

void tool_make_key_dir(const char *uri)
{
	char *copy;

	if (strncmp(uri, "local:", 6) != 0)
		return;
	copy = strdup(uri + 6);
	if (!copy)
		return;
	if (mkdir(dirname(copy), 0700) < 0 && errno != EEXIST)
		warnx_phifs("cannot create the key file's directory: %s", strerror(errno));
	free(copy);
}

int hex_id(const unsigned char *id, size_t len, char *out, size_t cap)
{
	if (cap < 2 * len + 1)
		return -ENOSPC;
	sodium_bin2hex(out, cap, id, len);
	return 0;
}

static void tool_usage(FILE *f, const char *prog, const struct tool_cmd *cmds, size_t n)
{
	fprintf(f, "usage: %s <command> [options]\n\ncommands:\n", prog);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-18s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\n%s <command> --help shows a command's options. Version %s.\n", prog,
		PACKAGE_VERSION);
}

int tool_main(const char *prog, const struct tool_cmd *cmds, size_t n, int argc, char **argv)
{
	if (argc < 2) {
		tool_usage(stderr, prog, cmds, n);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		tool_usage(stdout, prog, cmds, n);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("%s %s (format v1)\n", prog, PACKAGE_VERSION);
		return EXIT_OK;
	}
	if (secmem_init() != 0)
		die(EXIT_PROBLEMS, "cannot initialise libsodium");
	if (secmem_no_dumps() != 0)
		die(EXIT_PROBLEMS, "cannot disable core dumps");
	for (size_t i = 0; i < n; i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'\n", prog, argv[1]);
	tool_usage(stderr, prog, cmds, n);
	return EXIT_USAGE;
}

int tool_config_read(const char *dir, struct format_config *c)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), ret;

	if (fd < 0) {
		warnx_phifs("%s: %s", dir, strerror(errno));
		return EXIT_VOLUME;
	}
	ret = volume_config_read(fd, c);
	close(fd);
	if (ret == -ENOENT)
		warnx_phifs("%s is not a phifs volume", dir);
	else if (ret)
		warnx_phifs("%s: config unreadable or unsupported: %s", dir, strerror(-ret));
	return ret ? EXIT_VOLUME : EXIT_OK;
}

int tool_report_due(double *last, double now, int json, int final)
{
	if (!final && now - *last < (json ? 1.0 : 0.2))
		return 0;
	*last = now;
	return 1;
}

struct audit_tool *tool_audit_open(const char *audit_arg, const char *dir, int fail_closed)
{
	struct format_config *cfg = calloc(1, sizeof(*cfg));
	struct audit_tool *t = NULL;
	char err[1200] = "";
	int ret;

	if (!cfg)
		die(EXIT_PROBLEMS, "out of memory");
	if (tool_config_read(dir, cfg) != EXIT_OK) {
		free(cfg);
		exit(EXIT_VOLUME);
	}
	ret = audit_tool_open(audit_arg, cfg->volume_id, &t, err, sizeof(err));
	free(cfg);
	/* Fail closed: a key operation nobody could audit does not happen. */
	if (ret && !fail_closed)
		warnx_phifs("warning: audit: %s; proceeding without an audit record", err);
	else if (ret)
		die(EXIT_PROBLEMS, "audit: %s; refusing to proceed without an audit record "
		    "(--audit DIR elsewhere, or --audit off)", err);
	return t;
}
