/*
 * core_fixture.c: see core_fixture.h.  Services are logger instances
 * writing to /dev/null whose callback is then replaced by a recorder.
 */
#include "core_fixture.h"
#include "handle.h"
#include "housekeeper.h"
#include "module.h"
#include "monitor.h"
#include "mq.h"
#include "timer.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static struct skynet_monitor *monitor;

void core_up(int harbor)
{
	skynet_housekeeper_init();
	skynet_handle_init(harbor);
	skynet_mq_init();
	skynet_module_init(NULL);
	skynet_timer_init();
	monitor = skynet_monitor_new();
}

static void drop(struct skynet_message *msg, void *ud)
{
	(void)ud;
	skynet_free(msg->data);
}

void core_down(void)
{
	skynet_handle_retireall();
	struct message_queue *q;
	while ((q = skynet_globalmq_pop()) != NULL)
		skynet_mq_release(q, drop, NULL);
	skynet_monitor_delete(monitor);
	skynet_timer_free();
	skynet_module_free();
	skynet_handle_free();
	skynet_mq_free();
	skynet_housekeeper_free();
}

int core_group_setup(void **state)
{
	(void)state;
	core_up(0);
	return 0;
}

int core_group_teardown(void **state)
{
	(void)state;
	core_down();
	return 0;
}

static int record(struct skynet_context *ctx, void *ud, int type, int session,
		  uint32_t source, const void *msg, size_t sz)
{
	(void)ctx;
	struct received *log = ud;
	if (log->count < 64) {
		int i = log->count;
		log->type[i] = type;
		log->session[i] = session;
		log->source[i] = source;
		size_t n = sz < 31 ? sz : 31;
		memcpy(log->text[i], msg ? msg : "", msg ? n : 0);
		log->text[i][msg ? n : 0] = '\0';
	}
	log->count++;
	return 0;
}

uint32_t core_recording_service(struct received *log)
{
	uint32_t handle = skynet_context_launch("logger", "/dev/null");
	struct skynet_context *ctx = skynet_handle_grab(handle);
	skynet_callback(ctx, log, record);
	skynet_context_release(ctx);
	return handle;
}

int core_dispatch_all(void)
{
	int n = 0;
	struct message_queue *q = NULL;
	do {
		q = skynet_context_message_dispatch(monitor, q, -1);
		n++;
	} while (q != NULL);
	return n;
}

struct skynet_message core_message(int session)
{
	struct skynet_message m = { 1, session, NULL, 0 };
	return m;
}

struct message_queue *core_idle_queue(uint32_t handle)
{
	struct message_queue *q = skynet_mq_create(handle);
	struct skynet_message m;
	assert_int_equal(skynet_mq_pop(q, &m), 1);
	return q;
}
