/*
 * cmd_status.c: `phifs-keys status [--json] [--max-age AGE] [--no-kms]
 * CIPHERDIR` — what an auditor asks of a volume's keys: every volume-key
 * version (state, age, the KEK that wraps it), the KEKs as the KMS describes
 * them, and how many files each volume-key version wraps. Reads the config and
 * the 176-byte file headers only: no key is unwrapped, nothing is written.
 * Files are also counted per data-key generation (OPERATIONS.md "Crypto-
 * shredding"): a data key from the wrapped header key alone, whatever wraps
 * it (made before enable-shred: not shreddable until rekeyed), or mixed with a
 * key-table slot (FORMAT.md §12.5: shreddable); the table's epoch is read
 * from its header.
 * Exit 3 when any key in use is older than --max-age, so cron can alert.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "../phifs/common.h"
#include "fdio.h"
#include "format.h"
#include "keyscmd.h"
#include "keytab.h"
#include "kms.h"
#include "names.h"
#include "volume.h"

struct status {
	struct format_config cfg;
	uint64_t files, unreadable, per_version[FORMAT_MAX_SLOTS], other_version;
	uint64_t per_kek[FORMAT_MAX_KEKS];   /* per-file KMS mode: headers per KEK entry */
	uint64_t gen_plain, gen_keytab;  /* files per data-key generation (§12.5) */
	int64_t keytab_epoch;            /* -1: no key table */
	struct kms_key_info kek[FORMAT_MAX_SLOTS];
	int kek_ok[FORMAT_MAX_SLOTS];
	int64_t now, max_age;      /* max_age 0: no limit */
	int json, progress, too_old;
	void *seen;                /* inodes with several links, counted once */
};

static struct status *st_walk;   /* nftw has no user pointer */

static int cmp_ino(const void *a, const void *b)
{
	const ino_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* 1 if this inode was counted already. */
static int seen_before(struct status *s, const struct stat *sb)
{
	ino_t *k;
	void *r;

	if (sb->st_nlink < 2)
		return 0;
	k = malloc(sizeof(*k));
	if (!k)
		return 0;
	*k = sb->st_ino;
	r = tsearch(k, &s->seen, cmp_ino);
	if (r && *(ino_t **)r != k) {
		free(k);
		return 1;
	}
	return 0;
}

static void count_header(struct status *s, const char *path)
{
	uint8_t buf[FORMAT_HEADER_LEN];
	struct format_header h;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), i;

	if (fd < 0 || fdio_pread(fd, buf, sizeof(buf), 0, &got) != 0 || got != sizeof(buf) ||
	    format_header_decode(buf, sizeof(buf), &h) != 0) {
		s->unreadable++;
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	if (h.flags & FORMAT_HDR_KEYTAB)
		s->gen_keytab++;
	else
		s->gen_plain++;
	if (h.wrap_kind == FORMAT_WRAP_KMS) {
		/* Per-file KMS (FORMAT.md §4.4): bytes 24..27 name a KEK entry. */
		for (i = 0; i < s->cfg.n_keks; i++)
			if (s->cfg.keks[i].ref == h.wrap_key_version)
				break;
		if (i < s->cfg.n_keks)
			s->per_kek[i]++;
		else
			s->other_version++;
		return;
	}
	for (i = 0; i < s->cfg.n_slots; i++)
		if (s->cfg.slots[i].version == h.wrap_key_version)
			break;
	if (i < s->cfg.n_slots)
		s->per_version[i]++;
	else
		s->other_version++;
}

static int visit(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	const char *base = path + ftw->base;
	struct status *s = st_walk;

	if (ftw->level > 0 && names_is_reserved(base) && !names_is_long(base))
		return type == FTW_D ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
	if (type != FTW_F || !S_ISREG(sb->st_mode) || seen_before(s, sb))
		return FTW_CONTINUE;
	s->files++;
	count_header(s, path);
	if (s->progress && s->files % 1000 == 0)
		fprintf(stderr, "\rscanned %llu files", (unsigned long long)s->files);
	return FTW_CONTINUE;
}

/* Ask the KMS about each slot's KEK; an unreachable KMS is a warning only. */
static void describe_keks(struct status *s, const char *kms_uri)
{
	struct kms_opts ko = { 0 };
	struct kms *k = NULL;
	int ret;

	if (!strncmp(kms_uri, "passphrase", 10))
		return;     /* would prompt, and a passphrase has no KMS-side age */
	ret = kms_open(kms_uri, &ko, &k);
	if (ret) {
		warnx_phifs("KMS %s not reachable (%s): KEK ages not checked", kms_uri,
			    strerror(-ret));
		return;
	}
	for (unsigned i = 0; i < s->cfg.n_slots; i++) {
		if (s->cfg.slots[i].state == FORMAT_SLOT_RETIRED)
			continue;
		s->kek_ok[i] = kms_describe(k, s->cfg.slots[i].kek_id, &s->kek[i]) == 0;
	}
	kms_close(k);
}

static void iso(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "unknown");
}

static int64_t age_of(const struct status *s, int64_t created)
{
	return created > 0 && s->now > created ? s->now - created : 0;
}

/* Marks the status too old when a key in use passed --max-age. */
static int check_age(struct status *s, int64_t created)
{
	int old = s->max_age > 0 && age_of(s, created) > s->max_age;

	s->too_old |= old;
	return old;
}

static void print_text(struct status *s, const char *dir)
{
	char when[32];

	printf("volume: %s\nvolume keys:\n", dir);
	for (unsigned i = 0; i < s->cfg.n_slots; i++) {
		const struct format_slot *sl = &s->cfg.slots[i];
		int used = sl->state != FORMAT_SLOT_RETIRED;

		iso((int64_t)sl->created, when);
		printf("  v%-4u %-8s %-7s created %s  age %lldd  files %llu  KEK %s%s\n",
		       sl->version, sl->state == FORMAT_SLOT_ACTIVE ? "active" :
		       sl->state == FORMAT_SLOT_RETIRING ? "retiring" : "retired",
		       sl->version == s->cfg.primary_version ? "primary" : "",
		       when, (long long)(age_of(s, (int64_t)sl->created) / 86400),
		       (unsigned long long)s->per_version[i], sl->kek_id,
		       used && check_age(s, (int64_t)sl->created) ? "  TOO OLD" : "");
		if (!s->kek_ok[i])
			continue;
		iso(s->kek[i].created, when);
		printf("        KEK %s: %s, created %s, age %lldd%s\n", s->kek[i].id,
		       s->kek[i].state, when,
		       (long long)(age_of(s, s->kek[i].created) / 86400),
		       check_age(s, s->kek[i].created) ? "  TOO OLD" : "");
	}
	if (s->cfg.wrap_mode == FORMAT_WRAP_KMS)
		printf("file keys: per-file KMS, each wrapped by the KEK its header names:\n");
	for (unsigned i = 0; i < s->cfg.n_keks; i++)
		printf("  #%-4u files %llu  KEK %s%s\n", s->cfg.keks[i].ref,
		       (unsigned long long)s->per_kek[i], s->cfg.keks[i].id,
		       &s->cfg.keks[i] == format_config_kek_current(&s->cfg) ? "  (current)" : "");
	printf("files: %llu", (unsigned long long)s->files);
	if (s->unreadable)
		printf(", %llu with unreadable headers (run phifs fsck)",
		       (unsigned long long)s->unreadable);
	if (s->other_version)
		printf(", %llu wrapped by a key the config lacks",
		       (unsigned long long)s->other_version);
	printf("\n");
	printf("data-key generations: %llu without a key-table slot (not shreddable until "
	       "rekeyed), %llu with one", (unsigned long long)s->gen_plain,
	       (unsigned long long)s->gen_keytab);
	if (s->keytab_epoch >= 0)
		printf(" (key table epoch %lld)", (long long)s->keytab_epoch);
	else
		printf(" (no key table: crypto-shredding not enabled)");
	printf("\n");
}

static json_object *slot_json(struct status *s, unsigned i)
{
	const struct format_slot *sl = &s->cfg.slots[i];
	json_object *o = json_object_new_object(), *kek;
	int used = sl->state != FORMAT_SLOT_RETIRED;

	json_object_object_add(o, "version", json_object_new_int64(sl->version));
	json_object_object_add(o, "state", json_object_new_string(
		sl->state == FORMAT_SLOT_ACTIVE ? "active" :
		sl->state == FORMAT_SLOT_RETIRING ? "retiring" : "retired"));
	json_object_object_add(o, "primary",
			       json_object_new_boolean(sl->version == s->cfg.primary_version));
	json_object_object_add(o, "created", json_object_new_int64((int64_t)sl->created));
	json_object_object_add(o, "age_seconds",
			       json_object_new_int64(age_of(s, (int64_t)sl->created)));
	json_object_object_add(o, "too_old", json_object_new_boolean(
		used && check_age(s, (int64_t)sl->created)));
	json_object_object_add(o, "files", json_object_new_int64((int64_t)s->per_version[i]));
	json_object_object_add(o, "kek_id", json_object_new_string(sl->kek_id));
	if (s->kek_ok[i]) {
		kek = json_object_new_object();
		json_object_object_add(kek, "state", json_object_new_string(s->kek[i].state));
		json_object_object_add(kek, "created", json_object_new_int64(s->kek[i].created));
		json_object_object_add(kek, "age_seconds",
				       json_object_new_int64(age_of(s, s->kek[i].created)));
		json_object_object_add(kek, "too_old",
				       json_object_new_boolean(check_age(s, s->kek[i].created)));
		json_object_object_add(o, "kek", kek);
	}
	return o;
}

static void print_json(struct status *s, const char *dir)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array(), *gen;

	json_object_object_add(o, "volume", json_object_new_string(dir));
	json_object_object_add(o, "kms_uri", json_object_new_string(s->cfg.kms_uri));
	for (unsigned i = 0; i < s->cfg.n_slots; i++)
		json_object_array_add(a, slot_json(s, i));
	json_object_object_add(o, "volume_keys", a);
	if (s->cfg.wrap_mode == FORMAT_WRAP_KMS) {
		a = json_object_new_array();
		for (unsigned i = 0; i < s->cfg.n_keks; i++) {
			json_object *k = json_object_new_object();

			json_object_object_add(k, "ref", json_object_new_int64(s->cfg.keks[i].ref));
			json_object_object_add(k, "kek_id",
					       json_object_new_string(s->cfg.keks[i].id));
			json_object_object_add(k, "files",
					       json_object_new_int64((int64_t)s->per_kek[i]));
			json_object_array_add(a, k);
		}
		json_object_object_add(o, "file_keks", a);
	}
	json_object_object_add(o, "files", json_object_new_int64((int64_t)s->files));
	json_object_object_add(o, "unreadable_headers",
			       json_object_new_int64((int64_t)s->unreadable));
	gen = json_object_new_object();
	json_object_object_add(gen, "without_slot", json_object_new_int64((int64_t)s->gen_plain));
	json_object_object_add(gen, "with_slot", json_object_new_int64((int64_t)s->gen_keytab));
	if (s->keytab_epoch >= 0)
		json_object_object_add(gen, "keytab_epoch", json_object_new_int64(s->keytab_epoch));
	json_object_object_add(o, "data_key_generations", gen);
	json_object_object_add(o, "too_old", json_object_new_boolean(s->too_old));
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* §12.1 epoch from the table's header, keyless (MAC unchecked); -1 when none. */
static int64_t keytab_epoch_read(const char *dir, const struct format_config *c)
{
	struct keytab_header h;

	if (!(c->incompat_flags & FORMAT_INCOMPAT_KEYTAB) || keytab_peek(dir, &h) != 0)
		return -1;
	return (int64_t)h.epoch;
}

static int status_run(struct status *s, const char *dir, int use_kms)
{
	if (tool_config_read(dir, &s->cfg) != EXIT_OK)
		return EXIT_VOLUME;
	s->keytab_epoch = keytab_epoch_read(dir, &s->cfg);
	st_walk = s;
	if (nftw(dir, visit, 64, FTW_PHYS | FTW_ACTIONRETVAL) != 0)
		die(EXIT_PROBLEMS, "cannot walk %s: %s", dir, strerror(errno));
	if (s->progress)
		fputs("\r\033[K", stderr);
	if (use_kms)
		describe_keks(s, s->cfg.kms_uri);
	if (s->json)
		print_json(s, dir);
	else
		print_text(s, dir);
	tdestroy(s->seen, free);
	return s->too_old ? EXIT_KEY_OLD : EXIT_OK;
}

int keys_cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "max-age", required_argument, NULL, 'a' },
		{ "no-kms", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	static struct status s;
	int opt, use_kms = 1;

	s.now = (int64_t)time(NULL);
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j': s.json = 1; break;
		case 'n': use_kms = 0; break;
		case 'a':
			if (parse_duration(optarg, &s.max_age))
				die(EXIT_USAGE, "--max-age wants e.g. 365d, 12h, 30m or seconds");
			break;
		case 'h':
			printf("usage: phifs-keys status [--json] [--max-age AGE] [--no-kms] "
			       "CIPHERDIR\n");
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		die(EXIT_USAGE, "usage: phifs-keys status [options] CIPHERDIR");
	s.progress = isatty(2) && !s.json;
	return status_run(&s, argv[optind], use_kms);
}
