/*
 * cmd_fsck.c: `phifs fsck` — unlock a volume and verify all of it (fs/fsck.c).
 * Problems are named by backing path and file id; plaintext paths (which can
 * be PHI) only with --show-paths. Progress goes to stderr on a terminal;
 * --json prints one JSON object per problem and a summary object last.
 * Exit: 0 clean, 1 problems found, 3 cannot unlock, 4 not a volume.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "audit.h"
#include "common.h"
#include "fsck.h"

struct fsck_ui {
	int json;
	int show_paths;
	int progress;                /* stderr is a terminal */
	time_t last;
	const char *dir;
};

static void on_problem(void *arg, const struct fsck_problem *p)
{
	struct fsck_ui *ui = arg;
	char id[2 * FORMAT_ID_LEN + 1] = "";

	if (p->file_id)
		hex_id(p->file_id, FORMAT_ID_LEN, id, sizeof(id));
	if (ui->progress)
		fputs("\r\033[K", stderr);
	if (ui->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "type", json_object_new_string("problem"));
		json_object_object_add(o, "backing", json_object_new_string(p->backing));
		if (ui->show_paths && p->plain)
			json_object_object_add(o, "path", json_object_new_string(p->plain));
		if (id[0])
			json_object_object_add(o, "file_id", json_object_new_string(id));
		if (p->block >= 0)
			json_object_object_add(o, "block", json_object_new_int64(p->block));
		json_object_object_add(o, "problem", json_object_new_string(p->what));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		return;
	}
	printf("CORRUPT %s%s%s", ui->dir, p->backing, p->block >= 0 ? "" : "");
	if (p->block >= 0)
		printf(" block %lld", (long long)p->block);
	printf(": %s", p->what);
	if (id[0])
		printf(" (file id %s)", id);
	if (ui->show_paths && p->plain)
		printf(" [path %s]", p->plain);
	printf("\n");
}

static void on_progress(void *arg, const struct fsck_stats *s)
{
	struct fsck_ui *ui = arg;
	time_t now = time(NULL);

	if (!ui->progress || now == ui->last)
		return;
	ui->last = now;
	fprintf(stderr, "\r\033[Kchecked %llu files, %llu dirs, %.1f MiB",
		(unsigned long long)s->files, (unsigned long long)s->dirs,
		(double)s->bytes / 1048576.0);
}

static void summary(const struct fsck_ui *ui, const struct fsck_stats *s)
{
	if (ui->progress)
		fputs("\r\033[K", stderr);
	if (ui->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "type", json_object_new_string("summary"));
		json_object_object_add(o, "dirs", json_object_new_int64((int64_t)s->dirs));
		json_object_object_add(o, "files", json_object_new_int64((int64_t)s->files));
		json_object_object_add(o, "symlinks", json_object_new_int64((int64_t)s->symlinks));
		json_object_object_add(o, "bytes", json_object_new_int64((int64_t)s->bytes));
		json_object_object_add(o, "problems", json_object_new_int64((int64_t)s->problems));
		json_object_object_add(o, "leftovers", json_object_new_int64((int64_t)s->leftovers));
		json_object_object_add(o, "journal_replayed",
				       json_object_new_int64((int64_t)s->replayed));
		json_object_object_add(o, "shredded", json_object_new_int64((int64_t)s->shredded));
		json_object_object_add(o, "mounted", json_object_new_boolean(s->mounted));
		json_object_object_add(o, "clean", json_object_new_boolean(s->problems == 0));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		return;
	}
	printf("%s: %llu directories, %llu files, %llu symlinks, %.1f MiB verified: %s\n", ui->dir,
	       (unsigned long long)s->dirs, (unsigned long long)s->files,
	       (unsigned long long)s->symlinks, (double)s->bytes / 1048576.0,
	       s->problems ? "PROBLEMS FOUND" : "clean");
	if (s->mounted)
		printf("note: the volume is mounted (a phifs daemon holds its lock); writes in "
		       "flight may show as problems: unmount for a definitive check\n");
	if (s->leftovers)
		printf("%llu crash leftover(s): orphaned long-name side files, half-built or id-less empty "
		       "directories (harmless; cleared by use or by rmdir of their directory)\n",
		       (unsigned long long)s->leftovers);
	if (s->replayed)
		printf("undid %llu write(s) a crash interrupted (write journal)\n",
		       (unsigned long long)s->replayed);
	if (s->shredded)
		printf("%llu shredded file(s): their key-table slots were destroyed "
		       "(phifs-keys shred); they can never be read again: remove them\n",
		       (unsigned long long)s->shredded);
	if (s->problems)
		printf("%llu problem(s)%s\n", (unsigned long long)s->problems,
		       ui->show_paths ? "" : "; --show-paths prints plaintext paths (may be PHI)");
}

/* The audit record's counts: problems found; repairs are replayed journal writes. */
static struct json_object *fsck_fields(const struct fsck_stats *s)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "problems", json_object_new_int64((int64_t)s->problems));
	json_object_object_add(o, "repaired", json_object_new_int64((int64_t)s->replayed));
	return o;
}

int cmd_fsck(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "show-paths", no_argument, NULL, 's' },
		{ "kms", required_argument, NULL, 'k' },
		{ "passfile", required_argument, NULL, 'P' },
		{ "extpass", required_argument, NULL, 'E' },
		{ "audit", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	struct fsck_ui ui = { 0 };
	struct fsck_cb cb = { on_problem, on_progress, &ui };
	struct fsck_stats st;
	struct kms_opts ko = { 0 };
	const char *kms = NULL;
	struct volume *v = NULL;
	char err[1024] = "";
	struct audit_tool *at;
	const char *audit = NULL;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (kms_opt(opt, optarg, &ko))
			continue;
		switch (opt) {
		case 'j': ui.json = 1; break;
		case 's': ui.show_paths = 1; break;
		case 'k': kms = optarg; break;
		case 'A': audit = optarg; break;
		case 'h':
			printf("usage: phifs fsck [--json] [--show-paths] [--kms URI] "
			       "[--passfile F | --extpass CMD] [--audit DIR|off] CIPHERDIR\n");
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		die(EXIT_USAGE, "usage: phifs fsck [options] CIPHERDIR");
	ui.dir = argv[optind];
	ui.progress = isatty(2) && !ui.json;
	at = tool_audit_open(audit, ui.dir, 1);
	ret = volume_open(ui.dir, kms, &ko, &v, err, sizeof(err));
	if (ret) {
		audit_tool_event(at, "fsck", NULL, ret);
		die(exit_code_for(ret), "cannot open volume: %s", err[0] ? err : strerror(-ret));
	}
	ret = fsck_run(v, &cb, &st);
	volume_close(v);
	audit_tool_event(at, "fsck", ret ? NULL : fsck_fields(&st), ret);
	audit_tool_close(at);
	if (ret)
		die(EXIT_PROBLEMS, "fsck could not walk %s: %s", ui.dir, strerror(-ret));
	summary(&ui, &st);
	return st.problems ? EXIT_PROBLEMS : EXIT_OK;
}
