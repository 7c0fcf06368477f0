/*
 * test_socket_server.c: drives node/socket_server.c directly.  A poll thread
 * queues the events; sockets owned by ECHO are served by that thread itself
 * (accept, start, send the data back).  Peers that must misbehave (reset,
 * half-close, stop reading) are plain blocking sockets of the test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "socket_server.h"

#define ECHO 1    /* opaque of sockets the poll thread echoes */
#define TESTER 2  /* opaque of sockets the test itself watches */
#define QUEUE_MAX 4096
#define WAIT_MS 5000

struct queued_event {
	int kind;
	struct socket_event ev;
};

struct harness {
	struct socket_server *ss;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int count;
	struct queued_event queue[QUEUE_MAX];
};

static void echo_event(struct harness *h, int kind, struct socket_event *ev) {
	if (kind == SOCKET_EV_ACCEPT)
		socket_server_start(h->ss, ECHO, ev->ud);
	else if (kind == SOCKET_EV_DATA)
		socket_server_send(h->ss, ev->id, ev->data, (size_t)ev->ud, 0);
}

static void queue_event(struct harness *h, int kind, struct socket_event *ev) {
	pthread_mutex_lock(&h->lock);
	if (h->count == QUEUE_MAX) {
		free(ev->data);
		fprintf(stderr, "test harness: event queue full\n");
	} else {
		h->queue[h->count].kind = kind;
		h->queue[h->count].ev = *ev;
		h->count++;
		pthread_cond_broadcast(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
}

static void *poll_thread(void *arg) {
	struct harness *h = arg;
	struct socket_event ev;
	int kind;
	while ((kind = socket_server_poll(h->ss, &ev)) != SOCKET_EV_EXIT) {
		if (ev.opaque == ECHO)
			echo_event(h, kind, &ev);
		else
			queue_event(h, kind, &ev);
	}
	return NULL;
}

static int setup(void **state) {
	struct harness *h = calloc(1, sizeof *h);
	h->ss = socket_server_create(malloc, free);
	assert_non_null(h->ss);
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	assert_int_equal(pthread_create(&h->thread, NULL, poll_thread, h), 0);
	*state = h;
	return 0;
}

static int teardown(void **state) {
	struct harness *h = *state;
	socket_server_exit(h->ss);
	pthread_join(h->thread, NULL);
	for (int i = 0; i < h->count; i++)
		free(h->queue[i].ev.data);
	socket_server_release(h->ss);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return 0;
}

static void deadline_after(struct timespec *ts, int ms) {
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* Takes the first queued event about socket id; returns its kind, or -1
 * when none came within ms. */
static int next_event(struct harness *h, int id, struct socket_event *out,
                      int ms) {
	struct timespec deadline;
	deadline_after(&deadline, ms);
	pthread_mutex_lock(&h->lock);
	for (;;) {
		for (int i = 0; i < h->count; i++) {
			if (h->queue[i].ev.id != id)
				continue;
			int kind = h->queue[i].kind;
			*out = h->queue[i].ev;
			memmove(&h->queue[i], &h->queue[i + 1],
			        (size_t)(h->count - i - 1) * sizeof h->queue[0]);
			h->count--;
			pthread_mutex_unlock(&h->lock);
			return kind;
		}
		if (pthread_cond_timedwait(&h->cond, &h->lock, &deadline) ==
		    ETIMEDOUT) {
			pthread_mutex_unlock(&h->lock);
			return -1;
		}
	}
}

static void expect_event(struct harness *h, int id, int kind,
                         struct socket_event *out) {
	struct socket_event ev;
	if (out == NULL)
		out = &ev;
	int got = next_event(h, id, out, WAIT_MS);
	if (got != kind)
		fail_msg("socket %d: expected event %d, got %d (%s)", id, kind, got,
		         out->text);
	if (out == &ev)
		free(ev.data);
}

/* Reads n bytes of DATA events of socket id (warnings skipped); returns
 * how many arrived before a close, an error or the time limit. */
static size_t read_bytes(struct harness *h, int id, char *buf, size_t n) {
	size_t got = 0;
	while (got < n) {
		struct socket_event ev;
		int kind = next_event(h, id, &ev, WAIT_MS);
		if (kind == SOCKET_EV_WARNING)
			continue;
		if (kind != SOCKET_EV_DATA)
			break;
		assert_true(got + (size_t)ev.ud <= n);
		memcpy(buf + got, ev.data, (size_t)ev.ud);
		got += (size_t)ev.ud;
		free(ev.data);
	}
	return got;
}

static char *heap_copy(const char *text) {
	size_t n = strlen(text);
	char *p = malloc(n);
	memcpy(p, text, n);
	return p;
}

/* A listener owned by opaque on 127.0.0.1, started; returns its port. */
static int open_listener(struct harness *h, uintptr_t opaque, int *id) {
	char err[SOCKET_TEXT_MAX];
	*id = socket_server_listen(h->ss, opaque, "127.0.0.1", 0, 64, err);
	assert_true(*id >= 0);
	int port = socket_server_port(h->ss, *id);
	assert_true(port > 0);
	socket_server_start(h->ss, opaque, *id);
	if (opaque == TESTER) {
		struct socket_event ev;
		expect_event(h, *id, SOCKET_EV_CONNECT, &ev);
		assert_int_equal(ev.ud, port);
	}
	return port;
}

static int connect_client(struct harness *h, int port) {
	int id = socket_server_connect(h->ss, TESTER, "127.0.0.1", port);
	assert_true(id >= 0);
	struct socket_event ev;
	expect_event(h, id, SOCKET_EV_CONNECT, &ev);
	assert_string_equal(ev.text, "127.0.0.1");
	return id;
}

/* A blocking socket of the test connected to port, with a time limit on
 * reads; rcvbuf > 0 shrinks its receive buffer. */
static int raw_connect(int port, int rcvbuf) {
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	struct timeval tv = {.tv_sec = WAIT_MS / 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

/* A raw client and its accepted, started socket on a TESTER listener. */
static int raw_pair(struct harness *h, int rcvbuf, int *accepted) {
	int listener;
	int port = open_listener(h, TESTER, &listener);
	int fd = raw_connect(port, rcvbuf);
	struct socket_event ev;
	expect_event(h, listener, SOCKET_EV_ACCEPT, &ev);
	*accepted = ev.ud;
	socket_server_start(h->ss, TESTER, *accepted);
	expect_event(h, *accepted, SOCKET_EV_CONNECT, &ev);
	assert_string_equal(ev.text, "start");
	return fd;
}

/* Returns once every request sent before it has been applied: starting
 * an invalid id comes back as an error through the same control pipe. */
static void barrier(struct harness *h) {
	enum { NO_SUCH_SOCKET = -2 };
	socket_server_start(h->ss, TESTER, NO_SUCH_SOCKET);
	struct socket_event ev;
	expect_event(h, NO_SUCH_SOCKET, SOCKET_EV_ERROR, &ev);
	assert_string_equal(ev.text, "invalid socket");
}

static size_t raw_read(int fd, char *buf, size_t n) {
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

static void test_listen_connect_echo(void **state) {
	struct harness *h = *state;
	int listener;
	int port = open_listener(h, TESTER, &listener);
	int client = connect_client(h, port);
	struct socket_event ev;
	expect_event(h, listener, SOCKET_EV_ACCEPT, &ev);
	int served = ev.ud;
	assert_true(strncmp(ev.text, "127.0.0.1:", 10) == 0);
	socket_server_start(h->ss, TESTER, served);
	expect_event(h, served, SOCKET_EV_CONNECT, NULL);

	assert_int_equal(socket_server_send(h->ss, client, heap_copy("hello"), 5, 0), 0);
	char buf[16];
	assert_int_equal(read_bytes(h, served, buf, 5), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(socket_server_send(h->ss, served, "world", 5, SOCKET_SEND_COPY), 0);
	assert_int_equal(read_bytes(h, client, buf, 5), 5);
	assert_memory_equal(buf, "world", 5);

	socket_server_close(h->ss, TESTER, client);
	expect_event(h, client, SOCKET_EV_CLOSE, NULL);
	expect_event(h, served, SOCKET_EV_CLOSE, NULL); /* peer closed */
	assert_int_equal(socket_server_send(h->ss, client, "x", 1, SOCKET_SEND_COPY), -1);
	socket_server_close(h->ss, TESTER, served);
	expect_event(h, served, SOCKET_EV_CLOSE, NULL);
}

static void test_hundred_clients(void **state) {
	struct harness *h = *state;
	enum { CLIENTS = 100 };
	int listener;
	int port = open_listener(h, ECHO, &listener);
	int ids[CLIENTS];
	for (int i = 0; i < CLIENTS; i++)
		ids[i] = socket_server_connect(h->ss, TESTER, "127.0.0.1", port);
	for (int i = 0; i < CLIENTS; i++) {
		expect_event(h, ids[i], SOCKET_EV_CONNECT, NULL);
		char msg[16];
		int n = snprintf(msg, sizeof msg, "client %03d", i);
		socket_server_send(h->ss, ids[i], msg, (size_t)n, SOCKET_SEND_COPY);
	}
	for (int i = 0; i < CLIENTS; i++) {
		char expected[16], buf[16];
		int n = snprintf(expected, sizeof expected, "client %03d", i);
		assert_int_equal(read_bytes(h, ids[i], buf, (size_t)n), n);
		assert_memory_equal(buf, expected, (size_t)n);
		socket_server_close(h->ss, TESTER, ids[i]);
		expect_event(h, ids[i], SOCKET_EV_CLOSE, NULL);
	}
}

static uint64_t checksum(uint64_t sum, const unsigned char *p, size_t n) {
	for (size_t i = 0; i < n; i++)
		sum = (sum ^ p[i]) * 1099511628211ULL;
	return sum;
}

static void test_twenty_megabytes(void **state) {
	struct harness *h = *state;
	enum { TOTAL = 20 * 1024 * 1024, CHUNK = 64 * 1024 };
	int listener;
	int port = open_listener(h, ECHO, &listener);
	int client = connect_client(h, port);
	uint64_t sent_sum = 14695981039346656037ULL;
	for (size_t off = 0; off < TOTAL; off += CHUNK) {
		unsigned char *chunk = malloc(CHUNK);
		for (size_t i = 0; i < CHUNK; i++)
			chunk[i] = (unsigned char)((off + i) * 31 >> 3);
		sent_sum = checksum(sent_sum, chunk, CHUNK);
		assert_int_equal(socket_server_send(h->ss, client, chunk, CHUNK, 0), 0);
	}
	char *buf = malloc(TOTAL);
	size_t got = read_bytes(h, client, buf, TOTAL);
	assert_int_equal(got, TOTAL);
	uint64_t recv_sum = checksum(14695981039346656037ULL,
	                             (unsigned char *)buf, TOTAL);
	free(buf);
	assert_true(recv_sum == sent_sum);
	socket_server_close(h->ss, TESTER, client);
	expect_event(h, client, SOCKET_EV_CLOSE, NULL);
}

static void test_connect_refused(void **state) {
	struct harness *h = *state;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	socklen_t len = sizeof sa;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	close(fd); /* the port is now free: nobody listens there */
	int id = socket_server_connect(h->ss, TESTER, "127.0.0.1",
	                               ntohs(sa.sin_port));
	assert_true(id >= 0);
	struct socket_event ev;
	expect_event(h, id, SOCKET_EV_ERROR, &ev);
	assert_non_null(strstr(ev.text, "refused"));
	assert_int_equal(socket_server_send(h->ss, id, "x", 1, SOCKET_SEND_COPY), -1);

	id = socket_server_connect(h->ss, TESTER, "no-such-host.invalid", 80);
	expect_event(h, id, SOCKET_EV_ERROR, &ev);
	assert_true(ev.text[0] != '\0');
}

static void test_peer_reset(void **state) {
	struct harness *h = *state;
	int served;
	int fd = raw_pair(h, 0, &served);
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(fd); /* sends RST */
	struct socket_event ev;
	int kind = next_event(h, served, &ev, WAIT_MS);
	assert_true(kind == SOCKET_EV_ERROR || kind == SOCKET_EV_CLOSE);
	if (kind == SOCKET_EV_CLOSE) {
		socket_server_close(h->ss, TESTER, served);
		expect_event(h, served, SOCKET_EV_CLOSE, NULL);
	}
	assert_int_equal(socket_server_send(h->ss, served, "x", 1, SOCKET_SEND_COPY), -1);
}

static void test_half_close(void **state) {
	struct harness *h = *state;
	int served;
	int fd = raw_pair(h, 0, &served);
	assert_int_equal(write(fd, "last", 4), 4);
	shutdown(fd, SHUT_WR);
	char buf[8];
	assert_int_equal(read_bytes(h, served, buf, 4), 4);
	assert_memory_equal(buf, "last", 4);
	expect_event(h, served, SOCKET_EV_CLOSE, NULL);
	/* still writable after the peer stopped sending */
	assert_int_equal(socket_server_send(h->ss, served, "bye", 3, SOCKET_SEND_COPY), 0);
	assert_int_equal(raw_read(fd, buf, 3), 3);
	assert_memory_equal(buf, "bye", 3);
	socket_server_close(h->ss, TESTER, served);
	expect_event(h, served, SOCKET_EV_CLOSE, NULL);
	assert_int_equal(read(fd, buf, 1), 0); /* EOF */
	close(fd);
}

static void test_pause_resume(void **state) {
	struct harness *h = *state;
	int served;
	int fd = raw_pair(h, 0, &served);
	socket_server_pause(h->ss, TESTER, served);
	barrier(h);
	assert_int_equal(write(fd, "abc", 3), 3);
	struct socket_event ev;
	char buf[8];
	assert_int_equal(next_event(h, served, &ev, 200), -1);
	socket_server_start(h->ss, TESTER, served);
	expect_event(h, served, SOCKET_EV_CONNECT, &ev);
	assert_int_equal(read_bytes(h, served, buf, 3), 3);
	assert_memory_equal(buf, "abc", 3);
	close(fd);
	expect_event(h, served, SOCKET_EV_CLOSE, NULL);
	socket_server_close(h->ss, TESTER, served);
	expect_event(h, served, SOCKET_EV_CLOSE, NULL);
}

static void test_priority_and_flush_on_close(void **state) {
	struct harness *h = *state;
	enum { BIG = 32 * 1024 * 1024, SMALL = 1000 };
	int served;
	int fd = raw_pair(h, 65536, &served); /* more than the kernel buffers */
	char *big = malloc(BIG);
	memset(big, 'a', BIG);
	socket_server_send(h->ss, served, big, BIG, 0);
	socket_server_send(h->ss, served, memset(malloc(SMALL), 'l', SMALL), SMALL,
	                   SOCKET_SEND_LOW);
	socket_server_send(h->ss, served, memset(malloc(SMALL), 'h', SMALL), SMALL, 0);
	struct socket_event ev;
	expect_event(h, served, SOCKET_EV_WARNING, &ev);
	assert_true(ev.ud >= 1024);
	socket_server_close(h->ss, TESTER, served);
	char *buf = malloc(BIG + 2 * SMALL + 1);
	assert_int_equal(raw_read(fd, buf, BIG + 2 * SMALL + 1), BIG + 2 * SMALL);
	for (size_t i = 0; i < BIG; i++)
		if (buf[i] != 'a')
			fail_msg("byte %zu is %c", i, buf[i]);
	for (size_t i = 0; i < SMALL; i++) {
		assert_int_equal(buf[BIG + i], 'h');
		assert_int_equal(buf[BIG + SMALL + i], 'l');
	}
	free(buf);
	expect_event(h, served, SOCKET_EV_CLOSE, NULL);
	close(fd);
}

static void test_shutdown_drops_pending(void **state) {
	struct harness *h = *state;
	enum { BIG = 4 * 1024 * 1024 };
	int served;
	int fd = raw_pair(h, 4096, &served);
	socket_server_send(h->ss, served, memset(malloc(BIG), 'z', BIG), BIG, 0);
	socket_server_shutdown(h->ss, TESTER, served);
	struct socket_event ev;
	int kind;
	while ((kind = next_event(h, served, &ev, WAIT_MS)) == SOCKET_EV_WARNING)
		;
	assert_int_equal(kind, SOCKET_EV_CLOSE);
	assert_int_equal(socket_server_send(h->ss, served, "x", 1, SOCKET_SEND_COPY), -1);
	close(fd);
}

static void test_stale_id_rejected(void **state) {
	struct harness *h = *state;
	int first;
	int fd = raw_pair(h, 0, &first);
	socket_server_close(h->ss, TESTER, first);
	expect_event(h, first, SOCKET_EV_CLOSE, NULL);
	socket_server_close(h->ss, TESTER, first); /* gone: nothing to report */
	barrier(h);
	struct socket_event ev;
	assert_int_equal(next_event(h, first, &ev, 100), -1);
	close(fd);
	int second;
	fd = raw_pair(h, 0, &second);
	assert_int_not_equal(first, second);
	assert_int_equal(socket_server_send(h->ss, first, "x", 1, SOCKET_SEND_COPY), -1);
	assert_int_equal(socket_server_send(h->ss, second, "y", 1, SOCKET_SEND_COPY), 0);
	char c;
	assert_int_equal(raw_read(fd, &c, 1), 1);
	assert_int_equal(c, 'y');
	close(fd);
}

static void test_udp_round_trip(void **state) {
	struct harness *h = *state;
	char err[SOCKET_TEXT_MAX];
	int a = socket_server_udp(h->ss, TESTER, "127.0.0.1", 0, err);
	int b = socket_server_udp(h->ss, TESTER, "127.0.0.1", 0, err);
	assert_true(a >= 0 && b >= 0);
	int port_a = socket_server_port(h->ss, a);
	int port_b = socket_server_port(h->ss, b);
	char to_b[SOCKET_UDP_ADDRESS_MAX];
	int addrsz = socket_udp_address_encode("127.0.0.1", port_b, to_b);
	assert_int_equal(addrsz, 7);
	assert_int_equal(socket_server_udp_send(h->ss, a, to_b, "ping", 4, SOCKET_SEND_COPY), 0);

	struct socket_event ev;
	expect_event(h, b, SOCKET_EV_UDP, &ev);
	assert_int_equal(ev.ud, 4);
	assert_memory_equal(ev.data, "ping", 4);
	int fromsz;
	const char *from = socket_server_udp_address(&ev, &fromsz);
	char host[64];
	int port;
	assert_int_equal(socket_udp_address_decode(from, fromsz, host, sizeof host, &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, port_a);
	assert_int_equal(socket_server_udp_send(h->ss, b, from, heap_copy("pong"), 4, 0), 0);
	free(ev.data);

	expect_event(h, a, SOCKET_EV_UDP, &ev);
	assert_memory_equal(ev.data, "pong", 4);
	free(ev.data);

	assert_int_equal(socket_server_send(h->ss, a, "x", 1, SOCKET_SEND_COPY), -1);
	assert_int_equal(socket_server_udp_connect(h->ss, a, "127.0.0.1", port_b), 0);
	assert_int_equal(socket_server_send(h->ss, a, "again", 5, SOCKET_SEND_COPY), 0);
	expect_event(h, b, SOCKET_EV_UDP, &ev);
	assert_memory_equal(ev.data, "again", 5);
	free(ev.data);
}

static void test_info_lists_sockets(void **state) {
	struct harness *h = *state;
	int listener;
	open_listener(h, TESTER, &listener);
	struct socket_info info[8];
	int n = socket_server_info(h->ss, info, 8);
	assert_int_equal(n, 1);
	assert_int_equal(info[0].id, listener);
	assert_string_equal(info[0].kind, "listen");
	assert_int_equal(info[0].opaque, TESTER);
}

int main(void) {
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_listen_connect_echo),
	    T(test_hundred_clients),
	    T(test_twenty_megabytes),
	    T(test_connect_refused),
	    T(test_peer_reset),
	    T(test_half_close),
	    T(test_pause_resume),
	    T(test_priority_and_flush_on_close),
	    T(test_shutdown_drops_pending),
	    T(test_stale_id_rejected),
	    T(test_udp_round_trip),
	    T(test_info_lists_sockets),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
