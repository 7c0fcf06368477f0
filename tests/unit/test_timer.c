/*
 * test_timer.c: timeouts fire in due order (ties in insertion order), not
 * before they are due, as PTYPE_RESPONSE messages carrying their session;
 * a zero timeout is delivered at once; the next due time is reported.
 */
#include "core_fixture.h"
#include "timer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#define CS_NS 10000000ull

static void fire_in_due_order(void **state)
{
	(void)state;
	struct received log = { 0 };
	uint32_t h = core_recording_service(&log);
	core_dispatch_all();
	uint64_t start = skynet_hpc();
	skynet_timeout(h, 30, 3);
	skynet_timeout(h, 10, 1);
	skynet_timeout(h, 20, 2);
	skynet_timeout(h, 20, 22);
	uint64_t next = skynet_timer_expire(start);
	assert_true(next >= start + 10 * CS_NS);
	assert_true(next <= skynet_hpc() + 10 * CS_NS);
	core_dispatch_all();
	assert_int_equal(log.count, 0);
	skynet_timer_expire(start + 25 * CS_NS);
	core_dispatch_all();
	assert_int_equal(log.count, 3);
	assert_int_equal(log.session[0], 1);
	assert_int_equal(log.session[1], 2);
	assert_int_equal(log.session[2], 22);
	assert_int_equal(log.type[0], PTYPE_RESPONSE);
	assert_int_equal(log.source[0], 0);
	assert_true(skynet_timer_expire(start + 100 * CS_NS) == UINT64_MAX);
	core_dispatch_all();
	assert_int_equal(log.count, 4);
	assert_int_equal(log.session[3], 3);
}

static void zero_timeout_is_immediate(void **state)
{
	(void)state;
	struct received log = { 0 };
	uint32_t h = core_recording_service(&log);
	core_dispatch_all();
	assert_int_equal(skynet_timeout(h, 0, 9), 9);
	core_dispatch_all();
	assert_int_equal(log.count, 1);
	assert_int_equal(log.session[0], 9);
	assert_int_equal(skynet_timeout(0x00ffffff, 0, 9), -1);
}

static void many_timers_heap_order(void **state)
{
	(void)state;
	struct received log = { 0 };
	uint32_t h = core_recording_service(&log);
	core_dispatch_all();
	uint64_t start = skynet_hpc();
	for (int i = 64; i >= 1; i--)
		skynet_timeout(h, i, i);
	skynet_timer_expire(start + 1000 * CS_NS);
	core_dispatch_all();
	assert_int_equal(log.count, 64);
	for (int i = 0; i < 64; i++)
		assert_int_equal(log.session[i], i + 1);
}

static void now_counts_centiseconds(void **state)
{
	(void)state;
	uint64_t before = skynet_now();
	struct timespec ts = { 0, 30 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	uint64_t after = skynet_now();
	assert_true(after >= before + 2 && after <= before + 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fire_in_due_order),
		cmocka_unit_test(zero_timeout_is_immediate),
		cmocka_unit_test(many_timers_heap_order),
		cmocka_unit_test(now_counts_centiseconds),
	};
	return cmocka_run_group_tests(tests, core_group_setup, core_group_teardown);
}
