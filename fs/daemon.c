/*
 * daemon.c: the life of a mount — unlock the volume in the foreground (so a
 * wrong key, a KMS outage or a passphrase prompt is seen by whoever ran the
 * command), mount, then detach, serve requests on a multithreaded libfuse
 * loop, and on unmount wipe every key. The fork happens before any key is
 * unwrapped: mlock is not inherited across fork, so keys are born in the
 * process that keeps them. Core dumps are disabled before any key exists.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <unistd.h>
#include <fuse_lowlevel.h>

#include "audit.h"
#include "chglog_tick.h"
#include "daemon.h"
#include "fdio.h"
#include "filekms.h"
#include "fuse_ops.h"
#include "journal.h"
#include "policy_gate.h"
#include "redo.h"
#include "log.h"
#include "readahead.h"
#include "secmem.h"
#include "session.h"

/* How long a mount waits for a killed daemon of the same volume to be gone. */
#define DAEMON_LOCK_WAIT_S 10

static int build_args(const struct daemon_opts *o, struct fuse_args *args)
{
	char opts[4096];
	int n;

	n = snprintf(opts, sizeof(opts), "fsname=%s,subtype=phifs,default_permissions%s%s%s%s",
		     strchr(o->cipherdir, ',') ? "phifs" : o->cipherdir,
		     o->allow_other ? ",allow_other" : "", o->readonly ? ",ro" : "",
		     o->fuse_extra && *o->fuse_extra ? "," : "",
		     o->fuse_extra ? o->fuse_extra : "");
	if (n < 0 || (size_t)n >= sizeof(opts))
		return -E2BIG;
	if (fuse_opt_add_arg(args, "phifs") || fuse_opt_add_arg(args, "-o") ||
	    fuse_opt_add_arg(args, opts))
		return -ENOMEM;
	if (o->debug && fuse_opt_add_arg(args, "-d"))
		return -ENOMEM;
	return 0;
}

/*
 * Start-up handshake over a pipe: the child writes "OK" once mounted, or
 * "E<errno> <message>" when it could not mount, so the parent exits with the
 * right code and message. The child's message never holds a key or a name.
 */
static void tell_parent(int fd, int ret, const char *msg)
{
	char line[1200];
	int n;

	if (fd < 0)
		return;
	n = ret ? snprintf(line, sizeof(line), "E%d %s", -ret, msg) : snprintf(line, sizeof(line), "OK");
	if (n > 0 && fdio_write(fd, line, strlen(line)) < 0) {
		/* The parent is gone; nothing else to tell. */
	}
	close(fd);
}

/* Parent: wait for the child's verdict so `phifs mount` returns only when mounted. */
static int wait_child(int rfd, pid_t pid, char *err, size_t errcap)
{
	char buf[1200];
	size_t n = 0;
	int status, e = EIO, off = 0;

	if (fdio_read(rfd, buf, sizeof(buf) - 1, &n) < 0)
		n = 0;
	buf[n] = '\0';
	close(rfd);
	if (n >= 2 && !strncmp(buf, "OK", 2))
		return 0;
	if (waitpid(pid, &status, 0) < 0)
		status = 0;
	if (buf[0] == 'E' && sscanf(buf + 1, "%d %n", &e, &off) == 1 && e > 0 && off > 0) {
		snprintf(err, errcap, "%s", buf + 1 + off);   /* off counts from buf + 1 */
		return -e;
	}
	snprintf(err, errcap, "%s", n ? buf : "mount failed (daemon exited)");
	return -EIO;
}

/* O_EXCL on a fresh name then rename: a reader never sees a half-written pid. */
static int pidfile_write(const char *path)
{
	char tmp[4200], line[32];
	int fd, ret, n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());

	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	ret = fdio_write(fd, line, (size_t)n);
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret)
		(void)unlink(tmp);
	return ret;
}

static int detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (setsid() < 0 && errno != EPERM)
		return -errno;
	if (chdir("/") < 0)
		return -errno;
	(void)dup2(fd, 0);
	(void)dup2(fd, 1);
	(void)dup2(fd, 2);
	if (fd > 2)
		close(fd);
	return 0;
}

static int serve(struct fuse_session *se, const struct daemon_opts *o)
{
	struct fuse_loop_config *cfg;
	int ret;

	if (o->threads == 1)
		return fuse_session_loop(se);
	cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	/* Idle workers stay: a worker's start-up (cipher contexts, key cache,
	 * journal file) is too costly to repeat per burst of requests. */
	fuse_loop_cfg_set_max_threads(cfg, o->threads > 0 ? (unsigned)o->threads : 16);
	fuse_loop_cfg_set_idle_threads(cfg, o->threads > 0 ? (unsigned)o->threads : 16);
	ret = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return ret;
}

/* The inode table holds one O_PATH descriptor per inode the kernel keeps
 * looked up (as libfuse's passthrough_ll), and the kernel keeps as many as
 * its dentry cache holds: an untar of 20,000 files needs 20,000 descriptors,
 * far past a default soft limit of 1024 (EMFILE for every new file). The
 * soft limit goes to the hard one; as root the hard one to fs.nr_open. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	long nr_open = 0;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");

	if (f) {
		if (fscanf(f, "%ld", &nr_open) != 1)
			nr_open = 0;
		fclose(f);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (nr_open > 0 && (rlim_t)nr_open > rl.rlim_max) {
		struct rlimit up = { (rlim_t)nr_open, (rlim_t)nr_open };

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return;
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max < 16384)
		log_msg(LOG_WARNING, "open files limited to %llu: a volume with more files in the "
			"kernel's cache gets EMFILE (raise LimitNOFILE / ulimit -Hn)",
			(unsigned long long)rl.rlim_cur);
}

static int run_mounted(const struct daemon_opts *o, int notify_fd, char *err, size_t errcap)
{
	unsigned long kms_at_mount = 0;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	struct fsd fs;
	int ret, mounted = 0, have_table = 0, have_pidfile = 0, audit = 0;

	memset(&fs, 0, sizeof(fs));
	ret = secmem_no_dumps();
	if (ret) {
		snprintf(err, errcap, "cannot disable core dumps: %s", strerror(-ret));
		goto out;
	}
	if (secmem_lock_all() != 0)
		log_msg(LOG_WARNING, "cannot lock memory (RLIMIT_MEMLOCK?): plaintext and key "
			"schedules could reach swap");
	raise_fd_limit();
	ret = volume_open(o->cipherdir, o->kms_override, &o->kms, &fs.vol, err, errcap);
	if (ret)
		goto out;
	/* A daemon killed a moment ago may still be leaving its syscalls. */
	ret = journal_open(fs.vol->rootfd, !o->readonly, DAEMON_LOCK_WAIT_S);
	if (ret == -EBUSY) {
		snprintf(err, errcap, "the cipher directory is in use by another phifs daemon "
			 "(mounted elsewhere?)");
		goto out;
	}
	if (!ret)
		ret = journal_replay_all(fs.vol->keys);
	if (ret < 0) {
		snprintf(err, errcap, "cannot replay the write journal %s: %s", JOURNAL_DIR,
			 strerror(-ret));
		goto out;
	}
	if (ret > 0)
		log_msg(LOG_NOTICE, "undid %d write(s) a crash interrupted (write journal)", ret);
	ret = redo_replay_all(fs.vol->keys);
	if (ret < 0) {
		snprintf(err, errcap, "cannot finish an interrupted rekey (%s/rk.*): %s",
			 JOURNAL_DIR, strerror(-ret));
		goto out;
	}
	if (ret > 0)
		log_msg(LOG_NOTICE, "finished %d rekey(s) a crash interrupted", ret);
	ret = inode_table_init(&fs.table, fs.vol->rootfd);
	if (ret)
		goto out;
	have_table = 1;
	fs.opts.timeout = o->timeout;
	fs.opts.writeback = o->writeback && !o->direct_io;
	fs.opts.direct_io = o->direct_io;
	fs.opts.readonly = o->readonly;
	fs.nc.vol = fs.vol;
	fs.nc.table = &fs.table;
	fs.nc.readonly = o->readonly;
	/* Before the mount: a volume that cannot be audited is not served. */
	ret = audit_start(&o->audit, &fs, err, errcap);
	if (ret)
		goto out;
	audit = 1;
	/* A policy that does not verify refuses the mount, like a modified config. */
	ret = policy_gate_start(fs.vol, err, errcap);
	if (ret)
		goto out;
	ret = build_args(o, &args);
	if (ret)
		goto out;
	se = fuse_session_new(&args, &fuse_ops, sizeof(fuse_ops), &fs);
	if (!se) {
		snprintf(err, errcap, "invalid mount options");
		ret = -EINVAL;
		goto out;
	}
	if (fuse_set_signal_handlers(se) != 0) {
		ret = -EIO;
		goto out;
	}
	if (fuse_session_mount(se, o->mountpoint) != 0) {
		snprintf(err, errcap, "cannot mount on %s (see above)", o->mountpoint);
		ret = -EIO;
		goto out;
	}
	mounted = 1;
	if (o->readahead_kb > 0 && readahead_set(o->mountpoint, (unsigned)o->readahead_kb) != 0)
		log_msg(LOG_WARNING, "cannot raise readahead to %d KiB; sequential reads will be "
			"slower", o->readahead_kb);
	if (o->pidfile) {
		ret = pidfile_write(o->pidfile);
		if (ret) {
			snprintf(err, errcap, "cannot write pid file %s: %s", o->pidfile, strerror(-ret));
			goto out;
		}
		have_pidfile = 1;
	}
	if (notify_fd >= 0) {
		log_init("phifs", 1);
		ret = detach_stdio();
		tell_parent(notify_fd, ret, "cannot detach from the terminal");
		notify_fd = -1;
		if (ret)
			goto out;
	}
	log_msg(LOG_INFO, "mounted %s on %s (volume %s)", o->cipherdir, o->mountpoint,
		volume_cipher_name(fs.vol->cipher));
	audit_mounted(o->mountpoint);
	kms_at_mount = kms_op_count();
	/* Per-file KMS mode: creates take pre-wrapped keys (filekms_pool.c). */
	if (!o->readonly) {
		ret = filekms_pool_start(fs.vol->filekms, FILEKMS_POOL_DEFAULT);
		if (ret)
			goto out;
	}
	/* Files held open store their change records periodically (chglog_tick.c). */
	if (!o->readonly) {
		ret = chglog_tick_start(o->chg_interval_s ? o->chg_interval_s : CHGLOG_TICK_DEFAULT_S);
		if (ret)
			goto out;
	}
	ret = session_start(fs.vol, o->idle_timeout_s);
	if (ret)
		goto out;
	ret = serve(se, o);
	session_stop();
	filekms_pool_stop(fs.vol->filekms);
	/* In the default wrap mode opening a file needs no KMS call: the second
	 * number stays 0 (bench/kms.sh reports it). */
	log_msg(LOG_INFO, "KMS operations: %lu to mount, %lu while mounted",
		kms_at_mount, kms_op_count() - kms_at_mount);
	if (fs.vol->filekms)
		log_msg(LOG_INFO, "per-file KMS: %lu file key wraps, %lu unwraps, %lu cache hits",
			filekms_wraps(fs.vol->filekms), filekms_unwraps(fs.vol->filekms),
			filekms_cache_hits(fs.vol->filekms));
	log_msg(LOG_INFO, "unmounting %s; keys wiped", o->mountpoint);
out:
	if (notify_fd >= 0)
		tell_parent(notify_fd, ret ? ret : -EIO, err[0] ? err : "mount failed");
	policy_gate_stop();
	if (audit)
		audit_stop();
	if (have_pidfile)
		(void)unlink(o->pidfile);
	if (se) {
		if (mounted)
			fuse_session_unmount(se);
		fuse_remove_signal_handlers(se);
		fuse_session_destroy(se);
	}
	fuse_opt_free_args(&args);
	chglog_tick_stop();     /* the files' last stores: their closes, below */
	if (have_table)
		inode_table_destroy(&fs.table);
	journal_close();
	volume_close(fs.vol);
	return ret < 0 ? ret : (ret > 0 ? -EIO : 0);
}

int daemon_run(const struct daemon_opts *o, char *err, size_t errcap)
{
	int p[2];
	pid_t pid;

	err[0] = '\0';
	if (o->foreground)
		return run_mounted(o, -1, err, errcap);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		close(p[0]);
		_exit(run_mounted(o, p[1], err, errcap) ? 1 : 0);
	}
	close(p[1]);
	return wait_child(p[0], pid, err, errcap);
}
