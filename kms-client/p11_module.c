/*
 * p11_module.c: the one door to a PKCS#11 module (p11_module.h). Owns
 * dlopen/C_GetFunctionList/C_Initialize, finding the token by label, the
 * R/W session, reading the PIN file and C_Login, and the translation of
 * CK_RV codes into -errno. It knows nothing of keys or blobs (p11_keys.c,
 * pkcs11.c). Spec: docs/OPERATIONS.md "PKCS#11 / HSM".
 *
 * Threats handled here:
 *  - The module path comes from a volume config that is not yet authenticated
 *    when it is opened: loading a library is running its code, so the module
 *    file and its directory must be owned by root (or us) and writable by no
 *    one else, like the key file rules of local.c.
 *  - The PIN file must be a regular file only its owner can read; the PIN
 *    lives in a secret buffer and is wiped right after C_Login. A wrong PIN
 *    is never retried (each try counts toward the token's lockout).
 *  - Slot ids are not stable (SoftHSM makes them random), and two processes
 *    on one token store race while one of them writes: the token lookup,
 *    session and login are retried a bounded number of times (never a hang).
 *
 * C_Initialize is per process, not per handle: a small table counts the
 * handles using each module so only the last one calls C_Finalize. A copy of
 * that table inherited through fork() is ignored (the child initializes the
 * module itself; PKCS#11 §5.4: a child must call C_Initialize).
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "p11_module.h"
#include "p11_uri.h"
#include "provider.h"
#include "secmem.h"

#define P11_TRIES 5          /* token lookup + session + login attempts */
#define P11_BACKOFF_MS 50    /* doubled after each failed attempt: ≤ 750 ms in all */
#define P11_SLOTS_MAX 64
#define P11_MODS_MAX 4       /* distinct modules loaded at once in one process */

struct p11_mod {
	void *dl;               /* dlopen handle; NULL: free entry */
	CK_FUNCTION_LIST *f;
	pid_t pid;              /* the process that called C_Initialize */
	int users;              /* open struct p11 on this module */
	int finalize;           /* 0: initialized by someone else, never C_Finalize it */
};

static pthread_mutex_t mods_lock = PTHREAD_MUTEX_INITIALIZER;
static struct p11_mod mods[P11_MODS_MAX];   /* guarded by mods_lock */

static const struct {
	CK_RV rv;
	const char *name;
} rv_names[] = {
	{ CKR_OK, "CKR_OK" },
	{ CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR" },
	{ CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD" },
	{ CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY" },
	{ CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE" },
	{ CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR" },
	{ CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED" },
	{ CKR_ENCRYPTED_DATA_INVALID, "CKR_ENCRYPTED_DATA_INVALID" },
	{ CKR_ENCRYPTED_DATA_LEN_RANGE, "CKR_ENCRYPTED_DATA_LEN_RANGE" },
	{ CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED" },
	{ CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID" },
	{ CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID" },
	{ CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT" },
	{ CKR_PIN_LOCKED, "CKR_PIN_LOCKED" },
	{ CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED" },
	{ CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE" },
	{ CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID" },
	{ CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT" },
	{ CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED" },
	{ CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN" },
	{ CKR_WRAPPED_KEY_INVALID, "CKR_WRAPPED_KEY_INVALID" },
	{ CKR_WRAPPED_KEY_LEN_RANGE, "CKR_WRAPPED_KEY_LEN_RANGE" },
	{ CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED" },
};

const char *p11_rv_name(CK_RV rv)
{
	for (size_t i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++)
		if (rv_names[i].rv == rv)
			return rv_names[i].name;
	return "CKR_(other)";
}

int p11_ret(CK_RV rv)
{
	switch (rv) {
	case CKR_OK:
		return 0;
	/* SoftHSM reports a GCM tag mismatch as CKR_GENERAL_ERROR. */
	case CKR_GENERAL_ERROR:
	case CKR_ENCRYPTED_DATA_INVALID:
	case CKR_ENCRYPTED_DATA_LEN_RANGE:
	case CKR_WRAPPED_KEY_INVALID:
	case CKR_WRAPPED_KEY_LEN_RANGE:
		return -EKEYREJECTED;
	case CKR_PIN_INCORRECT:
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
	case CKR_PIN_LOCKED:
	case CKR_PIN_EXPIRED:
	case CKR_USER_NOT_LOGGED_IN:
	case CKR_KEY_FUNCTION_NOT_PERMITTED:
		return -EACCES;
	case CKR_HOST_MEMORY:
	case CKR_DEVICE_MEMORY:
		return -ENOMEM;
	case CKR_KEY_HANDLE_INVALID:
		return -ENOKEY;
	default:
		return -EIO;
	}
}

int p11_ret_io(CK_RV rv)
{
	int ret = p11_ret(rv);

	return ret == -EKEYREJECTED ? -EIO : ret;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Owned by root or by us, written by no one else. */
static int safe_stat(const struct stat *st)
{
	return (st->st_uid == 0 || st->st_uid == geteuid()) && !(st->st_mode & 022);
}

static int module_check(const char *path)
{
	char real[PATH_MAX], *slash;
	struct stat st;

	if (!realpath(path, real)) {
		int e = errno;

		kms_warn("pkcs11: cannot load module %s: %s", path, strerror(e));
		return e == ENOENT || e == ENOTDIR ? -ENOENT : -EACCES;
	}
	if (stat(real, &st) != 0 || !S_ISREG(st.st_mode) || !safe_stat(&st)) {
		kms_warn("pkcs11: refusing module %s: it must be a regular file owned by root "
			 "and writable by no one else", path);
		return -EACCES;
	}
	slash = strrchr(real, '/');
	slash[slash == real ? 1 : 0] = '\0';
	if (stat(real, &st) != 0 || !safe_stat(&st)) {
		kms_warn("pkcs11: refusing module %s: its directory must be owned by root and "
			 "writable by no one else", path);
		return -EACCES;
	}
	return 0;
}

/* Under mods_lock. An entry copied from a parent before fork() is forgotten. */
static struct p11_mod *mod_find(void *dl)
{
	struct p11_mod *free_slot = NULL;

	for (int i = 0; i < P11_MODS_MAX; i++) {
		if (mods[i].dl && mods[i].pid != getpid())
			memset(&mods[i], 0, sizeof(mods[i]));
		if (mods[i].dl == dl)
			return &mods[i];
		if (!mods[i].dl && !free_slot)
			free_slot = &mods[i];
	}
	return free_slot;
}

/* Under mods_lock: C_GetFunctionList and C_Initialize for a newly listed module. */
static int mod_init(struct p11_mod *m, void *dl, const char *path)
{
	CK_C_INITIALIZE_ARGS args;
	CK_C_GetFunctionList get;
	CK_RV rv;

	*(void **)&get = dlsym(dl, "C_GetFunctionList");
	if (!get) {
		kms_warn("pkcs11: %s is not a PKCS#11 module (no C_GetFunctionList)", path);
		return -ENOENT;
	}
	rv = get(&m->f);
	if (rv != CKR_OK || !m->f) {
		kms_warn("pkcs11: module %s: C_GetFunctionList failed: %s", path, p11_rv_name(rv));
		return -EIO;
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = m->f->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		kms_warn("pkcs11: module %s: C_Initialize failed: %s", path, p11_rv_name(rv));
		return -EIO;
	}
	m->dl = dl;
	m->pid = getpid();
	m->finalize = rv == CKR_OK;
	return 0;
}

static int mod_load(struct p11 *p, const char *path)
{
	struct p11_mod *m;
	void *dl;
	int ret = 0;

	ret = module_check(path);
	if (ret)
		return ret;
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		kms_warn("pkcs11: cannot load module %s: %s", path, dlerror());
		return -ENOENT;
	}
	pthread_mutex_lock(&mods_lock);
	m = mod_find(dl);
	if (!m)
		ret = -EMFILE;
	else if (!m->dl)
		ret = mod_init(m, dl, path);
	if (!ret) {
		m->users++;
		p->mod = m;
		p->f = m->f;
	}
	pthread_mutex_unlock(&mods_lock);
	if (ret)
		dlclose(dl);
	return ret;
}

static void mod_unload(struct p11 *p)
{
	struct p11_mod *m = p->mod;
	void *dl;

	if (!m)
		return;
	pthread_mutex_lock(&mods_lock);
	dl = m->dl;
	if (--m->users == 0) {
		if (m->finalize)
			(void)m->f->C_Finalize(NULL);
		memset(m, 0, sizeof(*m));
	}
	pthread_mutex_unlock(&mods_lock);
	dlclose(dl);   /* one per dlopen in mod_load */
	p->mod = NULL;
	p->f = NULL;
}

/* CK_TOKEN_INFO.label is 32 bytes, blank-padded, not NUL-terminated. */
static int label_equal(const unsigned char label[32], const char *want)
{
	size_t n = strlen(want);

	if (n > 32 || memcmp(label, want, n) != 0)
		return 0;
	for (size_t i = n; i < 32; i++)
		if (label[i] != ' ')
			return 0;
	return 1;
}

/* 0 found, -EAGAIN not (yet) found or the module stumbled. */
static int slot_find(struct p11 *p)
{
	CK_SLOT_ID slots[P11_SLOTS_MAX];
	CK_ULONG n = P11_SLOTS_MAX;
	CK_TOKEN_INFO ti;

	if (p->f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		return -EAGAIN;
	for (CK_ULONG i = 0; i < n; i++) {
		memset(&ti, 0, sizeof(ti));
		if (p->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (label_equal(ti.label, p->token)) {
			p->slot = slots[i];
			return 0;
		}
	}
	return -EAGAIN;
}

/* The first line of a file only its owner (us or root) can read. */
static int pin_read(const char *path, char *pin, size_t cap, size_t *len)
{
	struct stat st;
	size_t got = 0;
	int fd, ret;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		kms_warn("pkcs11: cannot open PIN file %s: %s", path, strerror(e));
		return e == ENOENT ? -ENOENT : -EACCES;
	}
	ret = fstat(fd, &st) == 0 ? 0 : -EIO;
	if (!ret && (!S_ISREG(st.st_mode) || (st.st_uid != geteuid() && st.st_uid != 0) ||
		     (st.st_mode & 077))) {
		kms_warn("pkcs11: PIN file %s must be a regular file owned by root or uid %u, "
			 "mode 0600 or stricter (chmod 600)", path, (unsigned)geteuid());
		ret = -EACCES;
	}
	if (!ret)
		ret = fdio_read(fd, pin, cap - 1, &got);
	close(fd);
	if (ret)
		return ret;
	pin[got] = '\0';
	*len = strcspn(pin, "\r\n");
	if (*len == 0 || *len == cap - 1) {
		kms_warn("pkcs11: PIN file %s: the first line is empty or longer than %zu bytes",
			 path, cap - 2);
		return -EACCES;
	}
	return 0;
}

/* -EAGAIN for what may pass on a retry; never for a PIN the token refused. */
static int login(struct p11 *p, const char *pin, size_t len)
{
	CK_RV rv = p->f->C_Login(p->session, CKU_USER, (CK_UTF8CHAR *)pin, len);

	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
		return 0;
	if (p11_ret(rv) == -EACCES && rv != CKR_USER_NOT_LOGGED_IN) {
		kms_warn("pkcs11: login to token '%s' (module %s) failed: %s", p->token,
			 p->module, p11_rv_name(rv));
		return -EACCES;
	}
	return -EAGAIN;
}

static int attempt(struct p11 *p, const char *pin, size_t pin_len)
{
	CK_RV rv;
	int ret = slot_find(p);

	if (ret)
		return ret;
	rv = p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
				 &p->session);
	if (rv != CKR_OK)
		return -EAGAIN;
	p->have_session = 1;
	ret = login(p, pin, pin_len);
	if (ret == -EAGAIN) {
		(void)p->f->C_CloseSession(p->session);
		p->have_session = 0;
	}
	return ret;
}

int p11_open(struct p11 *p, const char *module, const char *token, const char *pin_file)
{
	char *pin = NULL;
	size_t pin_len = 0;
	long backoff = P11_BACKOFF_MS;
	int ret;

	memset(p, 0, sizeof(*p));
	p->module = module;
	p->token = token;
	pin = secmem_alloc(P11_PIN_MAX + 1);
	if (!pin)
		return -ENOMEM;
	ret = pin_read(pin_file, pin, P11_PIN_MAX + 1, &pin_len);
	if (ret)
		goto out;
	ret = mod_load(p, module);
	if (ret)
		goto out;
	for (int i = 0; i < P11_TRIES; i++) {
		ret = attempt(p, pin, pin_len);
		if (ret != -EAGAIN)
			break;
		sleep_ms(backoff);
		backoff *= 2;
	}
	if (ret == -EAGAIN) {
		if (slot_find(p) != 0) {
			kms_warn("pkcs11: no token labelled '%s' in module %s", token, module);
			ret = -ENOENT;
		} else {
			kms_warn("pkcs11: cannot open a session on token '%s' (module %s)", token,
				 module);
			ret = -EIO;
		}
	}
out:
	secmem_free(pin);
	if (ret)
		p11_close(p);
	return ret;
}

/* Closing our last session logs us out (PKCS#11 §5.6); no C_Logout, which
 * would log out another handle's session on the same token too. */
void p11_close(struct p11 *p)
{
	if (!p)
		return;
	if (p->have_session && p->f)
		(void)p->f->C_CloseSession(p->session);
	p->have_session = 0;
	mod_unload(p);
}

int p11_alive(struct p11 *p)
{
	CK_TOKEN_INFO ti;
	CK_SESSION_INFO si;
	CK_RV rv;

	memset(&ti, 0, sizeof(ti));
	memset(&si, 0, sizeof(si));
	rv = p->f->C_GetTokenInfo(p->slot, &ti);
	if (rv == CKR_OK)
		rv = p->f->C_GetSessionInfo(p->session, &si);
	if (rv != CKR_OK) {
		kms_warn("pkcs11: token '%s' (module %s) does not answer: %s", p->token, p->module,
			 p11_rv_name(rv));
		return -EIO;
	}
	if (si.state != CKS_RW_USER_FUNCTIONS) {
		kms_warn("pkcs11: the session on token '%s' is no longer logged in", p->token);
		return -EACCES;
	}
	return 0;
}
