/*
 * audit_verify.h: the verifier's record parser, exposed for its unit tests
 * and fuzz harness (audit_verify() itself is declared in audit_log.h).
 * Spec: docs/AUDIT_FORMAT.md "Record envelope", "Checkpoints".
 */
#ifndef PHIFS_AUDIT_VERIFY_H
#define PHIFS_AUDIT_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "audit_chain.h"

struct json_object;

/* A signed checkpoint: a "ckpt" member of a log record, or a line of the
 * checkpoint file (which also names the stream). */
struct audit_ckpt {
	char stream[AUDIT_STREAM_MAX + 1];   /* "" in a log record */
	uint64_t session, seq;
	char head[AUDIT_HEX_LEN + 1];
	char time[48];
	uint8_t sig[AUDIT_SIG_LEN];
};

/* One parsed record line: the envelope the verifier checks. */
struct audit_rec {
	struct json_object *obj;             /* owned */
	uint64_t seq, epoch;
	char prev[AUDIT_HEX_LEN + 1];
	const char *event;                   /* inside obj; "" when absent */
	int is_start, is_ckpt;
	uint64_t session;                    /* audit-start: its session */
	uint8_t pub[AUDIT_PK_LEN];           /* audit-start: the session's key */
	uint64_t chain_seq;                  /* audit-start: the head it continues */
	char chain_head[AUDIT_HEX_LEN + 1];
	struct audit_ckpt ckpt;              /* checkpoint */
};

/* Parses a line (no '\n'): 0, or -EBADMSG with *why set to a static reason.
 * Does not check the MAC (audit_chain_check does). */
int audit_rec_parse(const char *line, size_t len, struct audit_rec *r, const char **why);
void audit_rec_free(struct audit_rec *r);
/* A checkpoint object's members: 0 or -EBADMSG. */
int audit_ckpt_parse(struct json_object *o, int with_stream, struct audit_ckpt *c);
/* Its signature under pk: 0 or -EBADMSG. */
int audit_ckpt_check(const struct audit_ckpt *c, const char *stream, const uint8_t pk[AUDIT_PK_LEN]);

#endif
