/*
 * test_mq.c: message queues: order, growth, scheduling through the global
 * queue, overload reports, and release of a queue whose owner is gone.
 */
#include "core_fixture.h"
#include "mq.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void drop_count(struct skynet_message *msg, void *ud)
{
	(void)msg;
	(*(int *)ud)++;
}

static void release(struct message_queue *q)
{
	int dropped = 0;
	skynet_mq_mark_release(q);
	while (skynet_globalmq_pop() != NULL)
		;
	skynet_mq_release(q, drop_count, &dropped);
}

static void fifo_order_and_growth(void **state)
{
	(void)state;
	struct message_queue *q = core_idle_queue(7);
	for (int i = 1; i <= 1000; i++) {
		struct skynet_message m = core_message(i);
		skynet_mq_push(q, &m);
	}
	assert_int_equal(skynet_mq_length(q), 1000);
	for (int i = 1; i <= 1000; i++) {
		struct skynet_message m;
		assert_int_equal(skynet_mq_pop(q, &m), 0);
		assert_int_equal(m.session, i);
	}
	struct skynet_message m;
	assert_int_equal(skynet_mq_pop(q, &m), 1);
	release(q);
}

static void scheduled_once_while_busy(void **state)
{
	(void)state;
	struct message_queue *q = core_idle_queue(8);
	assert_true(skynet_globalmq_empty());
	for (int i = 1; i <= 3; i++) {
		struct skynet_message m = core_message(i);
		skynet_mq_push(q, &m);
	}
	assert_ptr_equal(skynet_globalmq_pop(), q);
	assert_null(skynet_globalmq_pop());
	/* Drained: the next push schedules it again. */
	struct skynet_message m;
	while (skynet_mq_pop(q, &m) == 0)
		;
	skynet_mq_push(q, &m);
	assert_ptr_equal(skynet_globalmq_pop(), q);
	release(q);
}

static void overload_reported_once_per_doubling(void **state)
{
	(void)state;
	struct message_queue *q = core_idle_queue(9);
	for (int i = 0; i < 3000; i++) {
		struct skynet_message m = core_message(i + 1);
		skynet_mq_push(q, &m);
	}
	struct skynet_message m;
	skynet_mq_pop(q, &m);
	int first = skynet_mq_overload(q);
	assert_true(first > 1024);
	assert_int_equal(skynet_mq_overload(q), 0);
	skynet_mq_pop(q, &m);
	assert_int_equal(skynet_mq_overload(q), 0); /* threshold doubled */
	release(q);
}

static void release_hands_back_every_message(void **state)
{
	(void)state;
	struct message_queue *q = core_idle_queue(10);
	for (int i = 0; i < 5; i++) {
		struct skynet_message m = core_message(i + 1);
		skynet_mq_push(q, &m);
	}
	skynet_mq_mark_release(q);
	assert_ptr_equal(skynet_globalmq_pop(), q);
	int dropped = 0;
	skynet_mq_release(q, drop_count, &dropped);
	assert_int_equal(dropped, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fifo_order_and_growth),
		cmocka_unit_test(scheduled_once_while_busy),
		cmocka_unit_test(overload_reported_once_per_doubling),
		cmocka_unit_test(release_hands_back_every_message),
	};
	return cmocka_run_group_tests(tests, core_group_setup, core_group_teardown);
}
