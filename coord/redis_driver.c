/*
 * redis_driver.c: the Redis driver thread (see redis_driver.h).
 *
 * Everything below runs on the driver thread except the four thread-safe
 * entry points (rd_submit, rd_subscribe, rd_script_create, rd_submit_script)
 * which only append to locked lists and wake the loop through an eventfd.
 *
 * Connection life cycle: DOWN -> CONNECTING -> UP -> DOWN ...
 *   CONNECTING opens both links and runs the handshake (AUTH, SELECT, PING on
 *   the command link; AUTH, PING and every SUBSCRIBE on the other); requests
 *   submitted meanwhile wait, each bounded by its own timeout.  Any failure
 *   on either link tears both down (always from a deferred event, never from
 *   inside a hiredis callback) and arms the reconnect timer.  While DOWN,
 *   requests fail at once with the reason of the last failure.
 *
 * Sentinel mode (see the section "sentinel" below) adds two short-lived
 * steps to CONNECTING: before the links are opened, the sentinels are asked
 * in turn for the master's address (a query link, one at a time); once open,
 * ROLE must say "master".  A separate watch link stays subscribed to
 * +switch-master on one sentinel and moves to the next one when it drops.
 *
 * A request handed to hiredis is freed only by its hiredis callback, which
 * hiredis always runs exactly once (with a NULL reply when the link goes
 * away); a request that timed out before that is marked answered so its late
 * reply is dropped.  A request parked in a waiting list is freed when the
 * list is drained.
 */
#include "redis_driver.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/adapters/libevent.h>

#define TEXT_MAX 256
/* Room kept in front of a script request's arguments for the EVALSHA header. */
#define EVALSHA_HEADER_MAX 80

enum link_state { LINK_DOWN, LINK_CONNECTING, LINK_UP };

struct rd_request {
	struct rd_request *next;
	struct rd *rd;
	rd_reply_fn fn;
	void *ud;
	struct rd_script *script; /* EVALSHA of this script, or NULL */
	int argc;                 /* script requests: number of arguments */
	int timeout_ms;
	unsigned answered : 1;    /* fn already ran */
	unsigned with_hiredis : 1;/* hiredis will call on_request_reply once */
	unsigned retried : 1;     /* already reloaded its script once */
	unsigned timer_armed : 1;
	struct event timer;
	size_t len;               /* of the command (or of the script arguments) */
	char cmd[];               /* script requests: EVALSHA_HEADER_MAX spare bytes first */
};

struct request_list {
	struct rd_request *head, **tail;
};

struct rd_sub {
	struct rd_sub *next;
	rd_message_fn fn;
	void *ud;
	int is_pattern;
	int awaiting_confirm;
	size_t len;
	char name[];
};

struct rd_script {
	struct rd_script *next;
	char sha[41];                /* "" until SCRIPT LOAD answered */
	int loading;                 /* a SCRIPT LOAD is in flight */
	struct request_list waiting; /* requests waiting for the SHA */
	size_t len;
	char text[];
};

struct sentinel_addr {
	char host[TEXT_MAX];
	int port;
};

/* Sentinel mode state; everything but the configuration is driver-thread only. */
struct sentinels {
	struct sentinel_addr *addrs; /* NULL: not in Sentinel mode */
	int count;
	char *master_name;
	int timeout_ms;
	/* asking for the master's address */
	redisAsyncContext *query_link;
	struct event *query_timeout_ev, *query_done_ev;
	int query_index;              /* the sentinel being asked */
	int query_tries;              /* sentinels asked in this round */
	int querying, settled;        /* a query runs / its outcome is known */
	char query_error[TEXT_MAX];   /* "" when the answer is in query_host:port */
	char query_host[TEXT_MAX];
	int query_port;
	/* watching +switch-master */
	redisAsyncContext *watch_link;
	struct event *watch_retry_ev, *switch_ev;
	int watch_index, watch_attempt, watch_up, watch_down_logged;
	char switch_host[TEXT_MAX];   /* the master announced by the last switch */
	int switch_port;
};

struct rd {
	/* configuration, read-only after rd_create (host, port and address
	 * change on the driver thread in Sentinel mode) */
	char *user, *password;
	char address[TEXT_MAX + 16]; /* for messages: host:port, or the unix path */
	char *unix_path;         /* set for a unix socket address */
	char host[TEXT_MAX];     /* else host and port */
	int port;
	struct sentinels sentinel;
	int db;
	int connect_timeout_ms, request_timeout_ms;
	int keepalive_ms, keepalive_timeout_ms;
	int backoff_min_ms, backoff_max_ms;
	rd_state_fn on_state;
	rd_log_fn log;
	void *ud;

	/* shared with other threads, under lock */
	pthread_mutex_t lock;
	struct request_list submitted;
	struct rd_sub *new_subs;
	struct rd_script *scripts;
	int stopping;
	int wake_fd;

	/* driver thread only */
	pthread_t thread;
	struct event_base *base;
	struct event *wake_ev, *reset_ev, *reconnect_ev, *connect_timeout_ev,
	    *keepalive_ev;
	redisAsyncContext *cmd_link, *sub_link;
	enum link_state state;
	int shutting_down;
	int handshake_left;
	int reset_pending;
	char reset_reason[TEXT_MAX];
	char last_error[TEXT_MAX];  /* why the links are down */
	int down_logged;            /* the current outage was logged */
	int attempt;                /* reconnect attempts since last UP */
	unsigned int seed;
	int ping_in_flight;
	uint64_t last_reply_ms;
	struct request_list waiting; /* submitted while CONNECTING */
	struct rd_sub *subs;
};

/* ---- replies ---------------------------------------------------------- */

static const redisReply *as_redis(const struct rd_reply *r) {
	return (const redisReply *)r;
}

int rd_reply_type(const struct rd_reply *r) {
	return as_redis(r)->type;
}

const char *rd_reply_str(const struct rd_reply *r, size_t *len) {
	const redisReply *rr = as_redis(r);
	if (len)
		*len = rr->str ? rr->len : 0;
	return rr->str;
}

long long rd_reply_integer(const struct rd_reply *r) {
	return as_redis(r)->integer;
}

size_t rd_reply_count(const struct rd_reply *r) {
	const redisReply *rr = as_redis(r);
	return rr->type == RD_ARRAY ? rr->elements : 0;
}

const struct rd_reply *rd_reply_at(const struct rd_reply *r, size_t i) {
	const redisReply *rr = as_redis(r);
	if (rr->type != RD_ARRAY || i >= rr->elements)
		return NULL;
	return (const struct rd_reply *)rr->element[i];
}

static int reply_is(const redisReply *r, int type, const char *text) {
	size_t n = strlen(text);
	return r && r->type == type && r->len == n && strncasecmp(r->str, text, n) == 0;
}

/* ---- small helpers ---------------------------------------------------- */

static uint64_t now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct timeval ms_to_tv(int ms) {
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	return tv;
}

static void log_line(struct rd *rd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void log_line(struct rd *rd, const char *fmt, ...) {
	char line[TEXT_MAX * 2];
	va_list ap;
	if (!rd->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	rd->log(rd->ud, line);
}

static void list_init(struct request_list *l) {
	l->head = NULL;
	l->tail = &l->head;
}

static void list_push(struct request_list *l, struct rd_request *req) {
	req->next = NULL;
	*l->tail = req;
	l->tail = &req->next;
}

static struct rd_request *list_take_all(struct request_list *l) {
	struct rd_request *all = l->head;
	list_init(l);
	return all;
}

/* ---- answering requests ----------------------------------------------- */

static void release_request(struct rd_request *req) {
	if (req->timer_armed)
		evtimer_del(&req->timer);
	free(req);
}

static void answer(struct rd_request *req, const redisReply *reply) {
	if (req->answered)
		return;
	req->answered = 1;
	if (req->timer_armed) {
		evtimer_del(&req->timer);
		req->timer_armed = 0;
	}
	req->fn(req->ud, (const struct rd_reply *)reply);
}

static void deliver_error(rd_reply_fn fn, void *ud, int kind, const char *text) {
	redisReply r;
	memset(&r, 0, sizeof r);
	r.type = RD_DRIVER_ERROR;
	r.integer = kind;
	r.str = (char *)text;
	r.len = strlen(text);
	fn(ud, (const struct rd_reply *)&r);
}

static void answer_error(struct rd_request *req, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void answer_error(struct rd_request *req, int kind, const char *fmt, ...) {
	char text[TEXT_MAX * 2];
	va_list ap;
	redisReply r;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	memset(&r, 0, sizeof r);
	r.type = RD_DRIVER_ERROR;
	r.integer = kind;
	r.str = text;
	r.len = strlen(text);
	answer(req, &r);
}

/* The error for a request that cannot be sent now. */
static void answer_unavailable(struct rd_request *req) {
	struct rd *rd = req->rd;
	if (rd->shutting_down)
		answer_error(req, RD_ERR_STOPPED, "driver stopped");
	else
		answer_error(req, RD_ERR_UNREACHABLE, "redis unreachable at %s: %s",
		             rd->address, rd->last_error);
}

/* The error for a request whose link went away under it: why is hiredis'
 * error when hiredis dropped the link, else the reason we dropped it for. */
static void answer_lost(struct rd_request *req, const redisAsyncContext *ac) {
	struct rd *rd = req->rd;
	const char *why = ac && ac->err ? ac->errstr : rd->last_error;
	if (rd->shutting_down)
		answer_error(req, RD_ERR_STOPPED, "driver stopped");
	else
		answer_error(req, RD_ERR_LOST, "connection to redis at %s lost: %s",
		             rd->address, why);
}

static void fail_list(struct request_list *l, void (*how)(struct rd_request *)) {
	struct rd_request *req = list_take_all(l);
	while (req) {
		struct rd_request *next = req->next;
		how(req);
		release_request(req);
		req = next;
	}
}

/* ---- link teardown and reconnect -------------------------------------- */

static void schedule_reset(struct rd *rd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void schedule_reset(struct rd *rd, const char *fmt, ...) {
	va_list ap;
	if (rd->reset_pending || rd->state == LINK_DOWN)
		return;
	va_start(ap, fmt);
	vsnprintf(rd->reset_reason, sizeof rd->reset_reason, fmt, ap);
	va_end(ap);
	rd->reset_pending = 1;
	event_active(rd->reset_ev, 0, 0);
}

static void close_link(redisAsyncContext **link) {
	redisAsyncContext *ac = *link;
	*link = NULL; /* callbacks run by the free below see a stale link */
	if (ac)
		redisAsyncFree(ac);
}

/* The delay before retry number attempt (0 for the first). */
static int backoff_ms(struct rd *rd, int attempt) {
	int delay = rd->backoff_min_ms;
	for (int i = 0; i < attempt && delay < rd->backoff_max_ms; i++)
		delay *= 2;
	if (delay > rd->backoff_max_ms)
		delay = rd->backoff_max_ms;
	return delay / 2 + (int)(rand_r(&rd->seed) % (unsigned)(delay / 2 + 1));
}

static void report_down(struct rd *rd, enum link_state was) {
	if (was == LINK_UP) {
		log_line(rd, "lost connection to redis at %s: %s", rd->address, rd->last_error);
		if (rd->on_state)
			rd->on_state(rd->ud, 0, rd->last_error);
	} else if (!rd->down_logged) {
		log_line(rd, "redis unreachable at %s: %s (retrying)", rd->address, rd->last_error);
	}
	rd->down_logged = 1;
}

/* Stop asking a sentinel for the master's address. */
static void cancel_query(struct rd *rd) {
	struct sentinels *s = &rd->sentinel;
	s->querying = 0;
	evtimer_del(s->query_timeout_ev);
	close_link(&s->query_link);
}

/* Close both links, fail what waits for them, and plan the next attempt. */
static void take_links_down(struct rd *rd, const char *reason) {
	enum link_state was = rd->state;
	snprintf(rd->last_error, sizeof rd->last_error, "%s", reason);
	rd->reset_pending = 0;
	evtimer_del(rd->connect_timeout_ev);
	close_link(&rd->cmd_link);
	close_link(&rd->sub_link);
	cancel_query(rd);
	rd->state = LINK_DOWN;
	fail_list(&rd->waiting, answer_unavailable);
	if (rd->shutting_down)
		return;
	report_down(rd, was);
	struct timeval tv = ms_to_tv(backoff_ms(rd, rd->attempt));
	rd->attempt++;
	evtimer_add(rd->reconnect_ev, &tv);
}

static void on_reset(evutil_socket_t fd, short what, void *arg) {
	struct rd *rd = arg;
	(void)fd;
	(void)what;
	if (rd->reset_pending)
		take_links_down(rd, rd->reset_reason);
}

/* ---- sending ---------------------------------------------------------- */

static void on_request_reply(redisAsyncContext *ac, void *reply, void *privdata);
static void send_script_request(struct rd_request *req);

static void send_command(struct rd_request *req) {
	struct rd *rd = req->rd;
	if (!rd->cmd_link ||
	    redisAsyncFormattedCommand(rd->cmd_link, on_request_reply, req, req->cmd,
	                               req->len) != REDIS_OK) {
		answer_lost(req, NULL);
		release_request(req);
		return;
	}
	req->with_hiredis = 1;
}

static void send_request(struct rd_request *req) {
	if (req->script)
		send_script_request(req);
	else
		send_command(req);
}

static void on_request_timeout(evutil_socket_t fd, short what, void *arg) {
	struct rd_request *req = arg;
	(void)fd;
	(void)what;
	req->timer_armed = 0;
	answer_error(req, RD_ERR_TIMEOUT, "timeout after %d ms", req->timeout_ms);
	/* still owned by hiredis or by a waiting list, which frees it */
}

static void arm_timer(struct rd_request *req) {
	struct timeval tv = ms_to_tv(req->timeout_ms);
	evtimer_assign(&req->timer, req->rd->base, on_request_timeout, req);
	evtimer_add(&req->timer, &tv);
	req->timer_armed = 1;
}

static void dispatch_request(struct rd *rd, struct rd_request *req) {
	if (rd->shutting_down || rd->state == LINK_DOWN) {
		answer_unavailable(req);
		release_request(req);
		return;
	}
	arm_timer(req);
	if (rd->state == LINK_CONNECTING)
		list_push(&rd->waiting, req);
	else
		send_request(req);
}

static void send_or_drop(struct rd_request *req) {
	if (req->answered)
		release_request(req);
	else
		send_request(req);
}

static int is_noscript(const redisReply *r) {
	return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* A master demoted to a replica without closing our link says this. */
static int is_readonly(const redisReply *r) {
	return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "READONLY", 8) == 0;
}

static void on_request_reply(redisAsyncContext *ac, void *reply, void *privdata) {
	struct rd_request *req = privdata;
	const redisReply *r = reply;
	req->with_hiredis = 0;
	if (!r) {
		answer_lost(req, ac);
		release_request(req);
		return;
	}
	req->rd->last_reply_ms = now_ms();
	if (req->rd->sentinel.addrs && is_readonly(r))
		schedule_reset(req->rd, "%s is no longer a master (READONLY)", req->rd->address);
	if (req->script && !req->retried && is_noscript(r)) {
		req->retried = 1;
		req->script->sha[0] = '\0';
		send_script_request(req);
		return;
	}
	answer(req, r);
	release_request(req);
}

/* ---- scripts ---------------------------------------------------------- */

static void fail_script_waiters(struct rd_script *s, const redisReply *r,
                                const redisAsyncContext *ac) {
	struct rd_request *req = list_take_all(&s->waiting);
	while (req) {
		struct rd_request *next = req->next;
		if (r)
			answer(req, r);
		else
			answer_lost(req, ac);
		release_request(req);
		req = next;
	}
}

static void on_script_loaded(redisAsyncContext *ac, void *reply, void *privdata) {
	struct rd_script *s = privdata;
	const redisReply *r = reply;
	s->loading = 0;
	if (!r || r->type != REDIS_REPLY_STRING || r->len != 40) {
		fail_script_waiters(s, r, ac);
		return;
	}
	memcpy(s->sha, r->str, 40);
	s->sha[40] = '\0';
	struct rd_request *req = list_take_all(&s->waiting);
	while (req) {
		struct rd_request *next = req->next;
		send_or_drop(req);
		req = next;
	}
}

static void load_script(struct rd *rd, struct rd_script *s) {
	if (s->loading)
		return;
	if (!rd->cmd_link || redisAsyncCommand(rd->cmd_link, on_script_loaded, s,
	                                       "SCRIPT LOAD %b", s->text, s->len) != REDIS_OK) {
		fail_script_waiters(s, NULL, NULL);
		return;
	}
	s->loading = 1;
}

/* Writes "*N $7 EVALSHA $40 sha" just in front of the arguments. */
static void send_script_request(struct rd_request *req) {
	struct rd_script *s = req->script;
	if (!s->sha[0]) {
		list_push(&s->waiting, req);
		load_script(req->rd, s);
		return;
	}
	char header[EVALSHA_HEADER_MAX];
	int n = snprintf(header, sizeof header, "*%d\r\n$7\r\nEVALSHA\r\n$40\r\n%s\r\n",
	                 req->argc + 2, s->sha);
	char *start = req->cmd + EVALSHA_HEADER_MAX - n;
	memcpy(start, header, (size_t)n);
	struct rd *rd = req->rd;
	if (!rd->cmd_link ||
	    redisAsyncFormattedCommand(rd->cmd_link, on_request_reply, req, start,
	                               (size_t)n + req->len) != REDIS_OK) {
		answer_lost(req, NULL);
		release_request(req);
		return;
	}
	req->with_hiredis = 1;
}

/* ---- keep-alive ------------------------------------------------------- */

static void on_keepalive_reply(void *ud, const struct rd_reply *r) {
	struct rd *rd = ud;
	rd->ping_in_flight = 0;
	if (rd_reply_type(r) == RD_DRIVER_ERROR && rd_reply_integer(r) == RD_ERR_TIMEOUT)
		schedule_reset(rd, "no reply to PING within %d ms", rd->keepalive_timeout_ms);
}

static struct rd_request *new_request(struct rd *rd, size_t len, int timeout_ms,
                                      rd_reply_fn fn, void *ud) {
	struct rd_request *req = calloc(1, sizeof *req + len);
	if (!req)
		return NULL;
	req->rd = rd;
	req->fn = fn;
	req->ud = ud;
	req->timeout_ms = timeout_ms > 0 ? timeout_ms : rd->request_timeout_ms;
	req->len = len;
	return req;
}

static void on_keepalive_tick(evutil_socket_t fd, short what, void *arg) {
	struct rd *rd = arg;
	static const char ping[] = "*1\r\n$4\r\nPING\r\n";
	(void)fd;
	(void)what;
	if (rd->state != LINK_UP || rd->ping_in_flight ||
	    now_ms() - rd->last_reply_ms < (uint64_t)rd->keepalive_ms)
		return;
	struct rd_request *req = new_request(rd, sizeof ping - 1, rd->keepalive_timeout_ms,
	                                     on_keepalive_reply, rd);
	if (!req)
		return;
	memcpy(req->cmd, ping, sizeof ping - 1);
	rd->ping_in_flight = 1;
	dispatch_request(rd, req);
}

/* ---- subscriptions ---------------------------------------------------- */

static int sub_matches(const struct rd_sub *sub, int is_pattern, const redisReply *name) {
	return sub->is_pattern == is_pattern && name->type == REDIS_REPLY_STRING &&
	       name->len == sub->len && memcmp(name->str, sub->name, sub->len) == 0;
}

static void handshake_step_done(struct rd *rd);

static void confirm_subscription(struct rd *rd, int is_pattern, const redisReply *name) {
	for (struct rd_sub *sub = rd->subs; sub; sub = sub->next) {
		if (sub->awaiting_confirm && sub_matches(sub, is_pattern, name)) {
			sub->awaiting_confirm = 0;
			if (rd->state == LINK_CONNECTING)
				handshake_step_done(rd);
			return;
		}
	}
}

static void deliver_message(struct rd *rd, int is_pattern, const redisReply *msg) {
	for (struct rd_sub *sub = rd->subs; sub; sub = sub->next)
		if (sub_matches(sub, is_pattern, msg->element[1]))
			sub->fn(sub->ud, (const struct rd_reply *)msg);
}

static void on_sub_reply(redisAsyncContext *ac, void *reply, void *privdata) {
	struct rd *rd = privdata;
	const redisReply *r = reply;
	if (!r || ac != rd->sub_link || r->type != REDIS_REPLY_ARRAY || r->elements < 3)
		return;
	const redisReply *kind = r->element[0];
	if (reply_is(kind, REDIS_REPLY_STRING, "message"))
		deliver_message(rd, 0, r);
	else if (reply_is(kind, REDIS_REPLY_STRING, "pmessage"))
		deliver_message(rd, 1, r);
	else if (reply_is(kind, REDIS_REPLY_STRING, "subscribe"))
		confirm_subscription(rd, 0, r->element[1]);
	else if (reply_is(kind, REDIS_REPLY_STRING, "psubscribe"))
		confirm_subscription(rd, 1, r->element[1]);
}

static void send_subscribe(struct rd *rd, struct rd_sub *sub) {
	const char *verb = sub->is_pattern ? "PSUBSCRIBE" : "SUBSCRIBE";
	if (redisAsyncCommand(rd->sub_link, on_sub_reply, rd, "%s %b", verb, sub->name,
	                      sub->len) != REDIS_OK) {
		schedule_reset(rd, "could not send %s", verb);
		return;
	}
	sub->awaiting_confirm = 1;
	if (rd->state == LINK_CONNECTING)
		rd->handshake_left++;
}

/* ---- connecting ------------------------------------------------------- */

static void link_up(struct rd *rd) {
	rd->state = LINK_UP;
	rd->attempt = 0;
	rd->down_logged = 0;
	rd->last_reply_ms = now_ms();
	evtimer_del(rd->connect_timeout_ev);
	log_line(rd, "connected to redis at %s", rd->address);
	struct rd_request *req = list_take_all(&rd->waiting);
	while (req) {
		struct rd_request *next = req->next;
		send_or_drop(req);
		req = next;
	}
	if (rd->on_state)
		rd->on_state(rd->ud, 1, rd->address);
}

static void handshake_step_done(struct rd *rd) {
	if (--rd->handshake_left == 0 && rd->state == LINK_CONNECTING && !rd->reset_pending)
		link_up(rd);
}

static void on_handshake_reply(redisAsyncContext *ac, void *reply, void *privdata) {
	struct rd *rd = privdata;
	const redisReply *r = reply;
	if (!r || (ac != rd->cmd_link && ac != rd->sub_link))
		return; /* the link is going away; its disconnect says why */
	if (r->type == REDIS_REPLY_ERROR)
		schedule_reset(rd, "%s", r->str);
	else
		handshake_step_done(rd);
}

static void query_failed(struct rd *rd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void watch_lost(struct rd *rd, const char *why);

/* One of our links went away by itself; hiredis frees it after this call.
 * A link we closed ourselves is no longer known here and is ignored. */
static void link_failed(const redisAsyncContext *ac, const char *why) {
	struct rd *rd = ac->data;
	struct sentinels *s = &rd->sentinel;
	if (ac == rd->cmd_link || ac == rd->sub_link) {
		if (ac == rd->cmd_link)
			rd->cmd_link = NULL;
		else
			rd->sub_link = NULL;
		schedule_reset(rd, "%s", why);
	} else if (ac == s->query_link) {
		s->query_link = NULL;
		query_failed(rd, "%s", why);
	} else if (ac == s->watch_link) {
		s->watch_link = NULL;
		watch_lost(rd, why);
	}
}

static void on_connect(const redisAsyncContext *ac, int status) {
	if (status != REDIS_OK)
		link_failed(ac, ac->errstr[0] ? ac->errstr : "connect failed");
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
	(void)status;
	link_failed(ac, ac->errstr[0] ? ac->errstr : "server closed the connection");
}

static void queue_handshake(struct rd *rd, redisAsyncContext *ac, const char *cmd, ...) {
	va_list ap;
	va_start(ap, cmd);
	int ok = redisvAsyncCommand(ac, on_handshake_reply, rd, cmd, ap) == REDIS_OK;
	va_end(ap);
	if (ok)
		rd->handshake_left++;
	else
		schedule_reset(rd, "could not queue the handshake");
}

static void queue_auth(struct rd *rd, redisAsyncContext *ac) {
	if (rd->user)
		queue_handshake(rd, ac, "AUTH %s %s", rd->user, rd->password);
	else if (rd->password)
		queue_handshake(rd, ac, "AUTH %s", rd->password);
}

/* Start connecting a link to unix_path, or else host:port; NULL with the
 * reason in why.  tcp_keepalive: for links no PING watches. */
static redisAsyncContext *connect_link(struct rd *rd, const char *unix_path, const char *host,
                                       int port, int tcp_keepalive, char *why, size_t whysz) {
	redisAsyncContext *ac = unix_path ? redisAsyncConnectUnix(unix_path)
	                                  : redisAsyncConnect(host, port);
	if (!ac) {
		snprintf(why, whysz, "out of memory");
		return NULL;
	}
	if (ac->err) {
		snprintf(why, whysz, "%s", ac->errstr);
		redisAsyncFree(ac);
		return NULL;
	}
	ac->data = rd;
	redisLibeventAttach(ac, rd->base);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	if (tcp_keepalive && !unix_path)
		redisEnableKeepAlive(&ac->c);
	return ac;
}

/* A link to the Redis server (the PINGs watch the command link). */
static redisAsyncContext *open_link(struct rd *rd, int tcp_keepalive) {
	char why[TEXT_MAX];
	redisAsyncContext *ac = connect_link(rd, rd->unix_path, rd->host, rd->port, tcp_keepalive,
	                                     why, sizeof why);
	if (!ac)
		schedule_reset(rd, "%s", why);
	return ac;
}

static void on_role_reply(redisAsyncContext *ac, void *reply, void *privdata) {
	struct rd *rd = privdata;
	const redisReply *r = reply;
	if (!r || ac != rd->cmd_link)
		return;
	const redisReply *role = r->type == REDIS_REPLY_ARRAY && r->elements > 0 ? r->element[0] : r;
	if (reply_is(role, REDIS_REPLY_STRING, "master"))
		handshake_step_done(rd);
	else
		schedule_reset(rd, "%s is not a master (ROLE: %s)", rd->address,
		               role->str ? role->str : "unexpected reply");
}

/* In Sentinel mode the server must still be the master when we get there. */
static void queue_role_check(struct rd *rd) {
	if (redisAsyncCommand(rd->cmd_link, on_role_reply, rd, "ROLE") == REDIS_OK)
		rd->handshake_left++;
	else
		schedule_reset(rd, "could not queue ROLE");
}

static void start_connecting(struct rd *rd) {
	rd->state = LINK_CONNECTING;
	rd->handshake_left = 0;
	struct timeval tv = ms_to_tv(rd->connect_timeout_ms);
	evtimer_add(rd->connect_timeout_ev, &tv);
	rd->cmd_link = open_link(rd, 0);
	if (rd->cmd_link)
		rd->sub_link = open_link(rd, 1);
	if (!rd->cmd_link || !rd->sub_link)
		return; /* a reset is scheduled */
	queue_auth(rd, rd->cmd_link);
	if (rd->db)
		queue_handshake(rd, rd->cmd_link, "SELECT %d", rd->db);
	queue_handshake(rd, rd->cmd_link, "PING");
	if (rd->sentinel.addrs)
		queue_role_check(rd);
	queue_auth(rd, rd->sub_link);
	queue_handshake(rd, rd->sub_link, "PING");
	for (struct rd_sub *sub = rd->subs; sub; sub = sub->next)
		send_subscribe(rd, sub);
}

static void start_attempt(struct rd *rd);

static void on_reconnect_due(evutil_socket_t fd, short what, void *arg) {
	(void)fd;
	(void)what;
	start_attempt(arg);
}

static void on_connect_timeout(evutil_socket_t fd, short what, void *arg) {
	struct rd *rd = arg;
	(void)fd;
	(void)what;
	if (rd->state == LINK_CONNECTING)
		schedule_reset(rd, "not connected within %d ms", rd->connect_timeout_ms);
}

/* ---- sentinel -----------------------------------------------------------
 *
 * Asking: each connection attempt first asks the sentinels, one at a time
 * from the last one that answered, SENTINEL get-master-addr-by-name; the
 * first address given is used; when none answers, the attempt fails like a
 * refused connection (backoff, then ask again).
 *
 * Watching: the watch link is subscribed to +switch-master on one sentinel.
 * A switch of our master takes the links down (requests in flight fail as
 * "lost") and connects to the announced address at once.  When the watch
 * link drops, the next sentinel is tried after a backoff.
 */

static const struct sentinel_addr *asked_sentinel(const struct rd *rd) {
	return &rd->sentinel.addrs[rd->sentinel.query_index];
}

/* Record the first outcome of the running query; acted on from an event. */
static void query_settle(struct rd *rd, const char *error, const char *host, int port) {
	struct sentinels *s = &rd->sentinel;
	if (!s->querying || s->settled)
		return;
	s->settled = 1;
	snprintf(s->query_error, sizeof s->query_error, "%s", error);
	snprintf(s->query_host, sizeof s->query_host, "%s", host);
	s->query_port = port;
	event_active(s->query_done_ev, 0, 0);
}

static void query_failed(struct rd *rd, const char *fmt, ...) {
	char why[TEXT_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	query_settle(rd, why, "", 0);
}

static void on_master_address(redisAsyncContext *ac, void *reply, void *privdata) {
	struct rd *rd = privdata;
	struct sentinels *s = &rd->sentinel;
	const redisReply *r = reply;
	if (ac != s->query_link)
		return; /* we closed it */
	if (!r) {
		s->query_link = NULL; /* hiredis is freeing it */
		query_failed(rd, "%s", ac->errstr[0] ? ac->errstr : "connection closed");
	} else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	           r->element[0]->type == REDIS_REPLY_STRING &&
	           r->element[1]->type == REDIS_REPLY_STRING && atoi(r->element[1]->str) > 0) {
		query_settle(rd, "", r->element[0]->str, atoi(r->element[1]->str));
	} else if (r->type == REDIS_REPLY_NIL) {
		query_failed(rd, "does not know a master named '%s'", s->master_name);
	} else {
		query_failed(rd, "%s", r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	}
}

static void ask_sentinel(struct rd *rd) {
	struct sentinels *s = &rd->sentinel;
	const struct sentinel_addr *at = asked_sentinel(rd);
	char why[TEXT_MAX];
	struct timeval tv = ms_to_tv(s->timeout_ms);
	s->querying = 1;
	s->settled = 0;
	evtimer_add(s->query_timeout_ev, &tv);
	s->query_link = connect_link(rd, NULL, at->host, at->port, 0, why, sizeof why);
	if (!s->query_link)
		query_failed(rd, "%s", why);
	else if (redisAsyncCommand(s->query_link, on_master_address, rd,
	                           "SENTINEL get-master-addr-by-name %s", s->master_name) != REDIS_OK)
		query_failed(rd, "could not send the query");
}

static void on_query_timeout(evutil_socket_t fd, short what, void *arg) {
	struct rd *rd = arg;
	(void)fd;
	(void)what;
	query_failed(rd, "no answer within %d ms", rd->sentinel.timeout_ms);
}

static void set_master(struct rd *rd, const char *host, int port) {
	snprintf(rd->host, sizeof rd->host, "%s", host);
	rd->port = port;
	snprintf(rd->address, sizeof rd->address, "%s:%d", host, port);
}

static void use_answer(struct rd *rd) {
	struct sentinels *s = &rd->sentinel;
	if (s->query_port != rd->port || strcmp(s->query_host, rd->host) != 0) {
		set_master(rd, s->query_host, s->query_port);
		log_line(rd, "sentinel at %s:%d: master '%s' is at %s", asked_sentinel(rd)->host,
		         asked_sentinel(rd)->port, s->master_name, rd->address);
	}
	start_connecting(rd);
}

static void on_query_done(evutil_socket_t fd, short what, void *arg) {
	struct rd *rd = arg;
	struct sentinels *s = &rd->sentinel;
	(void)fd;
	(void)what;
	if (!s->querying || !s->settled || rd->state != LINK_CONNECTING)
		return; /* the attempt was given up meanwhile */
	const struct sentinel_addr *at = asked_sentinel(rd);
	cancel_query(rd);
	if (!s->query_error[0]) {
		use_answer(rd);
	} else if (++s->query_tries < s->count) {
		s->query_index = (s->query_index + 1) % s->count;
		ask_sentinel(rd);
	} else {
		schedule_reset(rd, "no sentinel gave the address of master '%s' (last, %s:%d: %s)",
		               s->master_name, at->host, at->port, s->query_error);
		s->query_index = (s->query_index + 1) % s->count;
	}
}

/* Each attempt: ask the sentinels first in Sentinel mode. */
static void start_attempt(struct rd *rd) {
	if (!rd->sentinel.addrs) {
		start_connecting(rd);
		return;
	}
	rd->state = LINK_CONNECTING;
	rd->sentinel.query_tries = 0;
	ask_sentinel(rd);
}

static const struct sentinel_addr *watched_sentinel(const struct rd *rd) {
	return &rd->sentinel.addrs[rd->sentinel.watch_index];
}

static void on_switch(evutil_socket_t fd, short what, void *arg) {
	struct rd *rd = arg;
	struct sentinels *s = &rd->sentinel;
	char reason[TEXT_MAX * 2];
	(void)fd;
	(void)what;
	if (rd->shutting_down ||
	    (rd->state == LINK_UP && s->switch_port == rd->port && !strcmp(s->switch_host, rd->host)))
		return;
	snprintf(reason, sizeof reason, "master '%s' switched to %s:%d", s->master_name,
	         s->switch_host, s->switch_port);
	if (rd->state != LINK_DOWN)
		take_links_down(rd, reason);
	evtimer_del(rd->reconnect_ev);
	rd->attempt = 0;
	set_master(rd, s->switch_host, s->switch_port);
	start_connecting(rd);
}

/* payload: "<name> <old ip> <old port> <new ip> <new port>" */
static void on_switch_message(struct rd *rd, const redisReply *payload) {
	struct sentinels *s = &rd->sentinel;
	char name[TEXT_MAX], host[TEXT_MAX];
	int port;
	if (payload->type != REDIS_REPLY_STRING ||
	    sscanf(payload->str, "%255s %*s %*s %255s %d", name, host, &port) != 3 ||
	    strcmp(name, s->master_name) != 0)
		return;
	log_line(rd, "sentinel at %s:%d: %s", watched_sentinel(rd)->host, watched_sentinel(rd)->port,
	         payload->str);
	snprintf(s->switch_host, sizeof s->switch_host, "%s", host);
	s->switch_port = port;
	event_active(s->switch_ev, 0, 0);
}

static void watch_confirmed(struct rd *rd) {
	struct sentinels *s = &rd->sentinel;
	s->watch_up = 1;
	s->watch_attempt = 0;
	s->watch_down_logged = 0;
	log_line(rd, "watching sentinel at %s:%d for switches of master '%s'",
	         watched_sentinel(rd)->host, watched_sentinel(rd)->port, s->master_name);
}

static void on_watch_reply(redisAsyncContext *ac, void *reply, void *privdata) {
	struct rd *rd = privdata;
	const redisReply *r = reply;
	if (!r || ac != rd->sentinel.watch_link || r->type != REDIS_REPLY_ARRAY || r->elements < 3)
		return;
	if (reply_is(r->element[0], REDIS_REPLY_STRING, "subscribe"))
		watch_confirmed(rd);
	else if (reply_is(r->element[0], REDIS_REPLY_STRING, "message"))
		on_switch_message(rd, r->element[2]);
}

static void start_watching(struct rd *rd) {
	struct sentinels *s = &rd->sentinel;
	const struct sentinel_addr *at = watched_sentinel(rd);
	char why[TEXT_MAX];
	s->watch_link = connect_link(rd, NULL, at->host, at->port, 1, why, sizeof why);
	if (!s->watch_link)
		watch_lost(rd, why);
	else if (redisAsyncCommand(s->watch_link, on_watch_reply, rd, "SUBSCRIBE +switch-master") !=
	         REDIS_OK) {
		close_link(&s->watch_link);
		watch_lost(rd, "could not send SUBSCRIBE");
	}
}

/* The watch link is gone (hiredis frees it): try the next sentinel later. */
static void watch_lost(struct rd *rd, const char *why) {
	struct sentinels *s = &rd->sentinel;
	const struct sentinel_addr *at = watched_sentinel(rd);
	if (rd->shutting_down)
		return;
	if (s->watch_up)
		log_line(rd, "lost sentinel at %s:%d: %s (trying the others)", at->host, at->port, why);
	else if (!s->watch_down_logged)
		log_line(rd, "cannot watch sentinel at %s:%d: %s (trying the others)", at->host,
		         at->port, why);
	s->watch_up = 0;
	s->watch_down_logged = 1;
	s->watch_index = (s->watch_index + 1) % s->count;
	struct timeval tv = ms_to_tv(backoff_ms(rd, s->watch_attempt++));
	evtimer_add(s->watch_retry_ev, &tv);
}

static void on_watch_retry(evutil_socket_t fd, short what, void *arg) {
	(void)fd;
	(void)what;
	start_watching(arg);
}

static void stop_watching(struct rd *rd) {
	evtimer_del(rd->sentinel.watch_retry_ev);
	close_link(&rd->sentinel.watch_link);
}

/* ---- the wake-up: new requests, subscriptions, stop ------------------- */

static void shut_down(struct rd *rd) {
	rd->shutting_down = 1;
	stop_watching(rd);
	evtimer_del(rd->reconnect_ev);
	evtimer_del(rd->keepalive_ev);
	take_links_down(rd, "driver stopped");
	event_base_loopbreak(rd->base);
}

static void adopt_new_subs(struct rd *rd, struct rd_sub *fresh) {
	while (fresh) {
		struct rd_sub *sub = fresh;
		fresh = sub->next;
		sub->next = rd->subs;
		rd->subs = sub;
		if (rd->state != LINK_DOWN && rd->sub_link)
			send_subscribe(rd, sub);
	}
}

static void on_wake(evutil_socket_t fd, short what, void *arg) {
	struct rd *rd = arg;
	uint64_t count;
	(void)what;
	if (read(fd, &count, sizeof count) < 0 && errno != EAGAIN)
		log_line(rd, "reading the wake-up eventfd failed: %s", strerror(errno));
	pthread_mutex_lock(&rd->lock);
	struct rd_request *req = list_take_all(&rd->submitted);
	struct rd_sub *fresh = rd->new_subs;
	rd->new_subs = NULL;
	int stopping = rd->stopping;
	pthread_mutex_unlock(&rd->lock);
	adopt_new_subs(rd, fresh);
	while (req) {
		struct rd_request *next = req->next;
		dispatch_request(rd, req);
		req = next;
	}
	if (stopping)
		shut_down(rd);
}

static void *driver_thread(void *arg) {
	struct rd *rd = arg;
	start_attempt(rd);
	if (rd->sentinel.addrs)
		start_watching(rd);
	event_base_dispatch(rd->base);
	return NULL;
}

static void wake(struct rd *rd) {
	uint64_t one = 1;
	while (write(rd->wake_fd, &one, sizeof one) < 0 && errno == EINTR)
		;
}

/* ---- public entry points ---------------------------------------------- */

static void enqueue(struct rd *rd, struct rd_request *req) {
	pthread_mutex_lock(&rd->lock);
	int stopping = rd->stopping;
	int was_empty = rd->submitted.head == NULL;
	if (!stopping)
		list_push(&rd->submitted, req);
	pthread_mutex_unlock(&rd->lock);
	if (stopping) {
		deliver_error(req->fn, req->ud, RD_ERR_STOPPED, "driver stopped");
		free(req);
	} else if (was_empty) {
		wake(rd);
	}
}

void rd_submit(struct rd *rd, const char *cmd, size_t len, int timeout_ms,
               rd_reply_fn fn, void *ud) {
	struct rd_request *req = new_request(rd, len, timeout_ms, fn, ud);
	if (!req) {
		deliver_error(fn, ud, RD_ERR_INVALID, "out of memory");
		return;
	}
	memcpy(req->cmd, cmd, len);
	enqueue(rd, req);
}

static size_t bulk_size(size_t len) {
	char digits[24];
	return 1 + (size_t)snprintf(digits, sizeof digits, "%zu", len) + 2 + len + 2;
}

void rd_submit_script(struct rd *rd, struct rd_script *script, int argc,
                      const char **argv, const size_t *argvlen, int timeout_ms,
                      rd_reply_fn fn, void *ud) {
	size_t len = 0;
	for (int i = 0; i < argc; i++)
		len += bulk_size(argvlen[i]);
	struct rd_request *req = new_request(rd, EVALSHA_HEADER_MAX + len, timeout_ms, fn, ud);
	if (!req) {
		deliver_error(fn, ud, RD_ERR_INVALID, "out of memory");
		return;
	}
	char *p = req->cmd + EVALSHA_HEADER_MAX;
	for (int i = 0; i < argc; i++) {
		p += sprintf(p, "$%zu\r\n", argvlen[i]);
		memcpy(p, argv[i], argvlen[i]);
		p += argvlen[i];
		memcpy(p, "\r\n", 2);
		p += 2;
	}
	req->script = script;
	req->argc = argc;
	req->len = len;
	enqueue(rd, req);
}

void rd_subscribe(struct rd *rd, const char *name, size_t len, int is_pattern,
                  rd_message_fn fn, void *ud) {
	struct rd_sub *sub = calloc(1, sizeof *sub + len + 1);
	if (!sub)
		return;
	sub->fn = fn;
	sub->ud = ud;
	sub->is_pattern = is_pattern;
	sub->len = len;
	memcpy(sub->name, name, len);
	pthread_mutex_lock(&rd->lock);
	sub->next = rd->new_subs;
	rd->new_subs = sub;
	pthread_mutex_unlock(&rd->lock);
	wake(rd);
}

struct rd_script *rd_script_create(struct rd *rd, const char *text, size_t len) {
	struct rd_script *s = calloc(1, sizeof *s + len + 1);
	if (!s)
		return NULL;
	list_init(&s->waiting);
	s->len = len;
	memcpy(s->text, text, len);
	pthread_mutex_lock(&rd->lock);
	s->next = rd->scripts;
	rd->scripts = s;
	pthread_mutex_unlock(&rd->lock);
	return s;
}

/* ---- creation and destruction ----------------------------------------- */

static int or_default(int value, int fallback) {
	return value > 0 ? value : fallback;
}

/* "host:port" (len bytes of text) into host (TEXT_MAX bytes) and *port. */
static int split_host_port(const char *text, size_t len, char *host, int *port) {
	char copy[TEXT_MAX];
	if (len == 0 || len >= sizeof copy)
		return -1;
	memcpy(copy, text, len);
	copy[len] = '\0';
	char *colon = strrchr(copy, ':'), *end;
	long value = colon ? strtol(colon + 1, &end, 10) : 0;
	if (!colon || colon == copy || *end || value <= 0 || value > 65535)
		return -1;
	*colon = '\0';
	snprintf(host, TEXT_MAX, "%s", copy);
	*port = (int)value;
	return 0;
}

static int parse_address(struct rd *rd, const char *a, char *err, size_t errsz) {
	snprintf(rd->address, sizeof rd->address, "%s", a);
	if (strchr(a, '/')) {
		rd->unix_path = strdup(a);
		return rd->unix_path ? 0 : -1;
	}
	if (split_host_port(a, strlen(a), rd->host, &rd->port) < 0) {
		snprintf(err, errsz, "redis address '%s' is neither host:port nor a unix socket path", a);
		return -1;
	}
	return 0;
}

/* "host:port,host:port,..." into rd->sentinel.addrs. */
static int parse_sentinels(struct rd *rd, const struct rd_config *cfg, char *err, size_t errsz) {
	struct sentinels *s = &rd->sentinel;
	const char *list = cfg->sentinels;
	if (!cfg->sentinel_master || !cfg->sentinel_master[0]) {
		snprintf(err, errsz, "a sentinel list needs the name of the master to follow");
		return -1;
	}
	s->count = 1;
	for (const char *p = list; *p; p++)
		s->count += *p == ',';
	s->addrs = calloc((size_t)s->count, sizeof *s->addrs);
	s->master_name = strdup(cfg->sentinel_master);
	if (!s->addrs || !s->master_name) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	for (int i = 0; i < s->count; i++) {
		size_t len = strcspn(list, ",");
		if (split_host_port(list, len, s->addrs[i].host, &s->addrs[i].port) < 0) {
			snprintf(err, errsz, "sentinel address '%.*s' in '%s' is not host:port", (int)len,
			         list, cfg->sentinels);
			return -1;
		}
		list += len + 1;
	}
	s->timeout_ms = or_default(cfg->sentinel_timeout_ms, 300);
	snprintf(rd->address, sizeof rd->address, "master '%s' (via sentinels)", s->master_name);
	return 0;
}

static int copy_config(struct rd *rd, const struct rd_config *cfg, char *err, size_t errsz) {
	int sentinel_mode = cfg->sentinels && cfg->sentinels[0];
	if (!sentinel_mode && (!cfg->address || !cfg->address[0])) {
		snprintf(err, errsz, "no redis address given");
		return -1;
	}
	if (cfg->user && !cfg->password) {
		snprintf(err, errsz, "a redis user needs a password");
		return -1;
	}
	rd->user = cfg->user ? strdup(cfg->user) : NULL;
	rd->password = cfg->password ? strdup(cfg->password) : NULL;
	rd->db = cfg->db;
	rd->connect_timeout_ms = or_default(cfg->connect_timeout_ms, 1000);
	rd->request_timeout_ms = or_default(cfg->request_timeout_ms, 1000);
	rd->keepalive_ms = or_default(cfg->keepalive_ms, 1000);
	rd->keepalive_timeout_ms = or_default(cfg->keepalive_timeout_ms, 2000);
	rd->backoff_min_ms = or_default(cfg->backoff_min_ms, 50);
	rd->backoff_max_ms = or_default(cfg->backoff_max_ms, 2000);
	rd->on_state = cfg->on_state;
	rd->log = cfg->log;
	rd->ud = cfg->ud;
	if (sentinel_mode)
		return parse_sentinels(rd, cfg, err, errsz);
	return parse_address(rd, cfg->address, err, errsz);
}

static int make_events(struct rd *rd) {
	struct timeval tick = ms_to_tv(rd->keepalive_ms);
	rd->base = event_base_new();
	if (!rd->base)
		return -1;
	rd->wake_ev = event_new(rd->base, rd->wake_fd, EV_READ | EV_PERSIST, on_wake, rd);
	rd->reset_ev = event_new(rd->base, -1, 0, on_reset, rd);
	rd->reconnect_ev = evtimer_new(rd->base, on_reconnect_due, rd);
	rd->connect_timeout_ev = evtimer_new(rd->base, on_connect_timeout, rd);
	rd->keepalive_ev = event_new(rd->base, -1, EV_PERSIST, on_keepalive_tick, rd);
	rd->sentinel.query_timeout_ev = evtimer_new(rd->base, on_query_timeout, rd);
	rd->sentinel.query_done_ev = event_new(rd->base, -1, 0, on_query_done, rd);
	rd->sentinel.watch_retry_ev = evtimer_new(rd->base, on_watch_retry, rd);
	rd->sentinel.switch_ev = event_new(rd->base, -1, 0, on_switch, rd);
	if (!rd->wake_ev || !rd->reset_ev || !rd->reconnect_ev || !rd->connect_timeout_ev ||
	    !rd->keepalive_ev || !rd->sentinel.query_timeout_ev || !rd->sentinel.query_done_ev ||
	    !rd->sentinel.watch_retry_ev || !rd->sentinel.switch_ev)
		return -1;
	event_add(rd->wake_ev, NULL);
	event_add(rd->keepalive_ev, &tick);
	return 0;
}

static void free_event(struct event *ev) {
	if (ev)
		event_free(ev);
}

static void free_driver(struct rd *rd) {
	free_event(rd->wake_ev);
	free_event(rd->reset_ev);
	free_event(rd->reconnect_ev);
	free_event(rd->connect_timeout_ev);
	free_event(rd->keepalive_ev);
	free_event(rd->sentinel.query_timeout_ev);
	free_event(rd->sentinel.query_done_ev);
	free_event(rd->sentinel.watch_retry_ev);
	free_event(rd->sentinel.switch_ev);
	if (rd->base)
		event_base_free(rd->base);
	if (rd->wake_fd >= 0)
		close(rd->wake_fd);
	while (rd->subs) {
		struct rd_sub *next = rd->subs->next;
		free(rd->subs);
		rd->subs = next;
	}
	while (rd->scripts) {
		struct rd_script *next = rd->scripts->next;
		free(rd->scripts);
		rd->scripts = next;
	}
	pthread_mutex_destroy(&rd->lock);
	free(rd->user);
	free(rd->password);
	free(rd->unix_path);
	free(rd->sentinel.addrs);
	free(rd->sentinel.master_name);
	free(rd);
}

struct rd *rd_create(const struct rd_config *cfg, char *err, size_t errsz) {
	struct rd *rd = calloc(1, sizeof *rd);
	if (!rd) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&rd->lock, NULL);
	list_init(&rd->submitted);
	list_init(&rd->waiting);
	rd->seed = (unsigned int)now_ms() ^ (unsigned int)(uintptr_t)rd;
	rd->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (copy_config(rd, cfg, err, errsz) < 0) {
		free_driver(rd);
		return NULL;
	}
	if (rd->wake_fd < 0 || make_events(rd) < 0 ||
	    pthread_create(&rd->thread, NULL, driver_thread, rd) != 0) {
		snprintf(err, errsz, "cannot start the redis driver: %s", strerror(errno));
		free_driver(rd);
		return NULL;
	}
	return rd;
}

void rd_destroy(struct rd *rd) {
	pthread_mutex_lock(&rd->lock);
	rd->stopping = 1;
	pthread_mutex_unlock(&rd->lock);
	wake(rd);
	pthread_join(rd->thread, NULL);
	free_driver(rd);
}
