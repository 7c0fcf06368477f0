/*
 * rt_hello.c: a C service loaded with dlopen from `cpath` by
 * test_runtime.sh.  It logs its launch argument and answers every text
 * request with "pong".
 */
#include "skynet.h"

#include <stdlib.h>

struct hello {
	int served;
};

void *hello_create(void) { return calloc(1, sizeof(struct hello)); }

void hello_release(void *inst) { free(inst); }

static int answer(struct skynet_context *ctx, void *ud, int type, int session,
		  uint32_t source, const void *msg, size_t sz)
{
	(void)msg;
	(void)sz;
	struct hello *h = ud;
	if (type == PTYPE_TEXT && session != 0) {
		h->served++;
		skynet_send(ctx, 0, source, PTYPE_RESPONSE, session, "pong", 4);
	}
	return 0;
}

int hello_init(void *inst, struct skynet_context *ctx, const char *parm)
{
	skynet_error(ctx, "hello %s from C", parm);
	skynet_callback(ctx, inst, answer);
	return 0;
}
