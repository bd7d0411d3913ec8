/*
 * fuzz-policy.c: libFuzzer harness for the access policy parser (fs/policy.c,
 * docs/FORMAT.md §11). The policy file is authenticated, but `phifs policy
 * check FILE` and `set` parse operator text before any MAC exists, so the
 * parser must hold on any bytes.
 *
 * The input is parsed; an accepted policy is evaluated for a handful of
 * accesses (names are not resolved: no NSS in a fuzzer), which must name a
 * rule within the policy and an effect in range. A refusal must leave no
 * policy behind and an error naming a line.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -Ifs \
 *   tests/fuzz/fuzz-policy.c fs/policy.c -o /tmp/fz
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "/", "/a", "/a/b", "/billing/x", "/clinical" };
	static const uint32_t groups[] = { 0, 77, 500 };
	struct policy_who who = { .uid = 1000, .gid = 1000, .groups = groups, .ngroups = 3,
				  .exe = "/usr/bin/cat" };
	struct policy *p = NULL;
	char err[128] = "";

	if (policy_parse((const char *)data, size, &p, err, sizeof(err)) != 0) {
		if (p || strncmp(err, "line ", 5))
			abort();
		return 0;
	}
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		for (unsigned a = POLICY_READ; a <= POLICY_METADATA; a <<= 1) {
			struct policy_match m;
			enum policy_effect e = policy_eval(p, &who, paths[i], (enum policy_action)a,
							   (time_t)(i * 40000), &m);

			if (m.rule > policy_rules(p) || e > POLICY_DENY || (m.learn && e != POLICY_AUDIT))
				abort();
		}
		who.uid = (uint32_t)i;
	}
	policy_free(p);
	return 0;
}
