/*
 * test_redis_driver.c: the Redis driver against a real redis-server:
 * round trips, pipelining, timeouts, reconnects, pub/sub renewal, AUTH,
 * SELECT, scripts, unix sockets, keep-alive and shutdown.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "driver_fixture.h"
#include "redis_driver.h"
#include "redis_fixture.h"

#define WAIT_MS 3000

/* ---- collecting what the driver thread hands us ----------------------- */

struct box {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int calls;
	int type;
	long long integer;
	char str[512];
};

struct watch {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int ups, downs, messages;
	char last_message[128];
};

static void box_init(struct box *b) {
	memset(b, 0, sizeof *b);
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->changed, NULL);
}

static void box_free(struct box *b) {
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->changed);
}

static void into_box(void *ud, const struct rd_reply *r) {
	struct box *b = ud;
	size_t len;
	const char *s = rd_reply_str(r, &len);
	pthread_mutex_lock(&b->lock);
	b->calls++;
	b->type = rd_reply_type(r);
	b->integer = rd_reply_integer(r);
	snprintf(b->str, sizeof b->str, "%.*s", (int)len, s ? s : "");
	pthread_cond_broadcast(&b->changed);
	pthread_mutex_unlock(&b->lock);
}

static struct timespec deadline_in(int ms) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* Wait until *counter >= n (read under lock); returns the final value. */
static int wait_count(pthread_mutex_t *lock, pthread_cond_t *cond, const int *counter,
                      int n, int ms) {
	struct timespec until = deadline_in(ms);
	pthread_mutex_lock(lock);
	while (*counter < n && pthread_cond_timedwait(cond, lock, &until) == 0)
		;
	int value = *counter;
	pthread_mutex_unlock(lock);
	return value;
}

static void watch_state(void *ud, int connected, const char *text) {
	struct watch *w = ud;
	(void)text;
	pthread_mutex_lock(&w->lock);
	if (connected)
		w->ups++;
	else
		w->downs++;
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->lock);
}

static void watch_message(void *ud, const struct rd_reply *msg) {
	struct watch *w = ud;
	size_t n = rd_reply_count(msg), len;
	const char *payload = rd_reply_str(rd_reply_at(msg, n - 1), &len);
	pthread_mutex_lock(&w->lock);
	w->messages++;
	snprintf(w->last_message, sizeof w->last_message, "%.*s", (int)len, payload);
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->lock);
}

static struct watch *watch_new(void) {
	struct watch *w = calloc(1, sizeof *w);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->changed, NULL);
	return w;
}

static void watch_free(struct watch *w) {
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->changed);
	free(w);
}

static int wait_ups(struct watch *w, int n) {
	return wait_count(&w->lock, &w->changed, &w->ups, n, WAIT_MS);
}

/* ---- issuing commands ------------------------------------------------- */

/* Run one command and wait for its single answer into b. */
#define RUN(rd, b, ...)                                                        \
	do {                                                                   \
		box_init(b);                                                   \
		driver_fixture_submit(rd, 0, into_box, b, __VA_ARGS__);         \
		assert_int_equal(wait_count(&(b)->lock, &(b)->changed,         \
		                            &(b)->calls, 1, WAIT_MS), 1);      \
	} while (0)

static struct rd *driver_for(const char *address, struct watch *w, const struct rd_config *base) {
	struct rd_config cfg = base ? *base : (struct rd_config){ 0 };
	char err[256];
	cfg.address = address;
	cfg.backoff_min_ms = cfg.backoff_min_ms ? cfg.backoff_min_ms : 20;
	cfg.backoff_max_ms = cfg.backoff_max_ms ? cfg.backoff_max_ms : 200;
	cfg.on_state = w ? watch_state : NULL;
	cfg.ud = w;
	cfg.log = driver_fixture_log;
	struct rd *rd = rd_create(&cfg, err, sizeof err);
	if (!rd)
		fail_msg("rd_create: %s", err);
	return rd;
}

static long long elapsed_ms(struct timespec since) {
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since.tv_sec) * 1000LL + (now.tv_nsec - since.tv_nsec) / 1000000LL;
}

static struct timespec mono_now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

/* ---- group with one shared server ------------------------------------- */

static struct redis_fixture shared;

static int start_shared(void **state) {
	(void)state;
	return redis_fixture_start(&shared, 0, NULL);
}

static int stop_shared(void **state) {
	(void)state;
	redis_fixture_stop(&shared);
	return 0;
}

static void test_get_set(void **state) {
	(void)state;
	struct rd *rd = driver_for(shared.address, NULL, NULL);
	struct box b;
	RUN(rd, &b, "SET %s %s", "greeting", "hello");
	assert_int_equal(b.type, RD_STATUS);
	assert_string_equal(b.str, "OK");
	RUN(rd, &b, "GET %s", "greeting");
	assert_int_equal(b.type, RD_STRING);
	assert_string_equal(b.str, "hello");
	RUN(rd, &b, "GET %s", "no-such-key");
	assert_int_equal(b.type, RD_NIL);
	RUN(rd, &b, "LPUSH %s %s", "greeting", "x");
	assert_int_equal(b.type, RD_ERROR);
	assert_non_null(strstr(b.str, "WRONGTYPE"));
	box_free(&b);
	rd_destroy(rd);
}

#define PIPELINED 10000

struct ordered {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int calls;
	int out_of_order;
};

static void check_order(void *ud, const struct rd_reply *r) {
	struct ordered *o = ud;
	pthread_mutex_lock(&o->lock);
	o->calls++;
	if (rd_reply_type(r) != RD_INTEGER || rd_reply_integer(r) != o->calls)
		o->out_of_order++;
	pthread_cond_broadcast(&o->changed);
	pthread_mutex_unlock(&o->lock);
}

static void test_pipelined_in_order(void **state) {
	(void)state;
	struct rd *rd = driver_for(shared.address, NULL, NULL);
	struct ordered o = { .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER };
	char *cmd;
	int len = redisFormatCommand(&cmd, "INCR %s", "pipelined-counter");
	for (int i = 0; i < PIPELINED; i++)
		rd_submit(rd, cmd, (size_t)len, 5000, check_order, &o);
	redisFreeCommand(cmd);
	assert_int_equal(wait_count(&o.lock, &o.changed, &o.calls, PIPELINED, 10000), PIPELINED);
	assert_int_equal(o.out_of_order, 0);
	rd_destroy(rd);
}

static void test_request_timeout(void **state) {
	(void)state;
	struct rd *rd = driver_for(shared.address, NULL, NULL);
	struct box slow, next;
	RUN(rd, &next, "PING"); /* connected */
	box_init(&slow);
	struct timespec t0 = mono_now();
	driver_fixture_submit(rd, 100, into_box, &slow, "DEBUG SLEEP %s", "0.5");
	assert_int_equal(wait_count(&slow.lock, &slow.changed, &slow.calls, 1, WAIT_MS), 1);
	long long took = elapsed_ms(t0);
	assert_int_equal(slow.type, RD_DRIVER_ERROR);
	assert_int_equal(slow.integer, RD_ERR_TIMEOUT);
	assert_string_equal(slow.str, "timeout after 100 ms");
	assert_true(took >= 90 && took < 400);
	RUN(rd, &next, "SET %s %s", "after-timeout", "yes");
	assert_string_equal(next.str, "OK");
	RUN(rd, &next, "GET %s", "after-timeout");
	assert_string_equal(next.str, "yes");
	assert_int_equal(slow.calls, 1); /* the late reply was dropped */
	rd_destroy(rd);
	box_free(&slow);
	box_free(&next);
}

static void test_evalsha_reloads_after_flush(void **state) {
	(void)state;
	static const char text[] = "return redis.call('INCRBY', KEYS[1], ARGV[1])";
	struct rd *rd = driver_for(shared.address, NULL, NULL);
	struct rd_script *script = rd_script_create(rd, text, sizeof text - 1);
	const char *argv[] = { "1", "script-counter", "5" };
	const size_t argvlen[] = { 1, 14, 1 };
	struct box b;
	box_init(&b);
	rd_submit_script(rd, script, 3, argv, argvlen, 0, into_box, &b);
	assert_int_equal(wait_count(&b.lock, &b.changed, &b.calls, 1, WAIT_MS), 1);
	assert_int_equal(b.type, RD_INTEGER);
	assert_int_equal(b.integer, 5);
	struct box flush;
	RUN(rd, &flush, "SCRIPT FLUSH");
	assert_string_equal(flush.str, "OK");
	rd_submit_script(rd, script, 3, argv, argvlen, 0, into_box, &b);
	assert_int_equal(wait_count(&b.lock, &b.changed, &b.calls, 2, WAIT_MS), 2);
	assert_int_equal(b.type, RD_INTEGER);
	assert_int_equal(b.integer, 10);
	rd_destroy(rd);
	box_free(&b);
	box_free(&flush);
}

static void test_bad_script_reports_redis_error(void **state) {
	(void)state;
	static const char text[] = "this is not lua";
	struct rd *rd = driver_for(shared.address, NULL, NULL);
	struct rd_script *script = rd_script_create(rd, text, sizeof text - 1);
	const char *argv[] = { "0" };
	const size_t argvlen[] = { 1 };
	struct box b;
	box_init(&b);
	rd_submit_script(rd, script, 1, argv, argvlen, 0, into_box, &b);
	assert_int_equal(wait_count(&b.lock, &b.changed, &b.calls, 1, WAIT_MS), 1);
	assert_int_equal(b.type, RD_ERROR);
	assert_non_null(strstr(b.str, "ERR"));
	rd_destroy(rd);
	box_free(&b);
}

static void test_unix_socket(void **state) {
	(void)state;
	struct rd *rd = driver_for(shared.unix_path, NULL, NULL);
	struct box b;
	RUN(rd, &b, "SET %s %s", "via-unix", "1");
	assert_string_equal(b.str, "OK");
	RUN(rd, &b, "GET %s", "via-unix");
	assert_string_equal(b.str, "1");
	box_free(&b);
	rd_destroy(rd);
}

static void test_select_db(void **state) {
	(void)state;
	struct rd_config in_db3 = { .db = 3 };
	struct rd *rd3 = driver_for(shared.address, NULL, &in_db3);
	struct rd *rd0 = driver_for(shared.address, NULL, NULL);
	struct box b;
	RUN(rd3, &b, "SET %s %s", "in-db3", "three");
	RUN(rd3, &b, "GET %s", "in-db3");
	assert_string_equal(b.str, "three");
	RUN(rd0, &b, "GET %s", "in-db3");
	assert_int_equal(b.type, RD_NIL);
	RUN(rd3, &b, "CLIENT INFO");
	assert_non_null(strstr(b.str, " db=3 "));
	box_free(&b);
	rd_destroy(rd3);
	rd_destroy(rd0);
}

/* rd_destroy while requests are still queued or in flight. */
#define IN_FLIGHT 200

struct counter {
	pthread_mutex_t lock;
	int calls[IN_FLIGHT];
	int stopped;
};

struct slot {
	struct counter *c;
	int index;
};

static void count_call(void *ud, const struct rd_reply *r) {
	struct slot *s = ud;
	pthread_mutex_lock(&s->c->lock);
	s->c->calls[s->index]++;
	if (rd_reply_type(r) == RD_DRIVER_ERROR && rd_reply_integer(r) == RD_ERR_STOPPED) {
		size_t len;
		const char *text = rd_reply_str(r, &len);
		if (len == 14 && memcmp(text, "driver stopped", 14) == 0)
			s->c->stopped++;
	}
	pthread_mutex_unlock(&s->c->lock);
}

static void test_destroy_answers_everything_once(void **state) {
	(void)state;
	struct rd *rd = driver_for(shared.address, NULL, NULL);
	struct box b;
	RUN(rd, &b, "PING");
	struct counter c = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct slot slots[IN_FLIGHT];
	char *sleep_cmd, *get_cmd;
	int sleep_len = redisFormatCommand(&sleep_cmd, "DEBUG SLEEP %s", "0.3");
	int get_len = redisFormatCommand(&get_cmd, "GET %s", "k");
	for (int i = 0; i < IN_FLIGHT; i++) {
		slots[i] = (struct slot){ &c, i };
		if (i == 0)
			rd_submit(rd, sleep_cmd, (size_t)sleep_len, 5000, count_call, &slots[i]);
		else
			rd_submit(rd, get_cmd, (size_t)get_len, 5000, count_call, &slots[i]);
	}
	rd_destroy(rd);
	for (int i = 0; i < IN_FLIGHT; i++)
		assert_int_equal(c.calls[i], 1);
	assert_int_equal(c.stopped, IN_FLIGHT);
	redisFreeCommand(sleep_cmd);
	redisFreeCommand(get_cmd);
	box_free(&b);
	/* the server is still asleep; let the next test find it awake */
	struct timespec pause = { 0, 400 * 1000000L };
	nanosleep(&pause, NULL);
}

/* ---- tests with their own server -------------------------------------- */

static void test_unreachable_then_connects(void **state) {
	(void)state;
	struct redis_fixture f;
	assert_int_equal(redis_fixture_init(&f, 0, NULL), 0);
	struct watch *w = watch_new();
	struct rd *rd = driver_for(f.address, w, NULL);
	struct box b;
	char expected[64];
	snprintf(expected, sizeof expected, "redis unreachable at %s: ", f.address);
	box_init(&b);
	struct timespec t0 = mono_now();
	driver_fixture_submit(rd, 300, into_box, &b, "PING");
	assert_int_equal(wait_count(&b.lock, &b.changed, &b.calls, 1, WAIT_MS), 1);
	assert_true(elapsed_ms(t0) <= 350);
	assert_int_equal(b.type, RD_DRIVER_ERROR);
	assert_int_equal(b.integer, RD_ERR_UNREACHABLE);
	assert_memory_equal(b.str, expected, strlen(expected));
	assert_int_equal(redis_fixture_launch(&f), 0);
	assert_int_equal(wait_ups(w, 1), 1);
	RUN(rd, &b, "PING");
	assert_string_equal(b.str, "PONG");
	rd_destroy(rd);
	redis_fixture_stop(&f);
	watch_free(w);
	box_free(&b);
}

static void test_restart_resubscribes(void **state) {
	(void)state;
	struct redis_fixture f;
	assert_int_equal(redis_fixture_start(&f, 0, NULL), 0);
	struct watch *w = watch_new();
	struct rd *rd = driver_for(f.address, w, NULL);
	struct box b;
	rd_subscribe(rd, "news", 4, 0, watch_message, w);
	rd_subscribe(rd, "chan.*", 6, 1, watch_message, w);
	assert_int_equal(wait_ups(w, 1), 1);
	RUN(rd, &b, "PUBLISH %s %s", "news", "before");
	assert_int_equal(wait_count(&w->lock, &w->changed, &w->messages, 1, WAIT_MS), 1);
	assert_string_equal(w->last_message, "before");

	redis_fixture_kill(&f);
	assert_int_equal(wait_count(&w->lock, &w->changed, &w->downs, 1, WAIT_MS), 1);
	RUN(rd, &b, "PING");
	assert_int_equal(b.type, RD_DRIVER_ERROR);
	assert_non_null(strstr(b.str, f.address));

	assert_int_equal(redis_fixture_launch(&f), 0);
	assert_int_equal(wait_ups(w, 2), 2);
	RUN(rd, &b, "PUBLISH %s %s", "news", "after");
	assert_int_equal(b.integer, 1);
	assert_int_equal(wait_count(&w->lock, &w->changed, &w->messages, 2, WAIT_MS), 2);
	assert_string_equal(w->last_message, "after");
	RUN(rd, &b, "PUBLISH %s %s", "chan.x", "by-pattern");
	assert_int_equal(wait_count(&w->lock, &w->changed, &w->messages, 3, WAIT_MS), 3);
	assert_string_equal(w->last_message, "by-pattern");
	rd_destroy(rd);
	redis_fixture_stop(&f);
	watch_free(w);
	box_free(&b);
}

static void test_keepalive_detects_frozen_server(void **state) {
	(void)state;
	struct redis_fixture f;
	assert_int_equal(redis_fixture_start(&f, 0, NULL), 0);
	struct watch *w = watch_new();
	struct rd_config fast = { .keepalive_ms = 100, .keepalive_timeout_ms = 200 };
	struct rd *rd = driver_for(f.address, w, &fast);
	assert_int_equal(wait_ups(w, 1), 1);
	redis_fixture_signal(&f, SIGSTOP);
	assert_int_equal(wait_count(&w->lock, &w->changed, &w->downs, 1, 1500), 1);
	redis_fixture_signal(&f, SIGCONT);
	assert_int_equal(wait_ups(w, 2), 2);
	rd_destroy(rd);
	redis_fixture_stop(&f);
	watch_free(w);
}

static void test_auth(void **state) {
	(void)state;
	const char *const secret[] = { "--requirepass", "s3cret", NULL };
	struct redis_fixture f;
	assert_int_equal(redis_fixture_start(&f, 0, secret), 0);
	struct box b;

	struct rd_config good = { .password = "s3cret" };
	struct rd *rd = driver_for(f.address, NULL, &good);
	RUN(rd, &b, "SET %s %s", "authed", "1");
	assert_string_equal(b.str, "OK");
	rd_destroy(rd);

	struct rd_config with_user = { .user = "default", .password = "s3cret" };
	rd = driver_for(f.address, NULL, &with_user);
	RUN(rd, &b, "GET %s", "authed");
	assert_string_equal(b.str, "1");
	rd_destroy(rd);

	struct rd_config bad = { .password = "wrong" };
	rd = driver_for(f.address, NULL, &bad);
	RUN(rd, &b, "GET %s", "authed");
	assert_int_equal(b.type, RD_DRIVER_ERROR);
	assert_non_null(strstr(b.str, f.address));
	assert_non_null(strstr(b.str, "WRONGPASS"));
	rd_destroy(rd);

	redis_fixture_stop(&f);
	box_free(&b);
}

static void test_bad_address_refused(void **state) {
	(void)state;
	struct rd_config cfg = { .address = "no-port-here" };
	char err[256];
	assert_null(rd_create(&cfg, err, sizeof err));
	assert_non_null(strstr(err, "no-port-here"));
}

int main(void) {
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest with_shared_server[] = {
		cmocka_unit_test(test_get_set),
		cmocka_unit_test(test_pipelined_in_order),
		cmocka_unit_test(test_request_timeout),
		cmocka_unit_test(test_evalsha_reloads_after_flush),
		cmocka_unit_test(test_bad_script_reports_redis_error),
		cmocka_unit_test(test_unix_socket),
		cmocka_unit_test(test_select_db),
		cmocka_unit_test(test_destroy_answers_everything_once),
	};
	const struct CMUnitTest with_own_server[] = {
		cmocka_unit_test(test_unreachable_then_connects),
		cmocka_unit_test(test_restart_resubscribes),
		cmocka_unit_test(test_keepalive_detects_frozen_server),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_bad_address_refused),
	};
	int failed = cmocka_run_group_tests_name("shared server", with_shared_server,
	                                         start_shared, stop_shared);
	failed += cmocka_run_group_tests_name("own server", with_own_server, NULL, NULL);
	return failed;
}
