/*
 * test_redis_sentinel.c: the Redis driver in Sentinel mode against real
 * processes: a master, a replica and three redis-sentinel (quorum 2).
 * The driver finds the master through the sentinels (skipping a dead one),
 * reports an unknown master name, follows a manual fail-over announced by
 * +switch-master (failing the request in flight as "lost"), and follows
 * the fail-over the sentinels make after the master is SIGKILLed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "driver_fixture.h"
#include "redis_driver.h"
#include "redis_fixture.h"

#define MASTER_NAME "m"
#define SENTINELS 3
#define SETUP_WAIT_MS 15000
#define FOLLOW_WAIT_MS 15000

static struct redis_fixture servers[2];   /* [0] starts as master, [1] as its replica */
static struct redis_fixture sentinels[SENTINELS];
static char sentinel_list[256];           /* a dead address first, then the three */

/* ---- talking to the processes directly (test thread) ------------------ */

static redisReply *ask(int port, const char *fmt, ...) {
	struct timeval tv = { 1, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	redisReply *r = NULL;
	if (c && !c->err && redisSetTimeout(c, tv) == REDIS_OK) {
		va_list ap;
		va_start(ap, fmt);
		r = redisvCommand(c, fmt, ap);
		va_end(ap);
	}
	if (c)
		redisFree(c);
	return r;
}

static void sleep_ms(int ms) {
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static long long mono_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Repeat check(arg) every 50 ms until it holds, at most ms. */
static int wait_until(int (*check)(const void *), const void *arg, int ms) {
	for (long long end = mono_ms() + ms; mono_ms() < end; sleep_ms(50))
		if (check(arg))
			return 1;
	return check(arg);
}

/* The replica at *port has a working link to its master. */
static int replica_synced(const void *port) {
	redisReply *r = ask(*(const int *)port, "INFO replication");
	int ok = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "master_link_status:up");
	freeReplyObject(r);
	return ok;
}

/* The field's value in SENTINEL MASTER's flat name/value array. */
static long long master_field(const redisReply *r, const char *field) {
	for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
		if (strcmp(r->element[i]->str, field) == 0)
			return atoll(r->element[i + 1]->str);
	return -1;
}

/* Every sentinel knows the other two and one replica. */
static int sentinels_agree(const void *unused) {
	(void)unused;
	for (int i = 0; i < SENTINELS; i++) {
		redisReply *r = ask(sentinels[i].port, "SENTINEL MASTER %s", MASTER_NAME);
		int ok = master_field(r, "num-other-sentinels") == SENTINELS - 1 &&
		         master_field(r, "num-slaves") >= 1;
		freeReplyObject(r);
		if (!ok)
			return 0;
	}
	return 1;
}

/* The port of the master as the first sentinel sees it, or -1. */
static int current_master_port(void) {
	redisReply *r = ask(sentinels[0].port, "SENTINEL get-master-addr-by-name %s", MASTER_NAME);
	int port = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 ? atoi(r->element[1]->str)
	                                                                   : -1;
	freeReplyObject(r);
	return port;
}

static struct redis_fixture *server_on(int port) {
	for (int i = 0; i < 2; i++)
		if (servers[i].port == port)
			return &servers[i];
	return NULL;
}

/* ---- what the driver thread reports ----------------------------------- */

struct seen {
	pthread_mutex_t lock;
	int ups;
	char up_text[128];     /* the address of the last "connected" */
	int replies;
	int type;
	long long integer;
	char text[512];
};

static void seen_init(struct seen *s) {
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->lock, NULL);
}

static void seen_free(struct seen *s) {
	pthread_mutex_destroy(&s->lock);
}

static void on_state(void *ud, int connected, const char *text) {
	struct seen *s = ud;
	pthread_mutex_lock(&s->lock);
	if (connected) {
		s->ups++;
		snprintf(s->up_text, sizeof s->up_text, "%s", text);
	}
	pthread_mutex_unlock(&s->lock);
}

static void on_reply(void *ud, const struct rd_reply *r) {
	struct seen *s = ud;
	size_t len;
	const char *str = rd_reply_str(r, &len);
	pthread_mutex_lock(&s->lock);
	s->replies++;
	s->type = rd_reply_type(r);
	s->integer = rd_reply_integer(r);
	snprintf(s->text, sizeof s->text, "%.*s", (int)len, str ? str : "");
	pthread_mutex_unlock(&s->lock);
}

/* Poll until *counter >= n, at most ms; returns the final value. */
static int wait_for(struct seen *s, const int *counter, int n, int ms) {
	long long end = mono_ms() + ms;
	pthread_mutex_lock(&s->lock);
	while (*counter < n && mono_ms() < end) {
		pthread_mutex_unlock(&s->lock);
		sleep_ms(10);
		pthread_mutex_lock(&s->lock);
	}
	int value = *counter;
	pthread_mutex_unlock(&s->lock);
	return value;
}

static struct rd *driver(const char *master_name, struct seen *s) {
	char err[256];
	struct rd_config cfg = {
		.sentinels = sentinel_list,
		.sentinel_master = master_name,
		.backoff_min_ms = 20,
		.backoff_max_ms = 300,
		.on_state = on_state,
		.log = driver_fixture_log,
		.ud = s,
	};
	struct rd *rd = rd_create(&cfg, err, sizeof err);
	if (!rd)
		fail_msg("rd_create: %s", err);
	return rd;
}

/* Run a command; 1 if it got the status/string reply want. */
static int run(struct rd *rd, const char *want, const char *fmt, const char *arg) {
	struct seen s;
	seen_init(&s);
	driver_fixture_submit(rd, 1000, on_reply, &s, fmt, arg);
	int ok = wait_for(&s, &s.replies, 1, 3000) == 1 && s.type != RD_DRIVER_ERROR &&
	         s.type != RD_ERROR && strcmp(s.text, want) == 0;
	if (!ok)
		print_message("%s %s -> type %d: %s\n", fmt, arg, s.type, s.text);
	seen_free(&s);
	return ok;
}

/* Keep writing until a SET is accepted or ms pass; 1 on success. */
static int set_succeeds_within(struct rd *rd, int ms) {
	for (long long end = mono_ms() + ms; mono_ms() < end; sleep_ms(100))
		if (run(rd, "OK", "SET after-switch %s", "yes"))
			return 1;
	return 0;
}

/* ---- setup ------------------------------------------------------------ */

static int start_all(void **state) {
	static char master_port[16];
	const char *replica_args[] = { "--replicaof", "127.0.0.1", master_port, NULL };
	int dead = redis_fixture_free_port();
	(void)state;
	if (redis_fixture_start(&servers[0], 0, NULL) < 0)
		return -1;
	snprintf(master_port, sizeof master_port, "%d", servers[0].port);
	if (redis_fixture_start(&servers[1], 0, replica_args) < 0 ||
	    !wait_until(replica_synced, &servers[1].port, SETUP_WAIT_MS))
		return -1;
	int n = snprintf(sentinel_list, sizeof sentinel_list, "127.0.0.1:%d", dead);
	for (int i = 0; i < SENTINELS; i++) {
		if (redis_fixture_start_sentinel(&sentinels[i], MASTER_NAME, servers[0].port, 2) < 0)
			return -1;
		n += snprintf(sentinel_list + n, sizeof sentinel_list - (size_t)n, ",127.0.0.1:%d",
		              sentinels[i].port);
	}
	if (!wait_until(sentinels_agree, NULL, SETUP_WAIT_MS)) {
		fprintf(stderr, "the sentinels did not discover each other within %d ms\n",
		        SETUP_WAIT_MS);
		return -1;
	}
	return 0;
}

static int stop_all(void **state) {
	(void)state;
	for (int i = 0; i < SENTINELS; i++)
		redis_fixture_stop(&sentinels[i]);
	for (int i = 0; i < 2; i++)
		redis_fixture_stop(&servers[i]);
	return 0;
}

/* ---- tests ------------------------------------------------------------ */

static void test_connects_through_sentinels(void **state) {
	struct seen s;
	(void)state;
	seen_init(&s);
	struct rd *rd = driver(MASTER_NAME, &s);
	assert_int_equal(wait_for(&s, &s.ups, 1, 3000), 1);
	assert_string_equal(s.up_text, servers[0].address);
	assert_true(run(rd, "OK", "SET greeting %s", "hello"));
	assert_true(run(rd, "hello", "GET %s", "greeting"));
	rd_destroy(rd);
	seen_free(&s);
}

static void test_unknown_master_name(void **state) {
	struct seen s;
	(void)state;
	seen_init(&s);
	struct rd *rd = driver("no-such-master", &s);
	driver_fixture_submit(rd, 2000, on_reply, &s, "PING");
	assert_int_equal(wait_for(&s, &s.replies, 1, 3000), 1);
	assert_int_equal(s.type, RD_DRIVER_ERROR);
	assert_int_equal(s.integer, RD_ERR_UNREACHABLE);
	assert_non_null(strstr(s.text, "no sentinel gave the address of master 'no-such-master'"));
	assert_non_null(strstr(s.text, "does not know a master named"));
	assert_int_equal(s.ups, 0);
	rd_destroy(rd);
	seen_free(&s);
}

static void test_bad_sentinel_config(void **state) {
	char err[256];
	struct rd_config no_name = { .sentinels = "127.0.0.1:1" };
	struct rd_config bad_entry = { .sentinels = "127.0.0.1:1,nowhere", .sentinel_master = "m" };
	(void)state;
	assert_null(rd_create(&no_name, err, sizeof err));
	assert_non_null(strstr(err, "name of the master"));
	assert_null(rd_create(&bad_entry, err, sizeof err));
	assert_non_null(strstr(err, "'nowhere'"));
}

/* SENTINEL FAILOVER while the master is busy: only +switch-master can tell
 * the driver, and the request in flight on the old master is "lost". */
static void test_follows_switch_master(void **state) {
	struct seen s, busy;
	(void)state;
	seen_init(&s);
	seen_init(&busy);
	struct rd *rd = driver(MASTER_NAME, &s);
	assert_int_equal(wait_for(&s, &s.ups, 1, 3000), 1);
	struct redis_fixture *old = server_on(current_master_port());
	assert_non_null(old);
	struct redis_fixture *next = old == &servers[0] ? &servers[1] : &servers[0];
	driver_fixture_submit(rd, 8000, on_reply, &busy, "DEBUG SLEEP %d", 4);
	sleep_ms(100);
	redisReply *r = ask(sentinels[1].port, "SENTINEL FAILOVER %s", MASTER_NAME);
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	assert_int_equal(wait_for(&s, &s.ups, 2, FOLLOW_WAIT_MS), 2);
	assert_string_equal(s.up_text, next->address);
	assert_int_equal(wait_for(&busy, &busy.replies, 1, 1000), 1);
	assert_int_equal(busy.integer, RD_ERR_LOST);
	assert_non_null(strstr(busy.text, "switched to"));
	assert_true(run(rd, "OK", "SET after-switch %s", "yes"));
	rd_destroy(rd);
	seen_free(&busy);
	seen_free(&s);
}

/* The sentinels turn a demoted master into a replica only after several
 * seconds; do it at once, as an operator would (once its DEBUG SLEEP
 * is over). */
static void make_replica(struct redis_fixture *replica, const struct redis_fixture *master) {
	redisReply *r = NULL;
	for (long long end = mono_ms() + SETUP_WAIT_MS; !r && mono_ms() < end;)
		r = ask(replica->port, "REPLICAOF 127.0.0.1 %d", master->port); /* may still sleep */
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	assert_true(wait_until(replica_synced, &replica->port, SETUP_WAIT_MS));
}

/* SIGKILL of the master: the link drops, the sentinels promote the other
 * server, and the driver ends up there (by the switch message or by asking
 * again before a reconnect). */
static void test_follows_failover_after_kill(void **state) {
	struct seen s;
	(void)state;
	seen_init(&s);
	struct rd *rd = driver(MASTER_NAME, &s);
	assert_int_equal(wait_for(&s, &s.ups, 1, 3000), 1);
	struct redis_fixture *old = server_on(current_master_port());
	assert_non_null(old);
	struct redis_fixture *next = old == &servers[0] ? &servers[1] : &servers[0];
	make_replica(next, old);
	long long killed_at = mono_ms();
	redis_fixture_kill(old);
	assert_int_equal(wait_for(&s, &s.ups, 2, FOLLOW_WAIT_MS), 2);
	assert_string_equal(s.up_text, next->address);
	assert_true(set_succeeds_within(rd, 2000));
	print_message("followed the fail-over %lld ms after the kill\n", mono_ms() - killed_at);
	rd_destroy(rd);
	seen_free(&s);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_sentinel_config),
		cmocka_unit_test(test_connects_through_sentinels),
		cmocka_unit_test(test_unknown_master_name),
		cmocka_unit_test(test_follows_switch_master),
		cmocka_unit_test(test_follows_failover_after_kill),
	};
	return cmocka_run_group_tests(tests, start_all, stop_all);
}
