/*
 * driver_fixture.c: see driver_fixture.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "driver_fixture.h"

#include <stdio.h>
#include <stdlib.h>

#include <hiredis/hiredis.h>

void driver_fixture_log(void *ud, const char *line) {
	(void)ud;
	if (getenv("RD_TEST_LOG"))
		fprintf(stderr, "[driver] %s\n", line);
}

void driver_fixture_submit(struct rd *rd, int timeout_ms, rd_reply_fn on_reply, void *ud,
                           const char *fmt, ...) {
	char *cmd;
	va_list ap;
	va_start(ap, fmt);
	int len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	assert_true(len > 0);
	rd_submit(rd, cmd, (size_t)len, timeout_ms, on_reply, ud);
	redisFreeCommand(cmd);
}
