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
static void *check_arg;
static opctx_done_fn hook_done;
static void *done_arg;
static _Thread_local const struct opctx *current;

void opctx_set_check(opctx_check_fn check, void *arg)
{
	hook_check = check;
	check_arg = arg;
}

void opctx_set_done(opctx_done_fn done, void *arg)
{
	hook_done = done;
	done_arg = arg;
}

void opctx_set_hooks(opctx_check_fn check, opctx_done_fn done, void *arg)
{
	opctx_set_check(check, arg);
	opctx_set_done(done, arg);
}

int opctx_check(const struct opctx *c)
{
	current = c;
	return hook_check ? hook_check(check_arg, c) : 0;
}

void opctx_done(const struct opctx *c, int64_t result)
{
	if (hook_done)
		hook_done(done_arg, c, result);
	current = NULL;
}

const struct opctx *opctx_current(void)
{
	return current;
}
