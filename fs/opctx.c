/*
 * opctx.c: hooks called around every FUSE operation. With no hooks installed
 * (the core filesystem alone) every operation is permitted and nothing is
 * recorded; the policy and audit modules install theirs at mount time, before
 * the session loop starts, so the pointers are read without a lock.
 */
#include "config.h"

#include <stddef.h>

#include "opctx.h"

static opctx_check_fn hook_check;
static opctx_done_fn hook_done;
static void *hook_arg;

void opctx_set_hooks(opctx_check_fn check, opctx_done_fn done, void *arg)
{
	hook_check = check;
	hook_done = done;
	hook_arg = arg;
}

int opctx_check(const struct opctx *c)
{
	return hook_check ? hook_check(hook_arg, c) : 0;
}

void opctx_done(const struct opctx *c, int64_t result)
{
	if (hook_done)
		hook_done(hook_arg, c, result);
}
