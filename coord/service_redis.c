/*
 * service_redis.c: the built-in C service "redisdrv", which gives Lua
 * services the Redis driver (coord/redis_driver.h).
 *
 * Start: parm is the Redis address ("host:port" or a unix socket path); when
 * empty the env key coord_redis is used.  coord_user, coord_password and
 * coord_db are read from the env too.  When the env key coord_sentinels
 * ("host:port,host:port,...") is set, the address is ignored: the driver
 * follows the master named by coord_sentinel_master through those
 * sentinels (Redis Sentinel), and a fail-over shows up to subscribers as
 * "disconnected" then "connected" with the new master's address.
 *
 * Requests: a PTYPE_CLIENT message whose body is a RESP command, as made by
 * redis.format(...) (coord/lua_redis.c), optionally prefixed with "!<ms>\n"
 * to set its own timeout (redis.with_timeout).  The reply comes back as a
 * PTYPE_RESPONSE with the same session, its body the binary reply of
 * coord/redis_wire.h; driver errors (timeout, unreachable, lost, stopped)
 * come back the same way, encoded as driver errors, so redis.decode returns
 * nil, errortext.  With session 0 the reply is dropped.
 *
 * Two commands are handled here rather than passed through:
 *   EVAL script numkeys ...   runs as EVALSHA of a script registered once
 *                             per distinct text; NOSCRIPT reloads it.
 *   SUBSCRIBE / PSUBSCRIBE names...   subscribe the asking service for the
 *                             driver's lifetime (renewed after reconnects);
 *                             the reply is the status OK.
 * A subscriber then receives PTYPE_CLIENT messages, session 0, source this
 * service, bodies in the same binary form:
 *   ["message", channel, payload] / ["pmessage", pattern, channel, payload]
 *   ["connected", address]        after every (re)connect, and at once on
 *                                 subscribing if connected now
 *   ["disconnected", reason]      when the link goes down.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_driver.h"
#include "redis_wire.h"
#include "skynet.h"

#define STATE_TEXT_MAX 256
#define MAX_WATCHERS 64

struct script_entry {
	struct script_entry *next;
	struct rd_script *script;
	size_t len;
	char text[];
};

struct subscriber {
	struct subscriber *next;
	struct redisdrv *drv;
	uint32_t handle;
};

struct redisdrv {
	struct skynet_context *ctx;
	uint32_t self;
	struct rd *rd;
	struct script_entry *scripts;    /* service thread only */
	struct subscriber *subscribers;  /* service thread only; freed at release */
	/* shared with the driver thread */
	pthread_mutex_t lock;
	uint32_t watchers[MAX_WATCHERS]; /* distinct subscriber handles */
	int nwatchers;
	int connected;
	char state_text[STATE_TEXT_MAX];
};

struct pending {
	struct redisdrv *drv;
	uint32_t dest;
	int session;
};

/* ---- sending back ----------------------------------------------------- */

static void send_body(struct redisdrv *d, uint32_t dest, int type, int session,
                      char *body, size_t sz) {
	skynet_send(NULL, d->self, dest, type | PTYPE_TAG_DONTCOPY, session, body, sz);
}

static void send_reply(struct redisdrv *d, uint32_t dest, int type, int session,
                       const struct rd_reply *r) {
	size_t sz = rw_encoded_size(r);
	char *body = skynet_malloc(sz);
	rw_encode(r, body);
	send_body(d, dest, type, session, body, sz);
}

static void send_strings(struct redisdrv *d, uint32_t dest, int type, int session,
                         int count, const char *const *strs) {
	size_t sz = rw_strings_size(count, strs);
	char *body = skynet_malloc(sz);
	rw_encode_strings(count, strs, body);
	send_body(d, dest, type, session, body, sz);
}

/* A single-value reply (status or driver error) to a request. */
static void send_text(struct redisdrv *d, uint32_t dest, int session, char tag,
                      const char *text) {
	size_t len = strlen(text);
	char *body = skynet_malloc(1 + 4 + len);
	body[0] = tag;
	for (int i = 0; i < 4; i++)
		body[1 + i] = (char)((uint32_t)len >> (8 * i));
	memcpy(body + 5, text, len);
	send_body(d, dest, PTYPE_RESPONSE, session, body, 5 + len);
}

/* ---- driver callbacks (driver thread) --------------------------------- */

static void on_reply(void *ud, const struct rd_reply *r) {
	struct pending *p = ud;
	if (p->session != 0)
		send_reply(p->drv, p->dest, PTYPE_RESPONSE, p->session, r);
	skynet_free(p);
}

static void on_message(void *ud, const struct rd_reply *msg) {
	struct subscriber *s = ud;
	send_reply(s->drv, s->handle, PTYPE_CLIENT, 0, msg);
}

static void send_state(struct redisdrv *d, uint32_t dest) {
	const char *event[2] = { d->connected ? "connected" : "disconnected", d->state_text };
	send_strings(d, dest, PTYPE_CLIENT, 0, 2, event);
}

static void on_state(void *ud, int connected, const char *text) {
	struct redisdrv *d = ud;
	pthread_mutex_lock(&d->lock);
	d->connected = connected;
	snprintf(d->state_text, sizeof d->state_text, "%s", text);
	for (int i = 0; i < d->nwatchers; i++)
		send_state(d, d->watchers[i]);
	pthread_mutex_unlock(&d->lock);
}

static void on_log(void *ud, const char *line) {
	struct redisdrv *d = ud;
	skynet_error(d->ctx, "redisdrv: %s", line);
}

/* ---- parsing a request ------------------------------------------------ */

struct request {
	int timeout_ms;
	const char *resp;   /* the RESP command */
	size_t len;
	int argc;
	const char **argv;  /* into the message body */
	size_t *argvlen;
};

static int parse_number(const char **p, const char *end, char stop, long *out) {
	long v = 0;
	const char *s = *p;
	if (s == end || *s < '0' || *s > '9')
		return -1;
	while (s < end && *s >= '0' && *s <= '9' && v < 1000000000L)
		v = v * 10 + (*s++ - '0');
	if (s == end || *s != stop)
		return -1;
	*p = s + 1;
	*out = v;
	return 0;
}

/* "*N\r\n" then N of "$len\r\n<bytes>\r\n"; fills argv (skynet_malloc'd). */
static const char *parse_resp(struct request *q) {
	const char *p = q->resp, *end = q->resp + q->len;
	long n, len;
	if (p == end || *p++ != '*' || parse_number(&p, end, '\r', &n) < 0 || p == end ||
	    *p++ != '\n' || n < 1)
		return "the body is not a RESP command (use redis.format)";
	if (n > (long)q->len)
		return "truncated RESP command";
	q->argc = (int)n;
	q->argv = skynet_malloc(sizeof *q->argv * (size_t)n);
	q->argvlen = skynet_malloc(sizeof *q->argvlen * (size_t)n);
	for (long i = 0; i < n; i++) {
		if (p == end || *p++ != '$' || parse_number(&p, end, '\r', &len) < 0 || p == end ||
		    *p++ != '\n' || end - p < len + 2 || p[len] != '\r' || p[len + 1] != '\n')
			return "malformed RESP command";
		q->argv[i] = p;
		q->argvlen[i] = (size_t)len;
		p += len + 2;
	}
	return p == end ? NULL : "stray bytes after the RESP command";
}

static const char *parse_request(const char *msg, size_t sz, struct request *q) {
	memset(q, 0, sizeof *q);
	q->resp = msg;
	q->len = sz;
	if (sz > 0 && msg[0] == '!') {
		const char *p = msg + 1;
		long ms;
		if (parse_number(&p, msg + sz, '\n', &ms) < 0 || ms <= 0)
			return "bad timeout prefix (expected !<ms>\\n)";
		q->timeout_ms = (int)ms;
		q->len = sz - (size_t)(p - msg);
		q->resp = p;
	}
	return parse_resp(q);
}

static void free_request(struct request *q) {
	skynet_free(q->argv);
	skynet_free(q->argvlen);
}

static int arg_is(const struct request *q, int i, const char *name) {
	size_t n = strlen(name);
	return q->argvlen[i] == n && strncasecmp(q->argv[i], name, n) == 0;
}

/* ---- handling requests (service thread) ------------------------------- */

static struct pending *new_pending(struct redisdrv *d, uint32_t source, int session) {
	struct pending *p = skynet_malloc(sizeof *p);
	p->drv = d;
	p->dest = source;
	p->session = session;
	return p;
}

static struct rd_script *script_for(struct redisdrv *d, const char *text, size_t len) {
	struct script_entry *e;
	for (e = d->scripts; e; e = e->next)
		if (e->len == len && memcmp(e->text, text, len) == 0)
			return e->script;
	e = skynet_malloc(sizeof *e + len);
	e->script = rd_script_create(d->rd, text, len);
	e->len = len;
	memcpy(e->text, text, len);
	e->next = d->scripts;
	d->scripts = e;
	return e->script;
}

static void add_watcher(struct redisdrv *d, uint32_t handle) {
	pthread_mutex_lock(&d->lock);
	int known = 0;
	for (int i = 0; i < d->nwatchers; i++)
		known |= d->watchers[i] == handle;
	if (!known && d->nwatchers < MAX_WATCHERS) {
		d->watchers[d->nwatchers++] = handle;
		if (d->connected)
			send_state(d, handle);
	}
	pthread_mutex_unlock(&d->lock);
}

static void subscribe(struct redisdrv *d, const struct request *q, int is_pattern,
                      uint32_t source, int session) {
	for (int i = 1; i < q->argc; i++) {
		struct subscriber *s = skynet_malloc(sizeof *s);
		s->drv = d;
		s->handle = source;
		s->next = d->subscribers;
		d->subscribers = s;
		rd_subscribe(d->rd, q->argv[i], q->argvlen[i], is_pattern, on_message, s);
	}
	add_watcher(d, source);
	if (session != 0)
		send_text(d, source, session, RW_STATUS, "OK");
}

static void handle_request(struct redisdrv *d, const struct request *q, uint32_t source,
                           int session) {
	int is_psub = arg_is(q, 0, "PSUBSCRIBE");
	if ((is_psub || arg_is(q, 0, "SUBSCRIBE")) && q->argc >= 2) {
		subscribe(d, q, is_psub, source, session);
	} else if (arg_is(q, 0, "EVAL") && q->argc >= 3) {
		struct rd_script *script = script_for(d, q->argv[1], q->argvlen[1]);
		rd_submit_script(d->rd, script, q->argc - 2, q->argv + 2, q->argvlen + 2,
		                 q->timeout_ms, on_reply, new_pending(d, source, session));
	} else {
		rd_submit(d->rd, q->resp, q->len, q->timeout_ms, on_reply,
		          new_pending(d, source, session));
	}
}

static int dispatch(struct skynet_context *ctx, void *ud, int type, int session,
                    uint32_t source, const void *msg, size_t sz) {
	struct redisdrv *d = ud;
	struct request q;
	(void)ctx;
	if (type != PTYPE_CLIENT) {
		skynet_error(d->ctx, "redisdrv: ignored a message of type %d from :%08x "
		             "(requests are PTYPE_CLIENT)", type, source);
		return 0;
	}
	const char *bad = parse_request(msg, sz, &q);
	if (bad) {
		char text[STATE_TEXT_MAX];
		snprintf(text, sizeof text, "redisdrv: bad request: %s", bad);
		if (session != 0)
			send_text(d, source, session, RW_DRIVER_ERROR, text);
		else
			skynet_error(d->ctx, "%s (from :%08x)", text, source);
	} else {
		handle_request(d, &q, source, session);
	}
	free_request(&q);
	return 0;
}

/* ---- the service entry points ----------------------------------------- */

struct redisdrv *redisdrv_create(void) {
	struct redisdrv *d = skynet_calloc(1, sizeof *d);
	pthread_mutex_init(&d->lock, NULL);
	return d;
}

static int env_int(const char *key) {
	const char *v = skynet_getenv(key);
	return v ? atoi(v) : 0;
}

int redisdrv_init(struct redisdrv *d, struct skynet_context *ctx, const char *parm) {
	char err[256];
	struct rd_config cfg = {
		.address = parm && parm[0] ? parm : skynet_getenv("coord_redis"),
		.sentinels = skynet_getenv("coord_sentinels"),
		.sentinel_master = skynet_getenv("coord_sentinel_master"),
		.user = skynet_getenv("coord_user"),
		.password = skynet_getenv("coord_password"),
		.db = env_int("coord_db"),
		.on_state = on_state,
		.log = on_log,
		.ud = d,
	};
	d->ctx = ctx;
	d->self = skynet_context_handle(ctx);
	if (!cfg.address && !cfg.sentinels) {
		skynet_error(ctx, "redisdrv: no redis address (give one, or set coord_redis "
		             "or coord_sentinels)");
		return 1;
	}
	d->rd = rd_create(&cfg, err, sizeof err);
	if (!d->rd) {
		skynet_error(ctx, "redisdrv: %s", err);
		return 1;
	}
	skynet_callback(ctx, d, dispatch);
	return 0;
}

void redisdrv_release(struct redisdrv *d) {
	if (d->rd)
		rd_destroy(d->rd); /* answers every pending request first */
	while (d->scripts) {
		struct script_entry *next = d->scripts->next;
		skynet_free(d->scripts);
		d->scripts = next;
	}
	while (d->subscribers) {
		struct subscriber *next = d->subscribers->next;
		skynet_free(d->subscribers);
		d->subscribers = next;
	}
	pthread_mutex_destroy(&d->lock);
	skynet_free(d);
}

void redisdrv_signal(struct redisdrv *d, int sig) {
	(void)sig;
	pthread_mutex_lock(&d->lock);
	skynet_error(d->ctx, "redisdrv: %s (%s)", d->connected ? "connected" : "not connected",
	             d->state_text);
	pthread_mutex_unlock(&d->lock);
}
