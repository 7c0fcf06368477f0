/*
 * redis_fixture.h: a private redis-server for tests.
 *
 * Starts redis-server on a free loopback port (or a given one) and on a unix
 * socket, both inside a fresh temporary folder, with persistence off.  The
 * server dies with the test process (PR_SET_PDEATHSIG), and every wait here
 * is bounded.  The same fixture runs a redis-sentinel instead when started
 * with redis_fixture_start_sentinel.
 */
#ifndef REDIS_FIXTURE_H
#define REDIS_FIXTURE_H

#include <limits.h>
#include <sys/types.h>

#define REDIS_FIXTURE_MAX_ARGS 8

struct redis_fixture {
	pid_t pid;                    /* 0 when not running */
	int port;
	char dir[64];                 /* temporary folder, removed by redis_fixture_stop */
	char unix_path[128];          /* dir/redis.sock */
	char address[32];             /* "127.0.0.1:port" */
	const char *extra[REDIS_FIXTURE_MAX_ARGS + 1]; /* extra redis-server arguments */
	char sentinel_conf[128];      /* dir/sentinel.conf for a sentinel, else "" */
};

/* A loopback port that was free a moment ago. */
int redis_fixture_free_port(void);

/* Fill f for a server on port (0: pick a free one) with the extra arguments
 * (NULL-terminated, may be NULL), create the folder; does not start it. */
int redis_fixture_init(struct redis_fixture *f, int port, const char *const *extra);
/* Start the server and wait (at most 5 s) until it answers; 0 on success. */
int redis_fixture_launch(struct redis_fixture *f);
/* init + launch. */
int redis_fixture_start(struct redis_fixture *f, int port, const char *const *extra);
/* Start a redis-sentinel on a free port, monitoring the master called name
 * at 127.0.0.1:master_port with this quorum (down after 500 ms, fail-over
 * timeout 2000 ms); waits until it answers.  0 on success. */
int redis_fixture_start_sentinel(struct redis_fixture *f, const char *name, int master_port,
                                 int quorum);
/* SIGKILL the server and reap it (the folder stays, so launch again works). */
void redis_fixture_kill(struct redis_fixture *f);
/* Send sig (e.g. SIGSTOP/SIGCONT) to the server. */
void redis_fixture_signal(struct redis_fixture *f, int sig);
/* Kill the server if running and remove the folder. */
void redis_fixture_stop(struct redis_fixture *f);

#endif
