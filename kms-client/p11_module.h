/*
 * p11_module.h: the one door to a PKCS#11 module (p11_module.c): load it,
 * find the token by label, open a logged-in session; translate CK_RV codes
 * into -errno. The provider ops (pkcs11.c) and key versions (p11_keys.c) use
 * `f` and `session` directly and pass every CK_RV through p11_ret.
 */
#ifndef PHIFS_P11_MODULE_H
#define PHIFS_P11_MODULE_H

#include <p11-kit/pkcs11.h>

struct p11_mod;   /* a loaded, initialized module, shared within the process */

struct p11 {
	struct p11_mod *mod;
	CK_FUNCTION_LIST *f;          /* the module's table; NULL while not loaded */
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE session;
	int have_session;
	const char *module;           /* for messages: the URI's module-path */
	const char *token;            /* for messages: the URI's token label */
};

/* Loads `module`, finds token `token`, opens an R/W session and logs in as
 * the user with the first line of `pin_file`. 0, or -ENOENT (no module, no
 * such token), -EACCES (unsafe module or PIN file, wrong or locked PIN), -EIO;
 * each with one kms_warn line. On failure p11_close(p) releases what is open. */
int p11_open(struct p11 *p, const char *module, const char *token, const char *pin_file);
/* Logs out, closes the session, finalizes and unloads the module (last user). */
void p11_close(struct p11 *p);
/* 0 when the token answers and the session is still logged in. */
int p11_alive(struct p11 *p);

/* CK_RV → 0 / -errno: integrity failures (CKR_GENERAL_ERROR on decrypt,
 * CKR_ENCRYPTED_DATA_INVALID, ...) → -EKEYREJECTED; PIN → -EACCES; others -EIO. */
int p11_ret(CK_RV rv);
/* The same for calls that decrypt nothing: no -EKEYREJECTED, only -EIO. */
int p11_ret_io(CK_RV rv);
/* A short name for messages, e.g. "CKR_PIN_INCORRECT". */
const char *p11_rv_name(CK_RV rv);

#endif
