/*
 * policy_gate.c: the access policy in the mounted filesystem. fuse_ops.c asks
 * before every open, namespace change, attribute change, directory listing,
 * readlink and xattr access (docs/OPERATIONS.md "Access policy" lists which
 * action each asks for); lookup and getattr are not asked (a path must stay
 * walkable). Paths are resolved to plaintext in memory only (audit_path.c),
 * the caller's groups and executable come from /proc. A denial is answered
 * EACCES and recorded as "denied" with reason "policy" and the rule; learn
 * mode records the would-be denial and permits; break-glass members are
 * permitted and every record of theirs is flagged with the reason given at
 * `phifs unlock --break-glass` (keyring.c). Without phifs.policy nothing is
 * asked and nothing costs. Set up before the FUSE loop starts and torn down
 * after it ends: the state is read without a lock.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit_actor.h"
#include "audit_path.h"
#include "keyring.h"
#include "log.h"
#include "opctx.h"
#include "policy.h"
#include "policy_gate.h"
#include "policy_store.h"
#include "volume.h"

#define GATE_MAX_GROUPS 64

struct gate {
	struct policy *pol;
	struct audit_paths *paths;       /* plaintext path resolution only */
	uint8_t volume_id[FORMAT_ID_LEN];
	_Atomic long bg_checked;         /* monotonic second of the last keyring look */
	_Atomic int bg_active;           /* a break-glass session was active then */
};

static struct gate *G;

int policy_gate_start(const struct volume *vol, char *err, size_t errcap)
{
	struct gate *g = calloc(1, sizeof(*g));
	char *text = NULL, perr[160] = "";
	size_t len = 0;
	int dfd = -1, ret, missing;

	if (!g)
		return -ENOMEM;
	dfd = openat(vol->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ret = dfd < 0 ? -errno : policy_store_read(dfd, vol->keys, &text, &len);
	if (ret == -ENOENT) {
		ret = 0;          /* no policy: nothing enforced */
		goto out;
	}
	if (ret) {
		snprintf(err, errcap, "the access policy (%s) %s", POLICY_STORE_FILE,
			 ret == -EBADMSG ? "has been modified or has no MAC: refusing to mount"
			 : ret == -ENOKEY ? "is signed by a retired volume key: set it again"
			 : "cannot be read");
		goto out;
	}
	ret = policy_parse(text, len, &g->pol, perr, sizeof(perr));
	if (ret) {
		snprintf(err, errcap, "the access policy does not parse: %s", perr);
		goto out;
	}
	missing = policy_resolve(g->pol);
	if (missing > 0)
		log_msg(LOG_WARNING, "access policy: %d rule(s) name an unknown user or group "
			"and never match", missing);
	ret = audit_paths_new(AUDIT_PATHS_NONE, vol, &g->paths);
	if (ret)
		goto out;
	memcpy(g->volume_id, vol->cfg->volume_id, FORMAT_ID_LEN);
	atomic_init(&g->bg_checked, -1);
	log_msg(LOG_NOTICE, "access policy: %zu rule(s) enforced", policy_rules(g->pol));
	G = g;
	g = NULL;
out:
	if (dfd >= 0)
		close(dfd);
	free(text);
	if (g) {
		policy_free(g->pol);
		audit_paths_free(g->paths);
		free(g);
	}
	return ret;
}

void policy_gate_stop(void)
{
	struct gate *g = G;

	G = NULL;
	if (!g)
		return;
	policy_free(g->pol);
	audit_paths_free(g->paths);
	free(g);
}

/* Supplementary groups of pid from /proc/PID/status ("Groups:"). */
static size_t groups_of(pid_t pid, uint32_t *out, size_t cap)
{
	char p[64], line[1024];
	size_t n = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	f = pid > 0 ? fopen(p, "re") : NULL;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *s = line + 7, *end;

		if (strncmp(line, "Groups:", 7))
			continue;
		while (n < cap) {
			unsigned long g = strtoul(s, &end, 10);

			if (end == s)
				break;
			out[n++] = (uint32_t)g;
			s = end;
		}
		break;
	}
	fclose(f);
	return n;
}

/* The plaintext path of o ("" when it cannot be known: deleted, keys evicted
 * — then only rules without a path prefix can match). */
static void path_of(struct audit_obj *o, char *out, size_t cap)
{
	struct inode *base = o->dir ? o->dir : o->i;

	out[0] = '\0';
	if (!base || audit_path_of(G->paths, base, o->dir ? o->name : NULL, out, cap))
		out[0] = '\0';
}

/* Is a `phifs unlock --break-glass` session active? Asked of the keyring at
 * most once a second (a session starts or ends within a second, like lock). */
static int break_glass_active(void)
{
	struct timespec ts;
	char reason[KEYRING_REASON_MAX + 1];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (atomic_exchange(&G->bg_checked, (long)ts.tv_sec) != (long)ts.tv_sec)
		atomic_store(&G->bg_active,
			     keyring_break_glass(G->volume_id, reason, sizeof(reason)) == 0);
	return atomic_load(&G->bg_active);
}

static const enum policy_action actions_list[] = { POLICY_READ, POLICY_WRITE, POLICY_METADATA };

/* One object: every action bit must be permitted. */
static int check_obj(struct opctx *c, const struct policy_who *who, unsigned actions,
		     struct audit_obj *o, time_t now)
{
	char path[PATH_MAX];

	path_of(o, path, sizeof(path));
	for (size_t k = 0; k < sizeof(actions_list) / sizeof(actions_list[0]); k++) {
		struct policy_match m;
		enum policy_effect e;

		if (!(actions & (unsigned)actions_list[k]))
			continue;
		e = policy_eval(G->pol, who, path, actions_list[k], now, &m);
		if (e == POLICY_DENY) {
			c->policy_denied = 1;
			audit_denied(c, "policy", (int)m.rule, 0, o);
			return -EACCES;
		}
		if (m.learn)
			audit_denied(c, "policy", (int)m.rule, 1, o);
		if (m.break_glass)
			c->review = OPCTX_REVIEW_BREAK_GLASS;
		else if (e == POLICY_AUDIT && c->review == OPCTX_REVIEW_NONE)
			c->review = OPCTX_REVIEW_AUDIT;
		if (e == POLICY_AUDIT && !c->rule)
			c->rule = m.rule;
	}
	return 0;
}

int policy_gate_check(struct opctx *c, unsigned actions, struct audit_obj *o,
		      struct audit_obj *o2)
{
	uint32_t groups[GATE_MAX_GROUPS];
	struct audit_actor a;
	struct policy_who who;
	time_t now = time(NULL);
	int ret;

	if (!G)
		return 0;
	audit_actor_fill(&a, c->uid, c->gid, c->pid);
	who.uid = c->uid;
	who.gid = c->gid;
	who.groups = groups;
	who.ngroups = groups_of(c->pid, groups, GATE_MAX_GROUPS);
	who.exe = a.exe[0] ? a.exe : NULL;
	who.no_break_glass = !break_glass_active();
	ret = check_obj(c, &who, actions, o, now);
	if (!ret && o2)
		ret = check_obj(c, &who, POLICY_WRITE, o2, now);
	return ret;
}
