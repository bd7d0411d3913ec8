/*
 * rotate_files.c: rotate-kms on a per-file KMS volume (docs/FORMAT.md §3.3,
 * §4.4; docs/OPERATIONS.md "Per-file KMS mode"). Every file header holds a
 * data key wrapped by the KMS, so a new KEK means one KMS unwrap and one wrap
 * per file: time grows with the number of files, unlike the default mode.
 *
 * 1. The new KEK is added to the config's KEK table under a new ref (one
 *    atomic config write). A run that finds the table's newest entry is the
 *    KEK it was given resumes from here: kill -9 at any point, run again.
 * 2. Every header not yet on that ref is re-wrapped (fs/rewrap.c: one
 *    176-byte pwrite under the header lock; contents untouched).
 * 3. Only when no header failed: the volume-key slots are wrapped under the
 *    new KEK, the table keeps only the new entry and, with --to, the config
 *    names the new KMS — one atomic config write.
 * Offline: the volume lock (fs/journal.c) is taken, so a mounted volume is
 * refused rather than left with a daemon that has the old table.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../phifs/common.h"
#include "filekms.h"
#include "journal.h"
#include "names.h"
#include "redo.h"
#include "rewrap.h"
#include "rotate_files.h"

static struct rotate_files *g;   /* nftw has no user pointer */

static int rewrap_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	const char *base = path + ftw->base;
	enum rewrap_result res;
	int ret;

	if (ftw->level > 0 && names_is_reserved(base) && !names_is_long(base))
		return type == FTW_D ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
	if (type != FTW_F || !S_ISREG(sb->st_mode))
		return FTW_CONTINUE;
	ret = rewrap_file_kms(path, g->v->keys, g->ref, &res);
	if (ret) {
		g->failed++;
		warnx_phifs("cannot re-wrap %s: %s", path + strlen(g->dir), strerror(-ret));
	} else if (res == REWRAP_DONE) {
		g->rewrapped++;
	} else {
		g->already++;
	}
	return FTW_CONTINUE;
}

static int config_put(struct volume *v, struct format_config *cfg)
{
	int dfd = openat(v->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret;

	ret = dfd < 0 ? -errno : volume_config_write(dfd, cfg, v->keys);
	if (dfd >= 0)
		close(dfd);
	if (!ret)
		*v->cfg = *cfg;
	return ret;
}

/* Step 1: the table entry of new_id, added unless a killed run left it. */
static int table_add(struct rotate_files *r, const char *new_id)
{
	static struct format_config cfg;
	const struct format_kek *cur = format_config_kek_current(r->v->cfg);
	const struct format_kek *have = format_config_kek_by_id(r->v->cfg, new_id);

	if (have) {
		r->ref = have->ref;
		r->resumed = r->v->cfg->n_keks > 1;
		return 0;
	}
	cfg = *r->v->cfg;
	if (cfg.n_keks >= FORMAT_MAX_KEKS || !cur)
		return -ENOSPC;
	r->ref = cur->ref + 1;
	cfg.keks[cfg.n_keks].ref = r->ref;
	snprintf(cfg.keks[cfg.n_keks].id, sizeof(cfg.keks[0].id), "%s", new_id);
	cfg.n_keks++;
	return config_put(r->v, &cfg);
}

int rotate_files_run(struct rotate_files *r, struct kms *newk, const char *new_id)
{
	const struct format_kek *kek;
	int ret;

	ret = journal_open(r->v->rootfd, 0, 0);
	if (ret == -EBUSY) {
		warnx_phifs("the volume is mounted: in per-file KMS mode rotate-kms re-wraps every "
			    "file header and runs offline (unmount it first)");
		return ret;
	}
	if (ret)
		return ret;
	/* A rekey a crash interrupted keeps a copy in phifs.journal/, which the
	 * walk skips: finish it first, or its header would stay under the old KEK. */
	ret = redo_replay_all(r->v->keys);
	if (ret < 0) {
		warnx_phifs("cannot finish an interrupted rekey first: %s", strerror(-ret));
		goto out;
	}
	ret = table_add(r, new_id);
	if (ret) {
		warnx_phifs("cannot add %s to the volume's KEK table: %s", new_id,
			    ret == -ENOSPC ? "the table is full (16 KEKs)" : strerror(-ret));
		goto out;
	}
	filekms_set_keks(r->v->filekms, r->v->cfg);
	filekms_set_target(r->v->filekms, newk, r->ref);
	g = r;
	if (nftw(r->dir, rewrap_one, 64, FTW_PHYS | FTW_ACTIONRETVAL) != 0) {
		ret = -errno;
		warnx_phifs("cannot walk %s: %s", r->dir, strerror(errno));
		goto out;
	}
	if (r->failed) {
		warnx_phifs("%llu header(s) could not be re-wrapped; the rotation is not finished "
			    "(fix them, or restore them, and run rotate-kms again to resume)",
			    (unsigned long long)r->failed);
		ret = -EIO;
		goto out;
	}
	/* Step 3 happens in volume_rewrap, which writes the config it is given. */
	kek = format_config_kek(r->v->cfg, r->ref);
	r->v->cfg->keks[0] = *kek;
	r->v->cfg->n_keks = 1;
out:
	filekms_set_target(r->v->filekms, NULL, 0);
	journal_close();
	return ret;
}
