/*
 * audit_chain.c: the bytes both ends of an audit stream must agree on — the
 * SHA-256 chain over record lines, the HMAC envelope of a line, the one-way
 * evolution of the MAC key, the checkpoint message and its Ed25519 signature.
 * It owns no state and no I/O; the writer (audit_log.c) and the verifier
 * (audit_verify.c) call the same functions so they cannot drift apart.
 * Spec: docs/AUDIT_FORMAT.md "Chain", "MAC and key evolution", "Checkpoints".
 *
 * The MAC covers the exact line bytes with the mac member cut out, never a
 * re-serialisation: JSON libraries differ in spacing, escaping and member
 * order, and the verifier must not depend on parsing to know what was signed.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "audit_chain.h"
#include "cipher.h"
#include "secmem.h"

#define EPOCH_INFO "phifs audit epoch"
#define CKPT_TAG "phifs-audit-checkpoint-v1"

void audit_hex(const uint8_t *b, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, b, n);
}

/* Lowercase only: the hex in a line is part of what was MAC'd and hashed, so
 * it has exactly one spelling (an upper-case MAC would verify as the same
 * bytes on a different line). */
int audit_unhex(const char *s, size_t slen, uint8_t *out, size_t n)
{
	size_t got = 0;

	if (slen != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < slen; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -EINVAL;
	if (sodium_hex2bin(out, n, s, slen, NULL, &got, NULL) != 0 || got != n)
		return -EINVAL;
	return 0;
}

int audit_stream_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > AUDIT_STREAM_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int audit_chain_hash(const char *line, size_t len, char hex[AUDIT_HEX_LEN + 1])
{
	uint8_t h[AUDIT_HASH_LEN];
	int r = cipher_sha256(line, len, h);

	if (r == 0)
		audit_hex(h, sizeof(h), hex);
	return r;
}

int audit_chain_evolve(uint8_t key[AUDIT_KEY_LEN])
{
	uint8_t next[AUDIT_KEY_LEN];
	int r = cipher_hmac_sha256(key, AUDIT_KEY_LEN, EPOCH_INFO, strlen(EPOCH_INFO), next);

	if (r == 0)
		memcpy(key, next, AUDIT_KEY_LEN);
	secmem_wipe(next, sizeof(next));
	return r;
}

int audit_chain_mac(const uint8_t key[AUDIT_KEY_LEN], const char *body, size_t len,
		    uint8_t mac[AUDIT_HASH_LEN])
{
	return cipher_hmac_sha256(key, AUDIT_KEY_LEN, body, len, mac);
}

int audit_chain_split(const char *line, size_t len, size_t *body_len, uint8_t mac[AUDIT_HASH_LEN])
{
	const size_t pl = sizeof(AUDIT_MAC_PREFIX) - 1;
	size_t b;

	/* The shortest record is '{' plus at least one member before the mac. */
	if (len < AUDIT_MAC_SUFFIX_LEN + 2 || len > AUDIT_LINE_MAX)
		return -EBADMSG;
	b = len - AUDIT_MAC_SUFFIX_LEN;
	if (line[0] != '{' || memcmp(line + b, AUDIT_MAC_PREFIX, pl) != 0 ||
	    memcmp(line + len - 2, "\"}", 2) != 0)
		return -EBADMSG;
	if (audit_unhex(line + b + pl, AUDIT_HEX_LEN, mac, AUDIT_HASH_LEN) != 0)
		return -EBADMSG;
	*body_len = b;
	return 0;
}

/* body[0..b) + '}' : the record as it would read without its mac member. */
static char *unsealed(const char *line, size_t b)
{
	char *s = malloc(b + 1);

	if (!s)
		return NULL;
	memcpy(s, line, b);
	s[b] = '}';
	return s;
}

int audit_chain_seal(struct cipher_hmac *key, char *buf, size_t len, size_t cap,
			size_t *line_len)
{
	const size_t pl = sizeof(AUDIT_MAC_PREFIX) - 1;
	uint8_t mac[AUDIT_HASH_LEN];
	size_t b;
	int r;

	if (len < 2 || buf[0] != '{' || buf[len - 1] != '}' ||
	    len - 1 + AUDIT_MAC_SUFFIX_LEN > AUDIT_LINE_MAX || cap < len + AUDIT_MAC_SUFFIX_LEN)
		return -EINVAL;
	r = cipher_hmac_run(key, buf, len, mac);
	if (r < 0)
		return r;
	b = len - 1;
	memcpy(buf + b, AUDIT_MAC_PREFIX, pl);
	audit_hex(mac, sizeof(mac), buf + b + pl);
	memcpy(buf + b + pl + AUDIT_HEX_LEN, "\"}", 3);
	*line_len = b + AUDIT_MAC_SUFFIX_LEN;
	return 0;
}

int audit_chain_check(const uint8_t key[AUDIT_KEY_LEN], const char *line, size_t len)
{
	uint8_t want[AUDIT_HASH_LEN], got[AUDIT_HASH_LEN];
	char *body = NULL;
	size_t b = 0;
	int r = audit_chain_split(line, len, &b, want);

	if (r < 0)
		return r;
	body = unsealed(line, b);
	if (!body)
		return -ENOMEM;
	r = audit_chain_mac(key, body, b + 1, got);
	if (r == 0 && !secmem_equal(want, got, sizeof(got)))
		r = -EBADMSG;
	free(body);
	return r;
}

int audit_chain_ckpt_msg(const char *stream, uint64_t session, uint64_t seq,
			 const char *head, const char *time, char **msg, size_t *len)
{
	char *m = NULL;
	int n = asprintf(&m, CKPT_TAG "\n%s\n%" PRIu64 "\n%" PRIu64 "\n%s\n%s", stream, session,
			 seq, head, time);

	if (n < 0)
		return -ENOMEM;
	*msg = m;
	*len = (size_t)n;
	return 0;
}

int audit_chain_keypair(uint8_t pk[AUDIT_PK_LEN], uint8_t sk[AUDIT_SK_LEN])
{
	return crypto_sign_keypair(pk, sk) == 0 ? 0 : -EIO;
}

int audit_chain_sign(const uint8_t sk[AUDIT_SK_LEN], const void *msg, size_t len,
		     uint8_t sig[AUDIT_SIG_LEN])
{
	return crypto_sign_detached(sig, NULL, msg, len, sk) == 0 ? 0 : -EIO;
}

int audit_chain_sig_check(const uint8_t pk[AUDIT_PK_LEN], const void *msg, size_t len,
			  const uint8_t sig[AUDIT_SIG_LEN])
{
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : -EBADMSG;
}
