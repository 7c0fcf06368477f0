/*
 * test_scheduler.c: the workers' "next" slots: a queue that gets work on a
 * worker waits in its slot, runs before the global queue only when nothing
 * waits there, goes to the global queue when the slot is taken or the
 * worker detaches, and is taken over by an idle worker when its own worker
 * does not come back for it.  Also how a worker leaves a queue (requeue).
 */
#include "core_fixture.h"
#include "mq.h"
#include "scheduler.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>
#include <cmocka.h>

static void push_one(struct message_queue *q, int session)
{
	struct skynet_message m = core_message(session);
	skynet_mq_push(q, &m);
}

static void drain(struct message_queue *q)
{
	struct skynet_message m;
	while (skynet_mq_pop(q, &m) == 0)
		;
}

static void drop(struct skynet_message *msg, void *ud)
{
	(void)msg;
	(void)ud;
}

static void release(struct message_queue *q)
{
	drain(q);
	skynet_mq_mark_release(q);
	while (skynet_sched_next() != NULL)
		;
	skynet_mq_release(q, drop, NULL);
}

static int setup(void **state)
{
	(void)state;
	core_up(0);
	skynet_sched_init(2);
	skynet_sched_attach(0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	skynet_sched_detach();
	skynet_sched_free();
	core_down();
	return 0;
}

static void work_from_a_worker_waits_in_its_slot(void **state)
{
	(void)state;
	struct message_queue *a = core_idle_queue(1), *b = core_idle_queue(2);
	push_one(a, 1);
	assert_true(skynet_globalmq_empty());
	push_one(b, 1); /* the slot is taken: b goes to the global queue */
	assert_false(skynet_globalmq_empty());
	/* b waited in the global queue first: a goes behind it */
	assert_ptr_equal(skynet_sched_next(), b);
	assert_ptr_equal(skynet_sched_next(), a);
	assert_null(skynet_sched_next());
	release(a);
	release(b);
}

static void the_slot_runs_first_when_nothing_else_waits(void **state)
{
	(void)state;
	struct message_queue *a = core_idle_queue(3);
	push_one(a, 1);
	push_one(a, 2); /* scheduled already: no second entry */
	assert_ptr_equal(skynet_sched_next(), a);
	assert_null(skynet_sched_next());
	release(a);
}

static void detach_hands_the_slot_to_the_global_queue(void **state)
{
	(void)state;
	struct message_queue *a = core_idle_queue(4);
	push_one(a, 1);
	skynet_sched_detach();
	assert_ptr_equal(skynet_globalmq_pop(), a);
	push_one(a, 2); /* still scheduled: nothing moves */
	drain(a);
	push_one(a, 3); /* from a thread that is no worker: global queue */
	assert_ptr_equal(skynet_globalmq_pop(), a);
	skynet_sched_attach(0);
	release(a);
}

static void requeue_keeps_only_a_queue_with_work(void **state)
{
	(void)state;
	struct message_queue *a = core_idle_queue(5);
	push_one(a, 1);
	assert_ptr_equal(skynet_sched_next(), a);
	push_one(a, 2); /* arrives while a runs */
	struct skynet_message m;
	assert_int_equal(skynet_mq_pop(a, &m), 0);
	skynet_mq_requeue(a); /* one message left: back to the global queue */
	assert_ptr_equal(skynet_globalmq_pop(), a);
	assert_int_equal(skynet_mq_pop(a, &m), 0);
	skynet_mq_requeue(a); /* empty: out of every queue */
	assert_null(skynet_sched_next());
	push_one(a, 3); /* so the next push schedules it again */
	assert_ptr_equal(skynet_sched_next(), a);
	assert_int_equal(skynet_mq_pop(a, &m), 0);
	skynet_mq_mark_release(a); /* owner gone while a runs */
	skynet_mq_requeue(a);
	assert_ptr_equal(skynet_globalmq_pop(), a);
	skynet_mq_release(a, drop, NULL);
}

/* Worker 1 on its own thread, idle: returns the queue it took, or NULL
 * after a second. */
static void *idle_worker(void *arg)
{
	(void)arg;
	skynet_sched_attach(1);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	struct message_queue *taken = NULL;
	do {
		taken = skynet_sched_wait();
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (taken == NULL && now.tv_sec - start.tv_sec < 2);
	skynet_sched_detach();
	return taken;
}

static void an_idle_worker_takes_a_slot_left_waiting(void **state)
{
	(void)state;
	struct message_queue *a = core_idle_queue(6);
	push_one(a, 1); /* this worker then "runs a long message" */
	pthread_t thread;
	pthread_create(&thread, NULL, idle_worker, NULL);
	void *taken = NULL;
	pthread_join(thread, &taken);
	assert_ptr_equal(taken, a);
	assert_null(skynet_sched_next());
	release(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(work_from_a_worker_waits_in_its_slot),
		cmocka_unit_test(the_slot_runs_first_when_nothing_else_waits),
		cmocka_unit_test(detach_hands_the_slot_to_the_global_queue),
		cmocka_unit_test(requeue_keeps_only_a_queue_with_work),
		cmocka_unit_test(an_idle_worker_takes_a_slot_left_waiting),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
