/*
 * redis_driver.h: an asynchronous Redis client that runs in its own thread.
 *
 * The driver owns a libevent loop with two hiredis connections to one Redis
 * server: one for commands, one for SUBSCRIBE/PSUBSCRIBE.  hiredis 0.14 has
 * no timeouts and never reconnects, so the driver adds what a coordinator
 * needs on top of it:
 *
 *   - per-request timeouts;
 *   - a keep-alive PING on an idle command link;
 *   - reconnection with capped, jittered exponential backoff; while Redis is
 *     unreachable, requests fail at once instead of queueing;
 *   - automatic re-subscription after every reconnect;
 *   - Lua scripts called by SHA, reloaded transparently on NOSCRIPT;
 *   - optionally, Redis Sentinel: the master's address is asked from a list
 *     of sentinels before each connection attempt, the server is checked to
 *     be a master (ROLE), and a +switch-master announced by a sentinel moves
 *     both links to the new master at once.
 *
 * Every request gets exactly one reply callback, whatever happens to the
 * connection.  All callbacks run on the driver thread; the reply they get is
 * only valid during the call.  The driver knows nothing about the runtime.
 */
#ifndef REDIS_DRIVER_H
#define REDIS_DRIVER_H

#include <stddef.h>

struct rd;
struct rd_reply;  /* read it with the rd_reply_* accessors below */
struct rd_script;

enum rd_reply_type {
	RD_STRING = 1,       /* bulk string */
	RD_ARRAY = 2,
	RD_INTEGER = 3,
	RD_NIL = 4,
	RD_STATUS = 5,       /* +OK, +PONG ... */
	RD_ERROR = 6,        /* an error reply from Redis */
	RD_DRIVER_ERROR = 7, /* no reply: the driver's own error (see below) */
};

/* For RD_DRIVER_ERROR, rd_reply_integer() gives one of these. */
enum rd_driver_error {
	RD_ERR_TIMEOUT = 1,     /* "timeout after N ms" */
	RD_ERR_UNREACHABLE = 2, /* "redis unreachable at ADDR: reason" */
	RD_ERR_LOST = 3,        /* "connection to redis at ADDR lost: reason" */
	RD_ERR_STOPPED = 4,     /* "driver stopped" */
	RD_ERR_INVALID = 5,     /* the request itself was refused */
};

int rd_reply_type(const struct rd_reply *r);
/* Text of a string, status, error or driver error; length in *len. */
const char *rd_reply_str(const struct rd_reply *r, size_t *len);
long long rd_reply_integer(const struct rd_reply *r);
size_t rd_reply_count(const struct rd_reply *r);
const struct rd_reply *rd_reply_at(const struct rd_reply *r, size_t i);

typedef void (*rd_reply_fn)(void *ud, const struct rd_reply *r);
/* A pub/sub message: ["message", channel, payload] or
 * ["pmessage", pattern, channel, payload]. */
typedef void (*rd_message_fn)(void *ud, const struct rd_reply *msg);
/* connected = 1 after the links are up, authenticated and resubscribed;
 * connected = 0 when they go down.  text says where or why. */
typedef void (*rd_state_fn)(void *ud, int connected, const char *text);
typedef void (*rd_log_fn)(void *ud, const char *line);

struct rd_config {
	const char *address;     /* "host:port", or a unix socket path (has a '/');
	                            ignored when sentinels is set */
	const char *sentinels;   /* NULL, or "host:port,host:port,..." (Sentinel mode) */
	const char *sentinel_master; /* the master's name; required with sentinels */
	int sentinel_timeout_ms; /* to connect to and hear from one sentinel; 0: 300 */
	const char *user;        /* NULL: AUTH password only */
	const char *password;    /* NULL: no AUTH */
	int db;                  /* SELECT db when not 0 */
	int connect_timeout_ms;  /* 0: 1000 */
	int request_timeout_ms;  /* default per request; 0: 1000 */
	int keepalive_ms;        /* PING an idle link this often; 0: 1000 */
	int keepalive_timeout_ms;/* a PING unanswered this long kills the link; 0: 2000 */
	int backoff_min_ms;      /* first reconnect delay; 0: 50 */
	int backoff_max_ms;      /* cap; 0: 2000 */
	rd_state_fn on_state;    /* may be NULL */
	rd_log_fn log;           /* may be NULL */
	void *ud;                /* passed to on_state and log */
};

/* Starts the driver thread; it connects at once.  NULL with a message in
 * err (errsz bytes) if the config is wrong or a resource is missing. */
struct rd *rd_create(const struct rd_config *cfg, char *err, size_t errsz);
/* Stops the thread.  Requests still pending get "driver stopped". */
void rd_destroy(struct rd *rd);

/* Thread-safe.  cmd is a complete RESP command (copied).  timeout_ms <= 0
 * means the configured default.  Calling it once rd_destroy has begun
 * answers "driver stopped" at once, on the calling thread. */
void rd_submit(struct rd *rd, const char *cmd, size_t len, int timeout_ms,
               rd_reply_fn fn, void *ud);

/* Thread-safe.  Subscribe to a channel (or a pattern when is_pattern) for
 * the driver's lifetime; renewed after each reconnect. */
void rd_subscribe(struct rd *rd, const char *name, size_t len, int is_pattern,
                  rd_message_fn fn, void *ud);

/* Thread-safe.  Registers a Lua script (text copied), owned by the driver.
 * It is loaded with SCRIPT LOAD on first use. */
struct rd_script *rd_script_create(struct rd *rd, const char *text, size_t len);
/* Thread-safe.  EVALSHA script with argv = numkeys, keys..., args... */
void rd_submit_script(struct rd *rd, struct rd_script *script, int argc,
                      const char **argv, const size_t *argvlen, int timeout_ms,
                      rd_reply_fn fn, void *ud);

#endif
