/*
 * cmd_shred.c: `phifs-keys shred CIPHERDIR PATH...` — crypto-shredding
 * (docs/OPERATIONS.md "Crypto-shredding", docs/FORMAT.md §12.4): the files'
 * key-table slots are destroyed in a new table epoch and the old epoch's KEK
 * is destroyed, so neither the files nor any backup of them can be decrypted
 * again; then the files are unlinked through the mount.
 *
 * PATHs are plaintext paths on the mounted volume (PHI: printed only with
 * --show-paths; otherwise files are named by inode and file id). The daemon
 * tells the slot with the FILEIO_IOC_KEYINFO ioctl; a file without one (made
 * before enable-shred) is first rekeyed (FILEIO_IOC_REKEY), which gives it
 * one. Rerunning after a kill is safe: a file whose slot is already destroyed
 * no longer opens (EKEYREVOKED) and is only unlinked, and keytab_shred
 * finishes destroying older KEKs. Each file gives one audit "key" record
 * ("shred", file id, new epoch) — never its name.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../phifs/common.h"
#include "audit.h"
#include "fileio.h"
#include "format.h"
#include "hook.h"
#include "keytab.h"
#include "keyscmd.h"

enum shred_state { SF_SKIP, SF_SLOT, SF_GONE };

struct shred_file {
	const char *path;               /* PHI */
	ino_t ino;
	enum shred_state state;
	struct fileio_keyinfo ki;
};

struct shred {
	const char *dir, *kms_override;
	int show_paths, json;
	struct format_config cfg;
	struct shred_file *files;
	size_t n;
	unsigned int failed, shredded, unlinked;
};

static void file_warn(const struct shred *s, const struct shred_file *f, const char *what,
		      int err)
{
	if (s->show_paths)
		warnx_phifs("%s (inode %llu): %s%s%s", f->path, (unsigned long long)f->ino, what,
			    err ? ": " : "", err ? strerror(err) : "");
	else
		warnx_phifs("inode %llu: %s%s%s", (unsigned long long)f->ino, what,
			    err ? ": " : "", err ? strerror(err) : "");
}

/* 0 or a positive errno. */
static int ask(const char *path, unsigned long req, struct fileio_keyinfo *ki)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), err = 0;

	if (fd < 0)
		return errno;
	if (ioctl(fd, req, ki) < 0)
		err = errno;
	close(fd);
	return err;
}

/* The file's slot, rekeying it first when it has none. */
static int probe(struct shred *s, struct shred_file *f)
{
	struct stat st;
	int err;

	/* The operator's own words may be echoed back to them. */
	if (lstat(f->path, &st) != 0) {
		warnx_phifs("%s: %s", f->path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		warnx_phifs("%s: not a regular file", f->path);
		return -1;
	}
	f->ino = st.st_ino;
	err = ask(f->path, FILEIO_IOC_KEYINFO, &f->ki);
	if (err == EKEYREVOKED) {
		f->state = SF_GONE;     /* shredded by a run that was stopped */
		return 0;
	}
	if (err) {
		file_warn(s, f, err == ENOTTY ? "not on a phifs mount" : "cannot read its key info",
			  err == ENOTTY ? 0 : err);
		return -1;
	}
	if (memcmp(f->ki.volume_id, s->cfg.volume_id, FORMAT_ID_LEN) != 0) {
		file_warn(s, f, "is on another volume than the cipher directory given", 0);
		return -1;
	}
	if (!(f->ki.flags & FORMAT_HDR_KEYTAB)) {
		if (!f->ki.keytab_on) {
			file_warn(s, f, "the mount predates enable-shred: remount first", 0);
			return -1;
		}
		err = ask(f->path, FILEIO_IOC_REKEY, NULL);
		if (!err)
			err = ask(f->path, FILEIO_IOC_KEYINFO, &f->ki);
		if (err || !(f->ki.flags & FORMAT_HDR_KEYTAB)) {
			file_warn(s, f, "cannot give it a key-table slot (rekey)", err);
			return -1;
		}
	}
	f->state = SF_SLOT;
	return 0;
}

static void audit_files(const struct shred *s, uint64_t epoch, int ret)
{
	char hex[2 * FORMAT_ID_LEN + 1], to[32];

	snprintf(to, sizeof(to), "keytab:%" PRIu64, epoch);
	for (size_t i = 0; i < s->n; i++) {
		if (s->files[i].state != SF_SLOT)
			continue;
		hex_id(s->files[i].ki.file_id, FORMAT_ID_LEN, hex, sizeof(hex));
		hook_key_op("shred", hex, ret ? NULL : to, ret);
	}
}

/* Unlinked through the mount, so the daemon's inode table stays right. */
static void unlink_all(struct shred *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct shred_file *f = &s->files[i];

		if (f->state == SF_SKIP)
			continue;
		if (unlink(f->path) == 0 || errno == ENOENT) {
			s->unlinked++;
			continue;
		}
		file_warn(s, f, "shredded, but cannot unlink", errno);
		s->failed++;
	}
}

static int shred_run(struct shred *s)
{
	struct keytab_shred_result r;
	uint32_t *slots = NULL;
	size_t ns = 0;
	char err[1024] = "";
	int rootfd = -1, ret, code = EXIT_PROBLEMS;

	code = tool_config_read(s->dir, &s->cfg);
	if (code != EXIT_OK)
		return code;
	code = EXIT_PROBLEMS;
	if (!(s->cfg.incompat_flags & FORMAT_INCOMPAT_KEYTAB)) {
		warnx_phifs("%s has no key table: run `phifs-keys enable-shred` first", s->dir);
		return EXIT_PROBLEMS;
	}
	slots = calloc(s->n ? s->n : 1, sizeof(*slots));
	if (!slots)
		goto out;
	for (size_t i = 0; i < s->n; i++) {
		if (probe(s, &s->files[i]) != 0)
			s->failed++;
		else if (s->files[i].state == SF_SLOT)
			slots[ns++] = s->files[i].ki.keytab_slot;
	}
	rootfd = open(s->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		warnx_phifs("cannot open %s: %s", s->dir, strerror(errno));
		goto out;
	}
	ret = keytab_shred(rootfd, s->kms_override ? s->kms_override : s->cfg.kms_uri,
			   s->cfg.volume_id, slots, ns, &r, err, sizeof(err));
	audit_files(s, r.new_epoch, ret);
	if (ret) {
		warnx_phifs("shred failed, nothing unlinked: %s", *err ? err : strerror(-ret));
		goto out;
	}
	s->shredded = (unsigned int)ns;
	keytab_test_kill("destroy");
	unlink_all(s);
	if (s->json)
		printf("{\"type\":\"summary\",\"files\":%zu,\"shredded\":%u,\"slots_destroyed\":%u,"
		       "\"unlinked\":%u,\"failed\":%u,\"epoch\":%" PRIu64 ",\"keks_destroyed\":%u}\n",
		       s->n, s->shredded, r.newly_destroyed, s->unlinked, s->failed, r.new_epoch,
		       r.keks_destroyed);
	else
		printf("shred: %zu files, %u shredded (%u slots destroyed), %u unlinked, %u failed; "
		       "key table epoch %" PRIu64 " -> %" PRIu64 ", %u old table KEK(s) destroyed\n",
		       s->n, s->shredded, r.newly_destroyed, s->unlinked, s->failed, r.old_epoch,
		       r.new_epoch, r.keks_destroyed);
	code = s->failed ? EXIT_PROBLEMS : EXIT_OK;
out:
	if (rootfd >= 0)
		close(rootfd);
	free(slots);
	return code;
}

int keys_cmd_shred(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kms", required_argument, NULL, 'k' },
		{ "audit", required_argument, NULL, 'A' },
		{ "show-paths", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0, 0, 0, 0 }
	};
	static struct shred s;
	const char *audit = NULL;
	struct audit_tool *at;
	int opt, code;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'k': s.kms_override = optarg; break;
		case 'A': audit = optarg; break;
		case 'p': s.show_paths = 1; break;
		case 'j': s.json = 1; break;
		case 'h':
			printf("usage: phifs-keys shred [--kms URI] [--audit DIR|off] [--json] "
			       "[--show-paths] CIPHERDIR PATH...\n");
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind < 2)
		die(EXIT_USAGE, "usage: phifs-keys shred [options] CIPHERDIR PATH...");
	s.dir = argv[optind++];
	s.n = (size_t)(argc - optind);
	s.files = calloc(s.n, sizeof(*s.files));
	if (!s.files)
		die(EXIT_PROBLEMS, "out of memory");
	for (size_t i = 0; i < s.n; i++)
		s.files[i].path = argv[optind + (int)i];
	at = tool_audit_open(audit, s.dir, 1);
	code = shred_run(&s);
	audit_tool_close(at);
	free(s.files);
	return code;
}
