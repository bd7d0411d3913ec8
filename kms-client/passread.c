/*
 * passread.c: getting the passphrase from the operator, for passphrase.c
 * (docs/FORMAT.md §8).
 *
 * Owns the three sources: the first line of a file (--passfile), the first
 * line of a command's stdout (--extpass, run as /bin/sh -c), or the terminal
 * with echo off. Never argv or the environment: other users can read both
 * through /proc. Every byte lands in a secret buffer; at most PASSREAD_MAX
 * bytes are accepted (longer is refused, never truncated: a silently cut
 * passphrase would unlock nothing later) and one trailing newline is dropped.
 * The command line given to --extpass is never printed: it may hold the
 * passphrase itself (e.g. "echo ...").
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "passread.h"
#include "provider.h"
#include "secmem.h"

/* One byte more than allowed tells "too long" apart from exactly PASSREAD_MAX. */
#define READ_CAP (PASSREAD_MAX + 1)

/*
 * The signal that interrupted the terminal prompt. A handler can only talk
 * through a static; it is written only between handler install and removal
 * in tty_prompt, which runs before any daemon threads exist.
 */
static volatile sig_atomic_t tty_signo;

/* Signals after which the terminal must get its echo back before we die or stop. */
static const int tty_signals[] = { SIGINT, SIGHUP, SIGQUIT, SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU };
#define TTY_NSIG (sizeof(tty_signals) / sizeof(tty_signals[0]))

static size_t line_len(const char *buf, size_t n)
{
	const char *nl = memchr(buf, '\n', n);

	return nl ? (size_t)(nl - buf) : n;
}

static int line_take(const char *buf, size_t n, size_t *len)
{
	*len = line_len(buf, n);
	if (*len > PASSREAD_MAX) {
		kms_warn("passphrase: longer than %d bytes; refused", PASSREAD_MAX);
		return -EINVAL;
	}
	if (*len == 0) {
		kms_warn("passphrase: empty passphrase refused");
		return -EINVAL;
	}
	return 0;
}

/* Up to READ_CAP bytes; stops early at EOF, or after a newline if asked. */
static int fd_read(int fd, char *buf, size_t *n, int stop_at_newline)
{
	*n = 0;
	while (*n < READ_CAP) {
		ssize_t r = read(fd, buf + *n, READ_CAP - *n);
		int nl;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -EIO;
		if (r == 0)
			break;
		nl = stop_at_newline && memchr(buf + *n, '\n', (size_t)r);
		*n += (size_t)r;
		if (nl)
			break;
	}
	return 0;
}

static int file_read(const char *path, char *buf, size_t *n)
{
	int fd, e, ret;

	fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		kms_warn("passphrase: cannot open passphrase file %s: %s", path, strerror(e));
		return e == ENOENT ? -ENOENT : (e == EACCES || e == EPERM) ? -EACCES : -EIO;
	}
	ret = fd_read(fd, buf, n, 1);
	if (ret)
		kms_warn("passphrase: cannot read passphrase file %s", path);
	close(fd);
	return ret;
}

/*
 * If we were started with stdout closed, pipe2 can hand out fd 1, and the
 * child's dup2(1, 1) would then keep FD_CLOEXEC: the command would run with
 * no stdout at all.
 */
static int fd_above_stdio(int *fd)
{
	int nfd;

	if (*fd > STDERR_FILENO)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	if (nfd < 0)
		return -EIO;
	close(*fd);
	*fd = nfd;
	return 0;
}

static int child_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -EIO;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		kms_warn("passphrase: the passphrase command failed with exit code %d",
			 WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		kms_warn("passphrase: the passphrase command was killed by signal %d",
			 WTERMSIG(status));
	return -EIO;
}

/*
 * The child gets the pipe as stdout, our stdin and stderr (so it may prompt),
 * an empty signal mask and default SIGPIPE (a daemon may block or ignore
 * both), and none of our other descriptors.
 */
static int spawn_setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *attr, int wfd)
{
	sigset_t none, dfl;

	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	if (posix_spawn_file_actions_adddup2(fa, wfd, STDOUT_FILENO) ||
	    posix_spawn_file_actions_addclosefrom_np(fa, STDERR_FILENO + 1) ||
	    posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) ||
	    posix_spawnattr_setsigmask(attr, &none) || posix_spawnattr_setsigdefault(attr, &dfl))
		return -EIO;
	return 0;
}

static int extpass_read(const char *cmd, char *buf, size_t *n)
{
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int fds[2] = { -1, -1 }, fa_ok = 0, attr_ok = 0, ret = -EIO, rc, wret;
	pid_t pid = -1;

	if (pipe2(fds, O_CLOEXEC) != 0 || fd_above_stdio(&fds[1]) != 0)
		goto out;
	fa_ok = posix_spawn_file_actions_init(&fa) == 0;
	attr_ok = posix_spawnattr_init(&attr) == 0;
	if (!fa_ok || !attr_ok || spawn_setup(&fa, &attr, fds[1]) != 0)
		goto out;
	rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
	if (rc != 0) {
		pid = -1;
		kms_warn("passphrase: cannot run the passphrase command: %s", strerror(rc));
		goto out;
	}
	close(fds[1]);
	fds[1] = -1;
	ret = fd_read(fds[0], buf, n, 0);
out:
	/* Close our end before waiting: a command still writing gets EPIPE
	 * instead of blocking forever on a reader that has stopped. */
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (pid > 0) {
		wret = child_wait(pid);
		if (!ret)
			ret = wret;
	}
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_ok)
		posix_spawnattr_destroy(&attr);
	return ret;
}

static void tty_on_signal(int signo)
{
	tty_signo = signo;
}

static int tty_write(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t w = write(fd, s, len);

		if (w < 0 && errno == EINTR && !tty_signo)
			continue;
		if (w <= 0)
			return -EIO;
		s += w;
		len -= (size_t)w;
	}
	return 0;
}

/* One byte at a time, so nothing past the newline is consumed. */
static int tty_line(int fd, char *buf, size_t *n)
{
	*n = 0;
	while (*n < READ_CAP) {
		ssize_t r = read(fd, buf + *n, 1);

		if (r < 0 && errno == EINTR && !tty_signo)
			continue;
		if (r < 0)
			return tty_signo ? -EINTR : -EIO;
		if (r == 0)
			break;
		if (buf[(*n)++] == '\n')
			break;
	}
	return 0;
}

/*
 * Echo off for the read, back on whatever happens. A signal that would end or
 * stop us is caught (no SA_RESTART, so read() returns), the terminal and the
 * old handlers are restored, and the signal is raised again, as OpenBSD's
 * readpassphrase(3) does. TCSAFLUSH drops typed-ahead input either way.
 */
static int tty_prompt(int fd, const char *prompt, char *buf, size_t *n)
{
	struct sigaction sa, old[TTY_NSIG];
	struct termios saved, quiet;
	int ret = 0;

	if (tcgetattr(fd, &saved) != 0) {
		kms_warn("passphrase: cannot read the terminal settings");
		return -EIO;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tty_on_signal;
	sigemptyset(&sa.sa_mask);
	tty_signo = 0;
	for (size_t i = 0; i < TTY_NSIG; i++)
		(void)sigaction(tty_signals[i], &sa, &old[i]);
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	quiet.c_lflag |= ECHONL;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0)
		ret = -EIO;
	if (!ret)
		ret = tty_write(fd, prompt);
	if (!ret)
		ret = tty_line(fd, buf, n);
	(void)tcsetattr(fd, TCSAFLUSH, &saved);
	for (size_t i = 0; i < TTY_NSIG; i++)
		(void)sigaction(tty_signals[i], &old[i], NULL);
	if (tty_signo) {
		(void)raise(tty_signo);
		ret = -EINTR;
	}
	return ret;
}

static int tty_ask(int confirm, char *buf, size_t *n)
{
	char *again = NULL;
	size_t n2 = 0, l1, l2;
	int fd, ret;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		kms_warn("passphrase: no terminal to ask on; give a passphrase file or command");
		return -EIO;
	}
	ret = tty_prompt(fd, "Passphrase: ", buf, n);
	if (ret || !confirm)
		goto out;
	ret = -ENOMEM;
	again = secmem_alloc(READ_CAP);
	if (!again)
		goto out;
	ret = tty_prompt(fd, "Repeat passphrase: ", again, &n2);
	if (ret)
		goto out;
	l1 = line_len(buf, *n);
	l2 = line_len(again, n2);
	if (l1 != l2 || !secmem_equal(buf, again, l1)) {
		kms_warn("passphrase: the two passphrases do not match");
		ret = -EINVAL;
	}
out:
	secmem_free(again);
	close(fd);
	return ret;
}

int passread_get(const char *passfile, const char *extpass, int confirm, char **out,
		 size_t *out_len)
{
	char *buf = NULL;
	size_t n = 0, len = 0;
	int ret = -EINVAL;

	*out = NULL;
	*out_len = 0;
	if (passfile && extpass) {
		kms_warn("passphrase: give a passphrase file or a command, not both");
		goto out;
	}
	ret = -ENOMEM;
	buf = secmem_alloc(READ_CAP);
	if (!buf)
		goto out;
	if (passfile)
		ret = file_read(passfile, buf, &n);
	else if (extpass)
		ret = extpass_read(extpass, buf, &n);
	else
		ret = tty_ask(confirm, buf, &n);
	if (ret)
		goto out;
	ret = line_take(buf, n, &len);
	if (ret)
		goto out;
	/* The newline and anything after the first line are not the passphrase. */
	secmem_wipe(buf + len, READ_CAP - len);
	*out = buf;
	*out_len = len;
	buf = NULL;
out:
	secmem_free(buf);
	return ret;
}
