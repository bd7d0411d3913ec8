/*
 * cmd_policy.c: `phifs policy set|show|check` — the volume's access policy
 * (docs/OPERATIONS.md "Access policy", format in docs/FORMAT.md §11). set
 * checks the text and stores it under a MAC of the volume key; show prints the
 * stored text without a key; check verifies a stored policy (with the key) or
 * a file (without), and can answer "what would this access get?".
 *
 * Exit codes: 0 valid, 1 syntax error or unknown user/group names, 2 usage,
 * 3 key, 4 not a volume or the stored policy was modified (MAC mismatch).
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <pwd.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "policy.h"
#include "policy_store.h"
#include "volume.h"

static_assert(sizeof(gid_t) == sizeof(uint32_t), "policy_who.groups are gids");

/* A question for `check`: --user, --action, --path, --exe, --at. */
struct ask {
	const char *user, *action, *path, *exe, *at;
};

/* What set and check hold while they work; work_end releases it all. */
struct work {
	struct volume *v;
	int dfd;                  /* the cipher dir, readable (syncfs needs that) */
	struct policy *p;
	char *text;
	size_t len;
};

static int work_end(struct work *w, int ret)
{
	if (w->dfd >= 0)
		close(w->dfd);
	volume_close(w->v);
	policy_free(w->p);
	free(w->text);
	return ret;
}

static int read_text(const char *file, char **out, size_t *len)
{
	FILE *f = strcmp(file, "-") ? fopen(file, "re") : stdin;
	char *buf = malloc(POLICY_STORE_MAX + 1);
	int ret = 0;

	*out = NULL;
	if (!f || !buf) {
		ret = f ? -ENOMEM : -errno;
		goto out;
	}
	*len = fread(buf, 1, POLICY_STORE_MAX + 1, f);
	if (ferror(f))
		ret = -EIO;
	else if (*len > POLICY_STORE_MAX - 256)
		ret = -EFBIG;
out:
	if (f && f != stdin)
		fclose(f);
	if (ret) {
		warnx_phifs("%s: %s", file, strerror(-ret));
		free(buf);
		return EXIT_PROBLEMS;
	}
	buf[*len] = '\0';
	*out = buf;
	return EXIT_OK;
}

/* Parses and resolves; messages name lines, never their content. */
static int check_text(const char *what, const char *text, size_t len, struct policy **out)
{
	char err[128];
	int missing;

	if (policy_parse(text, len, out, err, sizeof(err))) {
		warnx_phifs("%s: %s", what, err);
		return EXIT_PROBLEMS;
	}
	missing = policy_resolve(*out);
	if (missing > 0) {
		warnx_phifs("%s: %d user or group names not found on this machine: "
			    "those rules never match", what, missing);
		return EXIT_PROBLEMS;
	}
	return EXIT_OK;
}

static int open_volume(const char *dir, const struct kms_opts *ko, struct volume **v, int *dfd)
{
	char err[256] = "";
	int ret = volume_open(dir, NULL, ko, v, err, sizeof(err));

	if (ret) {
		warnx_phifs("cannot open volume: %s", err[0] ? err : strerror(-ret));
		return exit_code_for(ret);
	}
	*dfd = openat((*v)->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dfd < 0) {
		warnx_phifs("%s: %s", dir, strerror(errno));
		return EXIT_VOLUME;
	}
	return EXIT_OK;
}

static int policy_set(const char *dir, const char *file, const struct kms_opts *ko)
{
	struct work w = { .dfd = -1 };
	int ret;

	ret = read_text(file, &w.text, &w.len);
	if (ret == EXIT_OK)
		ret = check_text(file, w.text, w.len, &w.p);
	if (ret == EXIT_OK)
		ret = open_volume(dir, ko, &w.v, &w.dfd);
	if (ret != EXIT_OK)
		return work_end(&w, ret);
	ret = policy_store_write(w.dfd, w.text, w.len, w.v->keys);
	if (ret) {
		warnx_phifs("cannot store the policy: %s", strerror(-ret));
		return work_end(&w, EXIT_PROBLEMS);
	}
	printf("access policy set: %zu rules\n", policy_rules(w.p));
	return work_end(&w, EXIT_OK);
}

static int policy_show(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret;
	char *text = NULL;
	size_t len;

	if (dfd < 0) {
		warnx_phifs("%s: %s", dir, strerror(errno));
		return EXIT_VOLUME;
	}
	ret = policy_store_read(dfd, NULL, &text, &len);
	close(dfd);
	if (ret == -ENOENT) {
		printf("# no access policy: every access permitted and audited\n");
		return EXIT_OK;
	}
	if (ret) {
		warnx_phifs("stored policy unreadable: %s", strerror(-ret));
		return EXIT_VOLUME;
	}
	fwrite(text, 1, len, stdout);
	fprintf(stderr, "phifs: MAC not checked here; `phifs policy check %s` verifies it\n", dir);
	free(text);
	return EXIT_OK;
}

static int ask_action(const char *s, enum policy_action *a)
{
	if (!strcmp(s, "read"))
		*a = POLICY_READ;
	else if (!strcmp(s, "write"))
		*a = POLICY_WRITE;
	else if (!strcmp(s, "metadata"))
		*a = POLICY_METADATA;
	else
		return -EINVAL;
	return 0;
}

/* Prints the decision for one access (`check --user ... --path ...`). */
static int answer(const struct policy *p, const struct ask *q)
{
	struct policy_who who = { .exe = q->exe };
	gid_t groups[256];
	int ngroups = 256;
	struct passwd *pw;
	struct policy_match m;
	enum policy_action a;
	enum policy_effect e;
	time_t now = time(NULL);
	char *end;

	if (ask_action(q->action ? q->action : "read", &a) || !q->path || q->path[0] != '/')
		return EXIT_USAGE;
	who.uid = (uint32_t)strtoul(q->user, &end, 10);
	pw = *end ? getpwnam(q->user) : getpwuid(who.uid);
	if (*end && !pw) {
		warnx_phifs("unknown user '%s'", q->user);
		return EXIT_USAGE;
	}
	if (pw) {
		who.uid = (uint32_t)pw->pw_uid;
		who.gid = (uint32_t)pw->pw_gid;
		/* supplementary groups as the kernel would see them after login */
		if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) >= 0) {
			who.groups = (const uint32_t *)groups;
			who.ngroups = (size_t)ngroups;
		}
	} else {
		who.gid = who.uid;
	}
	if (q->at) {
		struct tm tm = { 0 };

		if (!strptime(q->at, "%Y-%m-%dT%H:%M", &tm)) {
			warnx_phifs("--at: expected local time YYYY-MM-DDTHH:MM");
			return EXIT_USAGE;
		}
		tm.tm_isdst = -1;
		now = mktime(&tm);
	}
	e = policy_eval(p, &who, q->path, a, now, &m);
	printf("%s%s%s (%s%u)\n", policy_effect_name(e), m.learn ? ", learn: would deny" : "",
	       m.break_glass ? ", break-glass" : "", m.rule ? "rule " : "default, ", m.rule);
	return EXIT_OK;
}

static int store_error(int err)
{
	if (err == -ENOENT) {
		warnx_phifs("no access policy stored");
		return EXIT_PROBLEMS;
	}
	if (err == -EBADMSG)
		warnx_phifs("the stored policy was modified (MAC mismatch)");
	else if (err == -ENOKEY)
		warnx_phifs("the policy's volume key version is not available: set it again");
	else
		warnx_phifs("stored policy: %s", strerror(-err));
	return err == -ENOKEY ? EXIT_KEY : EXIT_VOLUME;
}

static int policy_check(const char *dir, const char *file, const struct kms_opts *ko,
			const struct ask *q)
{
	struct work w = { .dfd = -1 };
	int ret;

	if (file) {
		ret = read_text(file, &w.text, &w.len);
	} else {
		ret = open_volume(dir, ko, &w.v, &w.dfd);
		if (ret == EXIT_OK && (ret = policy_store_read(w.dfd, w.v->keys, &w.text, &w.len)))
			ret = store_error(ret);
	}
	if (ret == EXIT_OK)
		ret = check_text(file ? file : "stored policy", w.text, w.len, &w.p);
	if (ret == EXIT_OK && q->user)
		ret = answer(w.p, q);
	else if (ret == EXIT_OK)
		printf("access policy valid: %zu rules%s\n", policy_rules(w.p),
		       file ? "" : ", MAC verified");
	return work_end(&w, ret);
}

static int usage(FILE *f, int code)
{
	fprintf(f, "usage: phifs policy set [--passfile F | --extpass CMD] CIPHERDIR FILE|-\n"
		   "       phifs policy show CIPHERDIR\n"
		   "       phifs policy check [--passfile F | --extpass CMD] CIPHERDIR [FILE]\n"
		   "             [--user NAME|UID --path /P [--action read|write|metadata]\n"
		   "              [--exe PATH] [--at YYYY-MM-DDTHH:MM]]\n"
		   "exit: 0 valid, 1 invalid policy, 2 usage, 3 key, 4 not a volume or modified\n");
	return code;
}

int cmd_policy(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "passfile", required_argument, NULL, 'P' },
		{ "extpass", required_argument, NULL, 'E' },
		{ "user", required_argument, NULL, 'u' },
		{ "path", required_argument, NULL, 'p' },
		{ "action", required_argument, NULL, 'a' },
		{ "exe", required_argument, NULL, 'x' },
		{ "at", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	struct kms_opts ko = { 0 };
	struct ask q = { 0 };
	const char *verb;
	int opt, n;

	if (argc < 2)
		return usage(stderr, EXIT_USAGE);
	verb = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (kms_opt(opt, optarg, &ko))
			continue;
		switch (opt) {
		case 'u': q.user = optarg; break;
		case 'p': q.path = optarg; break;
		case 'a': q.action = optarg; break;
		case 'x': q.exe = optarg; break;
		case 't': q.at = optarg; break;
		case 'h': return usage(stdout, EXIT_OK);
		default: return usage(stderr, EXIT_USAGE);
		}
	}
	n = argc - optind;
	if (!strcmp(verb, "set") && n == 2)
		return policy_set(argv[optind], argv[optind + 1], &ko);
	if (!strcmp(verb, "show") && n == 1)
		return policy_show(argv[optind]);
	if (!strcmp(verb, "check") && (n == 1 || n == 2))
		return policy_check(argv[optind], n == 2 ? argv[optind + 1] : NULL, &ko, &q);
	return usage(stderr, EXIT_USAGE);
}
