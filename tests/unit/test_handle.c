/*
 * test_handle.c: the handle table: unique handles with the harbor id in the
 * top byte, growth, lookup, local names, retirement; and messages between
 * two services through the whole send/dispatch path.
 */
#include "core_fixture.h"
#include "handle.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#define MANY 300

static void handles_carry_harbor_and_are_unique(void **state)
{
	(void)state;
	static struct received logs[MANY];
	uint32_t handles[MANY];
	for (int i = 0; i < MANY; i++) {
		handles[i] = core_recording_service(&logs[i]);
		assert_int_equal(handles[i] >> 24, 3);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(handles[i], handles[j]);
	}
	for (int i = 0; i < MANY; i++) {
		struct skynet_context *ctx = skynet_handle_grab(handles[i]);
		assert_non_null(ctx);
		assert_int_equal(skynet_context_handle(ctx), handles[i]);
		skynet_context_release(ctx);
	}
	for (int i = 0; i < MANY; i++)
		assert_int_equal(skynet_handle_retire(handles[i]), 1);
	assert_null(skynet_handle_grab(handles[0]));
	assert_int_equal(skynet_handle_retire(handles[0]), 0);
	core_dispatch_all(); /* frees the released queues */
}

static void names_bind_once_and_die_with_their_handle(void **state)
{
	(void)state;
	struct received log = { 0 };
	uint32_t h = core_recording_service(&log);
	assert_non_null(skynet_handle_namehandle(h, "alpha"));
	assert_non_null(skynet_handle_namehandle(h, "beta"));
	assert_null(skynet_handle_namehandle(h, "alpha"));
	assert_int_equal(skynet_handle_findname("alpha"), h);
	assert_int_equal(skynet_handle_findname("beta"), h);
	assert_int_equal(skynet_handle_findname("gamma"), 0);
	assert_int_equal(skynet_queryname(NULL, ".beta"), h);
	skynet_handle_retire(h);
	assert_int_equal(skynet_handle_findname("alpha"), 0);
	core_dispatch_all();
}

static void send_and_dispatch_in_order(void **state)
{
	(void)state;
	struct received a = { 0 }, b = { 0 };
	uint32_t ha = core_recording_service(&a);
	uint32_t hb = core_recording_service(&b);
	core_dispatch_all();
	for (int i = 1; i <= 10; i++) {
		char text[16];
		int n = snprintf(text, sizeof(text), "m%d", i);
		assert_int_equal(skynet_send(NULL, ha, hb, PTYPE_TEXT, i, text, n), i);
	}
	assert_int_equal(skynet_sendname(NULL, ha, ":00000000", PTYPE_TEXT, 0,
					 "x", 1), -1);
	core_dispatch_all();
	assert_int_equal(b.count, 10);
	for (int i = 0; i < 10; i++) {
		char want[16];
		snprintf(want, sizeof(want), "m%d", i + 1);
		assert_string_equal(b.text[i], want);
		assert_int_equal(b.source[i], ha);
		assert_int_equal(b.session[i], i + 1);
	}
	skynet_handle_retire(ha);
	skynet_handle_retire(hb);
	core_dispatch_all();
}

static void requests_to_a_dead_service_bounce_as_errors(void **state)
{
	(void)state;
	struct received caller = { 0 }, callee = { 0 };
	uint32_t hc = core_recording_service(&caller);
	uint32_t hd = core_recording_service(&callee);
	core_dispatch_all();
	assert_int_equal(skynet_send(NULL, hc, hd, PTYPE_TEXT, 42, "q", 1), 42);
	skynet_handle_retire(hd); /* the request is still queued */
	core_dispatch_all();
	assert_int_equal(callee.count, 0);
	assert_int_equal(caller.count, 1);
	assert_int_equal(caller.type[0], PTYPE_ERROR);
	assert_int_equal(caller.session[0], 42);
	assert_int_equal(caller.source[0], hd);
	assert_int_equal(skynet_send(NULL, hc, hd, PTYPE_TEXT, 43, "q", 1), -1);
	skynet_handle_retire(hc);
	core_dispatch_all();
}

/* Harbor 3, so handles must carry it in their top byte. */
static int setup_harbor3(void **state)
{
	(void)state;
	core_up(3);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(handles_carry_harbor_and_are_unique),
		cmocka_unit_test(names_bind_once_and_die_with_their_handle),
		cmocka_unit_test(send_and_dispatch_in_order),
		cmocka_unit_test(requests_to_a_dead_service_bounce_as_errors),
	};
	return cmocka_run_group_tests(tests, setup_harbor3, core_group_teardown);
}
