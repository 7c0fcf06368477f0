/*
 * driver_fixture.h: helpers shared by the tests that drive the Redis driver
 * (coord/redis_driver.c) against real redis processes.
 */
#ifndef DRIVER_FIXTURE_H
#define DRIVER_FIXTURE_H

#include "redis_driver.h"

/* An rd_log_fn: prints the driver's log lines to stderr when the
 * environment variable RD_TEST_LOG is set, else drops them. */
void driver_fixture_log(void *ud, const char *line);

/* Formats a command the way redisCommand does and submits it; the reply
 * goes to on_reply(ud, ...).  Fails the current test if fmt is invalid. */
void driver_fixture_submit(struct rd *rd, int timeout_ms, rd_reply_fn on_reply, void *ud,
                           const char *fmt, ...);

#endif
