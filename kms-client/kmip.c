/*
 * kmip.c: the `kmip://HOST:PORT/KEY-NAME?ca=..&cert=..&key=..` provider
 * (docs/FORMAT.md §8.1, docs/OPERATIONS.md "KMIP").
 *
 * Owns the URI, the choice of the current KEK (Locate by Name, then the most
 * recent Active object by Initial Date), the blob layout (version ‖ the KMIP
 * unique identifier that wrapped it ‖ IV ‖ ciphertext ‖ tag, so blobs keep
 * unwrapping under their own key after a rotation) and the lifecycle ops.
 * Wrapping is the server's AES-256-GCM Encrypt/Decrypt with our random
 * 12-byte IV, the caller's AAD and a 16-byte tag: the KEK never leaves the
 * KMS, and this file never sends Get. Messages are kmip_msg.c's, the
 * connection kmip_tls.c's. Request and response buffers carry volume keys in
 * the clear (inside TLS), so they live in secmem and are wiped after each op.
 * Not thread-safe (provider.h): one connection, one buffer pair.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cipher.h"
#include "kmip_msg.h"
#include "kmip_tls.h"
#include "kmsuri.h"
#include "provider.h"
#include "secmem.h"

#define KMIP_DEFAULT_PORT "5696"
#define KMIP_TIMEOUT_MS 5000
#define KMIP_ATTEMPTS 3
#define KMIP_REQ_MAX 8192          /* Encrypt of <= KMS_BLOB_MAX bytes plus the AAD */
#define KMIP_RESP_MAX 32768        /* Locate may list many keys of one name */
#define KMIP_LOCATE_MAX 64         /* candidates examined at open */
#define KMIP_ID_PREFIX "kmip:"
#define KMIP_PATH_MAX 1024
#define KMIP_HOST_MAX 253

/* Blob v1 (FORMAT.md §8): version(1) ‖ n(1) ‖ uid(n) ‖ iv(12) ‖ ciphertext ‖ tag(16) */
#define BLOB_VERSION 1
#define BLOB_FIXED (2 + KMIP_GCM_IV_LEN + KMIP_GCM_TAG_LEN)

struct kmip_uri {
	char host[KMIP_HOST_MAX + 1];
	char port[6];
	char name[KMIP_NAME_MAX + 1];
	char ca[KMIP_PATH_MAX], cert[KMIP_PATH_MAX], key[KMIP_PATH_MAX];
};

struct kmip {
	struct kmip_tls *tls;
	char name[KMIP_NAME_MAX + 1];
	char uid[KMIP_UID_MAX + 1];                   /* the current KEK */
	char key_id[sizeof(KMIP_ID_PREFIX) + KMIP_UID_MAX];
	uint8_t *req;                                 /* KMIP_REQ_MAX bytes, secmem */
	uint8_t *resp;                                /* KMIP_RESP_MAX bytes, secmem */
};

/* ---- URI ---- */

static int host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == ':';
}

static int name_char(char c)
{
	return host_char(c) ? c != ':' : c == '_';
}

/* "HOST[:PORT]" or "[IPV6][:PORT]" at s[0..n). */
static int uri_authority(const char *s, size_t n, struct kmip_uri *u)
{
	size_t hl = n, hs = 0;
	const char *colon;

	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close)
			return -EINVAL;
		hs = 1;
		hl = (size_t)(close - s) - 1;
		colon = close + 1 < s + n ? close + 1 : NULL;
		if (colon && *colon != ':')
			return -EINVAL;
	} else {
		colon = memchr(s, ':', n);
		hl = colon ? (size_t)(colon - s) : n;
	}
	if (hl == 0 || hl > KMIP_HOST_MAX)
		return -EINVAL;
	for (size_t i = 0; i < hl; i++)
		if (!host_char(s[hs + i]) || (!hs && s[hs + i] == ':'))
			return -EINVAL;
	memcpy(u->host, s + hs, hl);
	u->host[hl] = '\0';
	if (!colon) {
		snprintf(u->port, sizeof(u->port), "%s", KMIP_DEFAULT_PORT);
		return 0;
	}
	n -= (size_t)(colon + 1 - s);
	if (n == 0 || n > 5 || strspn(colon + 1, "0123456789") < n || atoi(colon + 1) == 0 ||
	    atoi(colon + 1) > 65535)
		return -EINVAL;
	memcpy(u->port, colon + 1, n);
	u->port[n] = '\0';
	return 0;
}

static int uri_query(const char *q, struct kmip_uri *u)
{
	static const char *const known[] = { "ca", "cert", "key", NULL };
	size_t n = strlen(q);
	int ret;

	ret = kms_uri_known(q, n, '&', known, "kmip");
	if (!ret)
		ret = kms_uri_attr(q, n, '&', "ca", u->ca, sizeof(u->ca));
	if (!ret)
		ret = kms_uri_attr(q, n, '&', "cert", u->cert, sizeof(u->cert));
	if (!ret)
		ret = kms_uri_attr(q, n, '&', "key", u->key, sizeof(u->key));
	if (ret == -ENOENT)
		kms_warn("kmip: the URI needs ca=, cert= and key= "
			 "(kmip://HOST:PORT/KEY-NAME?ca=CA.pem&cert=CLIENT.pem&key=CLIENT.key)");
	else if (ret)
		kms_warn("kmip: malformed ca=, cert= or key= value in the URI");
	return ret ? -EINVAL : 0;
}

static int uri_parse(const char *arg, struct kmip_uri *u)
{
	const char *auth, *slash, *q;
	size_t nl;

	if (!arg || strncmp(arg, "//", 2) != 0)
		goto bad;
	auth = arg + 2;
	slash = strchr(auth, '/');
	if (!slash || uri_authority(auth, (size_t)(slash - auth), u))
		goto bad;
	q = strchr(slash + 1, '?');
	nl = q ? (size_t)(q - slash - 1) : strlen(slash + 1);
	if (nl == 0 || nl > KMIP_NAME_MAX)
		goto bad;
	for (size_t i = 0; i < nl; i++)
		if (!name_char(slash[1 + i]))
			goto bad;
	memcpy(u->name, slash + 1, nl);
	u->name[nl] = '\0';
	return uri_query(q ? q + 1 : "", u);
bad:
	kms_warn("kmip: malformed URI (expected kmip://HOST:PORT/KEY-NAME?ca=..&cert=..&key=.., "
		 "KEY-NAME of letters, digits, '.', '_', '-')");
	return -EINVAL;
}

/* ---- one KMIP operation ---- */

/* Whole buffers: a response cut short by an error may still hold key bytes. */
static void bufs_wipe(struct kmip *k)
{
	secmem_wipe(k->req, KMIP_REQ_MAX);
	secmem_wipe(k->resp, KMIP_RESP_MAX);
}

static const char *op_name(enum kmip_op op)
{
	switch (op) {
	case KMIP_OP_CREATE: return "Create";
	case KMIP_OP_LOCATE: return "Locate";
	case KMIP_OP_GET_ATTRIBUTES: return "Get Attributes";
	case KMIP_OP_ACTIVATE: return "Activate";
	case KMIP_OP_REVOKE: return "Revoke";
	case KMIP_OP_DESTROY: return "Destroy";
	case KMIP_OP_DISCOVER_VERSIONS: return "Discover Versions";
	case KMIP_OP_ENCRYPT: return "Encrypt";
	case KMIP_OP_DECRYPT: return "Decrypt";
	}
	return "operation";
}

/*
 * Sends the request built in k->req and parses the answer into r (which
 * points into k->resp until bufs_wipe). A KMIP failure is logged, except a
 * Decrypt refusal: the caller knows whether that means "wrong key".
 */
static int call(struct kmip *k, enum kmip_op op, int build_ret, size_t req_len, int idempotent,
		struct kmip_resp *r)
{
	size_t resp_len = 0;
	int ret = build_ret;

	if (ret) {
		kms_warn("kmip: %s request does not fit (%s)", op_name(op), strerror(-ret));
		return ret;
	}
	ret = kmip_tls_call(k->tls, k->req, req_len, k->resp, KMIP_RESP_MAX, &resp_len,
			    idempotent);
	secmem_wipe(k->req, req_len);
	if (ret == -EPROTO || ret == -EMSGSIZE)
		return -EIO;   /* kms.h: a provider failure, not a damaged volume */
	if (ret)
		return ret;
	if (kmip_resp_parse(k->resp, resp_len, op, r)) {
		kms_warn("kmip: malformed %s response from %s", op_name(op),
			 kmip_tls_endpoint(k->tls));
		return -EIO;
	}
	ret = kmip_resp_errno(r, op);
	if (ret == -EACCES && r->reason == KMIP_REASON_AUTHENTICATION_NOT_SUCCESSFUL)
		kms_warn("kmip: client certificate refused by %s (authentication not successful; "
			 "it needs extendedKeyUsage=clientAuth)", kmip_tls_endpoint(k->tls));
	else if (ret && ret != -EKEYREJECTED)
		kms_warn("kmip: %s failed on %s: reason %u%s%s", op_name(op),
			 kmip_tls_endpoint(k->tls), (unsigned)r->reason, r->message[0] ? ": " : "",
			 r->message);
	return ret;
}

static int get_attrs(struct kmip *k, const char *uid, uint32_t *state, int64_t *initial)
{
	struct kmip_resp r;
	size_t len = 0;
	int ret;

	ret = kmip_req_get_attributes(k->req, KMIP_REQ_MAX, &len, uid);
	ret = call(k, KMIP_OP_GET_ATTRIBUTES, ret, len, 1, &r);
	if (!ret)
		ret = kmip_resp_attrs(&r, state, initial) ? -EIO : 0;
	bufs_wipe(k);
	return ret;
}

static int set_current(struct kmip *k, const char *uid)
{
	snprintf(k->uid, sizeof(k->uid), "%s", uid);
	snprintf(k->key_id, sizeof(k->key_id), KMIP_ID_PREFIX "%s", uid);
	return 0;
}

/* Create + Activate: a new AES-256 KEK under k->name becomes the current one. */
static int create_activate(struct kmip *k)
{
	char uid[KMIP_UID_MAX + 1];
	struct kmip_resp r;
	size_t len = 0;
	int ret;

	ret = kmip_req_create(k->req, KMIP_REQ_MAX, &len, k->name);
	ret = call(k, KMIP_OP_CREATE, ret, len, 0, &r);
	if (!ret)
		ret = kmip_resp_uid(&r, uid, sizeof(uid)) ? -EIO : 0;
	bufs_wipe(k);
	if (ret)
		return ret;
	ret = kmip_req_activate(k->req, KMIP_REQ_MAX, &len, uid);
	ret = call(k, KMIP_OP_ACTIVATE, ret, len, 0, &r);
	bufs_wipe(k);
	return ret ? ret : set_current(k, uid);
}

/* Identifiers of one server: numeric ones (PyKMIP) by value, others by bytes. */
static int uid_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (strspn(a, "0123456789") == la && strspn(b, "0123456789") == lb && la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

/* Copies Locate's answer out of k->resp (the next calls reuse it). */
static int locate(struct kmip *k, char (*uids)[KMIP_UID_MAX + 1], size_t *n)
{
	struct kmip_resp r;
	size_t len = 0;
	int ret;

	*n = 0;
	ret = kmip_req_locate_name(k->req, KMIP_REQ_MAX, &len, k->name);
	ret = call(k, KMIP_OP_LOCATE, ret, len, 1, &r);
	while (!ret && *n < KMIP_LOCATE_MAX) {
		ret = kmip_resp_uid_at(&r, *n, uids[*n], sizeof(uids[*n]));
		if (!ret)
			(*n)++;
	}
	bufs_wipe(k);
	return ret == -ENOENT ? 0 : (ret == -EBADMSG ? -EIO : ret);
}

/* The most recent Active key named k->name: highest Initial Date, then uid. */
static int find_current(struct kmip *k, int *found)
{
	char (*uids)[KMIP_UID_MAX + 1] = calloc(KMIP_LOCATE_MAX, sizeof(*uids));
	int64_t best_date = 0, date = 0;
	uint32_t state = 0;
	size_t n = 0, best = 0;
	int ret = -ENOMEM;

	*found = 0;
	if (!uids)
		goto out;
	ret = locate(k, uids, &n);
	for (size_t i = 0; !ret && i < n; i++) {
		ret = get_attrs(k, uids[i], &state, &date);
		if (ret == -ENOKEY || ret == -EACCES) {
			ret = 0;   /* destroyed since Locate, or not ours: not a candidate */
			continue;
		}
		if (ret || state != KMIP_STATE_ACTIVE)
			continue;
		if (!*found || date > best_date ||
		    (date == best_date && uid_cmp(uids[i], uids[best]) > 0)) {
			best = i;
			best_date = date;
			*found = 1;
		}
	}
	if (!ret && *found)
		set_current(k, uids[best]);
out:
	free(uids);
	return ret;
}

/* ---- provider ops ---- */

static void kmip_close(void *state)
{
	struct kmip *k = state;

	if (!k)
		return;
	kmip_tls_free(k->tls);
	secmem_free(k->req);
	secmem_free(k->resp);
	free(k);
}

static int tls_open(struct kmip *k, const struct kmip_uri *u)
{
	const struct kmip_tls_cfg cfg = {
		.host = u->host, .port = u->port, .ca = u->ca, .cert = u->cert, .key = u->key,
		.timeout_ms = KMIP_TIMEOUT_MS, .attempts = KMIP_ATTEMPTS,
	};

	return kmip_tls_new(&cfg, &k->tls);
}

static int kmip_open(const char *arg, const struct kms_opts *opts, void **state)
{
	struct kmip_uri *u = calloc(1, sizeof(*u));
	struct kmip *k = calloc(1, sizeof(*k));
	int ret = -ENOMEM, found = 0;

	if (!u || !k)
		goto out;
	k->req = secmem_alloc(KMIP_REQ_MAX);
	k->resp = secmem_alloc(KMIP_RESP_MAX);
	if (!k->req || !k->resp)
		goto out;
	ret = uri_parse(arg, u);
	if (!ret)
		ret = tls_open(k, u);
	if (ret)
		goto out;
	snprintf(k->name, sizeof(k->name), "%s", u->name);
	ret = find_current(k, &found);
	if (!ret && !found && opts->create)
		ret = create_activate(k);
	else if (!ret && !found) {
		kms_warn("kmip: no active key named '%s' on %s", k->name,
			 kmip_tls_endpoint(k->tls));
		ret = -ENOKEY;
	}
	if (ret)
		goto out;
	*state = k;
	k = NULL;
out:
	kmip_close(k);
	free(u);
	return ret;
}

static int kmip_wrap(void *state, const void *aad, size_t aad_len, const uint8_t *secret,
		     size_t len, uint8_t *blob, size_t *blob_len)
{
	struct kmip *k = state;
	size_t n = strlen(k->uid), need = BLOB_FIXED + n + len, rlen = 0, got = 0, tlen = 0;
	uint8_t iv[KMIP_GCM_IV_LEN];
	const uint8_t *ct = NULL, *tag = NULL;
	struct kmip_crypt c = { .uid = k->uid, .data = secret, .data_len = len, .iv = iv,
				.aad = aad, .aad_len = aad_len };
	struct kmip_resp r;
	int ret;

	if (*blob_len < need)
		return -EINVAL;
	ret = cipher_random(iv, sizeof(iv));
	if (ret)
		return ret;
	ret = kmip_req_crypt(k->req, KMIP_REQ_MAX, &rlen, KMIP_OP_ENCRYPT, &c);
	ret = call(k, KMIP_OP_ENCRYPT, ret, rlen, 1, &r);
	if (!ret && (kmip_resp_data(&r, &ct, &got) || got != len ||
		     kmip_resp_tag(&r, &tag, &tlen) || tlen != KMIP_GCM_TAG_LEN)) {
		kms_warn("kmip: Encrypt on %s answered without GCM ciphertext and tag "
			 "(does the server support KMIP 1.4?)", kmip_tls_endpoint(k->tls));
		ret = -EIO;
	}
	if (!ret) {
		blob[0] = BLOB_VERSION;
		blob[1] = (uint8_t)n;
		memcpy(blob + 2, k->uid, n);
		memcpy(blob + 2 + n, iv, KMIP_GCM_IV_LEN);
		memcpy(blob + 2 + n + KMIP_GCM_IV_LEN, ct, len);
		memcpy(blob + 2 + n + KMIP_GCM_IV_LEN + len, tag, KMIP_GCM_TAG_LEN);
		*blob_len = need;
	}
	bufs_wipe(k);
	return ret;
}

/* The uid in a blob of `blob_len` bytes; *ct_len the ciphertext length. */
static int blob_parse(const uint8_t *blob, size_t blob_len, char *uid, size_t *ct_len)
{
	size_t n;

	if (blob_len < BLOB_FIXED + 1 || blob[0] != BLOB_VERSION)
		return -EKEYREJECTED;
	n = blob[1];
	if (blob_len < BLOB_FIXED + n || !kmip_uid_valid((const char *)blob + 2, n))
		return -EKEYREJECTED;
	memcpy(uid, blob + 2, n);
	uid[n] = '\0';
	*ct_len = blob_len - BLOB_FIXED - n;
	return 0;
}

static int kmip_unwrap(void *state, const void *aad, size_t aad_len, const uint8_t *blob,
		       size_t blob_len, uint8_t *secret, size_t len)
{
	struct kmip *k = state;
	char uid[KMIP_UID_MAX + 1];
	size_t ct_len = 0, n, rlen = 0, got = 0;
	const uint8_t *pt = NULL;
	struct kmip_crypt c = { .uid = uid, .aad = aad, .aad_len = aad_len };
	struct kmip_resp r;
	int ret;

	ret = blob_parse(blob, blob_len, uid, &ct_len);
	if (ret || ct_len != len)
		return -EKEYREJECTED;
	n = strlen(uid);
	c.iv = blob + 2 + n;
	c.data = c.iv + KMIP_GCM_IV_LEN;
	c.data_len = len;
	c.tag = c.data + len;
	ret = kmip_req_crypt(k->req, KMIP_REQ_MAX, &rlen, KMIP_OP_DECRYPT, &c);
	ret = call(k, KMIP_OP_DECRYPT, ret, rlen, 1, &r);
	if (!ret && (kmip_resp_data(&r, &pt, &got) || got != len))
		ret = -EKEYREJECTED;
	if (!ret)
		memcpy(secret, pt, len);
	bufs_wipe(k);
	return ret;
}

static const char *kmip_key_id(const void *state)
{
	const struct kmip *k = state;

	return k->key_id;
}

static int kmip_blob_key_id(const void *state, const uint8_t *blob, size_t blob_len, char *out,
			    size_t cap)
{
	char uid[KMIP_UID_MAX + 1];
	size_t ct_len = 0;
	int n;

	(void)state;
	if (blob_parse(blob, blob_len, uid, &ct_len))
		return -EBADMSG;
	n = snprintf(out, cap, KMIP_ID_PREFIX "%s", uid);
	return n < 0 || (size_t)n >= cap ? -ERANGE : 0;
}

/* Compact form (kms_wrap_compact): the blob without version ‖ n ‖ uid. */
static int kmip_compact(const void *state, const uint8_t *blob, size_t blob_len, uint8_t *out,
			size_t *out_len)
{
	char uid[KMIP_UID_MAX + 1];
	size_t ct_len = 0, n;

	(void)state;
	if (blob_parse(blob, blob_len, uid, &ct_len))
		return -EKEYREJECTED;
	n = blob_len - 2 - strlen(uid);
	if (*out_len < n)
		return -EINVAL;
	memcpy(out, blob + 2 + strlen(uid), n);
	*out_len = n;
	return 0;
}

static int kmip_expand(const void *state, const char *kek_id, const uint8_t *in, size_t in_len,
		       uint8_t *blob, size_t *blob_len)
{
	size_t pl = sizeof(KMIP_ID_PREFIX) - 1, n;
	const char *uid = kek_id + pl;

	(void)state;
	if (strncmp(kek_id, KMIP_ID_PREFIX, pl) != 0)
		return -EKEYREJECTED;
	n = strlen(uid);
	if (n < 1 || n > KMIP_UID_MAX || !kmip_uid_valid(uid, n) ||
	    in_len < KMIP_GCM_IV_LEN + KMIP_GCM_TAG_LEN + 1)
		return -EKEYREJECTED;
	if (*blob_len < 2 + n + in_len)
		return -EINVAL;
	blob[0] = BLOB_VERSION;
	blob[1] = (uint8_t)n;
	memcpy(blob + 2, uid, n);
	memcpy(blob + 2 + n, in, in_len);
	*blob_len = 2 + n + in_len;
	return 0;
}

/* "kmip:<uid>" (or NULL: the current key) to a uid. */
static int id_to_uid(const struct kmip *k, const char *id, const char **uid)
{
	size_t pl = sizeof(KMIP_ID_PREFIX) - 1;

	if (!id) {
		*uid = k->uid;
		return 0;
	}
	if (strncmp(id, KMIP_ID_PREFIX, pl) != 0 || !kmip_uid_valid(id + pl, strlen(id + pl)))
		return -EINVAL;
	*uid = id + pl;
	return 0;
}

static int kmip_create_key(void *state, char *id, size_t cap)
{
	struct kmip *k = state;
	int ret = create_activate(k);

	if (!ret && (size_t)snprintf(id, cap, "%s", k->key_id) >= cap)
		ret = -ERANGE;
	return ret;
}

static int kmip_describe(void *state, const char *id, struct kms_key_info *info)
{
	struct kmip *k = state;
	const char *uid = NULL;
	uint32_t st = 0;
	int64_t created = 0;
	int ret;

	ret = id_to_uid(k, id, &uid);
	if (!ret)
		ret = get_attrs(k, uid, &st, &created);
	if (ret)
		return ret;
	snprintf(info->id, sizeof(info->id), KMIP_ID_PREFIX "%s", uid);
	snprintf(info->state, sizeof(info->state), "%s", kmip_state_name(st));
	info->created = created;
	return 0;
}

/* Reachable, speaks 1.4 (GCM with AAD), and the current key is Active. */
static int kmip_health(void *state)
{
	struct kmip *k = state;
	struct kmip_resp r;
	size_t len = 0;
	uint32_t st = 0;
	int64_t created = 0;
	int ret;

	ret = kmip_req_discover_versions(k->req, KMIP_REQ_MAX, &len);
	ret = call(k, KMIP_OP_DISCOVER_VERSIONS, ret, len, 1, &r);
	if (!ret && !kmip_resp_has_version(&r, KMIP_VERSION_MAJOR, KMIP_VERSION_MINOR)) {
		kms_warn("kmip: %s does not offer KMIP 1.4", kmip_tls_endpoint(k->tls));
		ret = -EPROTONOSUPPORT;
	}
	bufs_wipe(k);
	if (!ret)
		ret = get_attrs(k, k->uid, &st, &created);
	if (!ret && st != KMIP_STATE_ACTIVE) {
		kms_warn("kmip: the current key %s is %s", k->key_id, kmip_state_name(st));
		ret = -ENOKEY;
	}
	return ret;
}

/*
 * Revoke (Superseded): Decrypt fails afterwards. The caller has re-wrapped
 * everything first (kms.h); that may be under another KMIP name or provider,
 * so retiring this handle's own current key is allowed — later wraps through
 * this handle then fail at the server.
 */
static int kmip_retire_key(void *state, const char *id)
{
	struct kmip *k = state;
	const char *uid = NULL;
	struct kmip_resp r;
	size_t len = 0;
	int ret;

	ret = id_to_uid(k, id, &uid);
	if (ret)
		return ret;
	ret = kmip_req_revoke(k->req, KMIP_REQ_MAX, &len, uid);
	ret = call(k, KMIP_OP_REVOKE, ret, len, 0, &r);
	bufs_wipe(k);
	return ret;
}

/*
 * Crypto-shredding (FORMAT.md §12.4): Revoke, then Destroy — servers such as
 * PyKMIP refuse to Destroy an Active key. A Revoke that fails (already
 * revoked by a killed run) does not stop the Destroy.
 */
static int kmip_destroy_key(void *state, const char *id)
{
	struct kmip *k = state;
	const char *uid = NULL;
	struct kmip_resp r;
	size_t len = 0;
	int ret = id_to_uid(k, id, &uid);

	if (ret)
		return ret;
	(void)kmip_retire_key(state, id);    /* Revoke */
	ret = kmip_req_destroy(k->req, KMIP_REQ_MAX, &len, uid);
	ret = call(k, KMIP_OP_DESTROY, ret, len, 0, &r);
	bufs_wipe(k);
	return ret;
}

const struct kms_provider_ops kms_kmip_ops = {
	.name = "kmip",
	.open = kmip_open,
	.close = kmip_close,
	.wrap = kmip_wrap,
	.unwrap = kmip_unwrap,
	.key_id = kmip_key_id,
	.blob_key_id = kmip_blob_key_id,
	.compact = kmip_compact,
	.expand = kmip_expand,
	.create_key = kmip_create_key,
	.describe = kmip_describe,
	.health = kmip_health,
	.retire_key = kmip_retire_key,
	.destroy_key = kmip_destroy_key,
};
