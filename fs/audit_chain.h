/*
 * audit_chain.h: the cryptography of one audit stream, shared by the writer
 * (audit_log.c) and the verifier (audit_verify.c) so both compute the same
 * bytes: the record hash chain, the MAC envelope of a line, the one-way MAC
 * key evolution, and the checkpoint signature message.
 * Spec: docs/AUDIT_FORMAT.md "Chain", "MAC", "Checkpoints".
 */
#ifndef PHIFS_AUDIT_CHAIN_H
#define PHIFS_AUDIT_CHAIN_H

#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>

struct cipher_hmac;

#define AUDIT_KEY_LEN 32          /* k_epoch: HMAC-SHA256 key, bytes */
#define AUDIT_HASH_LEN 32         /* SHA-256 of a line, bytes */
#define AUDIT_HEX_LEN 64          /* a hash or MAC in lowercase hex, chars */
#define AUDIT_PK_LEN 32           /* Ed25519 public key, bytes */
#define AUDIT_SK_LEN 64           /* Ed25519 secret key, bytes */
#define AUDIT_SIG_LEN 64          /* Ed25519 signature, bytes */
#define AUDIT_LINE_MAX (1u << 20) /* longest record line, bytes (without '\n') */
#define AUDIT_STREAM_MAX 64       /* stream name, chars: [A-Za-z0-9_-] */
/* Every line ends with exactly this suffix around the MAC's 64 hex digits. */
#define AUDIT_MAC_PREFIX ",\"mac\":\""
#define AUDIT_MAC_SUFFIX_LEN (sizeof(AUDIT_MAC_PREFIX) - 1 + AUDIT_HEX_LEN + 2)
/* Verification material in keys_dir (docs/AUDIT_FORMAT.md "Verification
 * material"): per writer session k_0 and the Ed25519 public key, per stream
 * the checkpoint file. Arguments: stream, session (the audit-start seq). */
#define AUDIT_KEY_FILE "%s.%020" PRIu64 ".key"
#define AUDIT_PUB_FILE "%s.%020" PRIu64 ".pub"
#define AUDIT_CKPT_FILE "%s.ckpt"
#define AUDIT_LOCK_FILE "%s.lock"
#define AUDIT_HEAD_FILE "%s.head"   /* streams without a spool: chain head at the last checkpoint */
#define AUDIT_ZERO_HEAD "0000000000000000000000000000000000000000000000000000000000000000"

/* Lowercase hex of n bytes into out (2n + 1 chars with the NUL). */
void audit_hex(const uint8_t *b, size_t n, char *out);
/* Exactly 2n lowercase hex chars → n bytes; -EINVAL otherwise. */
int audit_unhex(const char *s, size_t slen, uint8_t *out, size_t n);
/* 1 when s is a valid stream name. */
int audit_stream_valid(const char *s);

/* SHA-256 hex of the line bytes (no '\n'): the next record's "prev". */
int audit_chain_hash(const char *line, size_t len, char hex[AUDIT_HEX_LEN + 1]);
/* k_{i+1} = HMAC-SHA256(k_i, "phifs audit epoch"), in place; the old key is gone. */
int audit_chain_evolve(uint8_t key[AUDIT_KEY_LEN]);
/* The MAC of a record whose line without the mac member is body (a JSON
 * object ending in '}'). */
int audit_chain_mac(const uint8_t key[AUDIT_KEY_LEN], const char *body, size_t len,
		    uint8_t mac[AUDIT_HASH_LEN]);
/* Splits a line into its MAC'd body length (bytes before AUDIT_MAC_PREFIX) and
 * the MAC; -EBADMSG unless the line ends with the exact envelope suffix. */
int audit_chain_split(const char *line, size_t len, size_t *body_len, uint8_t mac[AUDIT_HASH_LEN]);
/* Seals a record: buf holds its body (len bytes: a serialised record ending
 * in '}', no mac member); ',"mac":"<hex>"}' replaces the final '}', the MAC
 * under k_epoch set up in key (cipher_hmac_new). buf has room for cap ≥
 * len + AUDIT_MAC_SUFFIX_LEN bytes (the sealed line and a NUL). */
int audit_chain_seal(struct cipher_hmac *key, char *buf, size_t len, size_t cap,
			size_t *line_len);
/* Verifies a line's MAC: 0, or -EBADMSG. */
int audit_chain_check(const uint8_t key[AUDIT_KEY_LEN], const char *line, size_t len);

/* The signed message of a checkpoint: stream, session, seq and head (hex),
 * time, newline-separated after a domain tag. malloc'd into *msg. */
int audit_chain_ckpt_msg(const char *stream, uint64_t session, uint64_t seq,
			 const char *head, const char *time, char **msg, size_t *len);
/* Ed25519 (libsodium crypto_sign; cipher.c has no signatures): a fresh key
 * pair (sk in secret memory the caller owns), a detached signature, a check. */
int audit_chain_keypair(uint8_t pk[AUDIT_PK_LEN], uint8_t sk[AUDIT_SK_LEN]);
int audit_chain_sign(const uint8_t sk[AUDIT_SK_LEN], const void *msg, size_t len,
		     uint8_t sig[AUDIT_SIG_LEN]);
int audit_chain_sig_check(const uint8_t pk[AUDIT_PK_LEN], const void *msg, size_t len,
			  const uint8_t sig[AUDIT_SIG_LEN]);

#endif
