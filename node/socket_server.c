/*
 * socket_server.c: the socket thread (epoll), the socket table, and the
 * operations other threads call.  See socket_server.h for the contract.
 *
 * Ownership rules:
 * - A socket's write queues, fd, owner and epoll registration are guarded by
 *   its mutex.  Any thread may append to the queues (a send that cannot be
 *   written at once); only the socket thread removes from them, except a
 *   direct write, which happens only while both queues are empty.
 * - The state and the reading flags change only in the socket thread (and in
 *   the reserving thread before the socket is announced through the control
 *   pipe), always under the mutex, so the socket thread may read them freely.
 * - Socket objects are allocated on first use of a slot and never freed
 *   before the server is released, so a stale id can always be checked
 *   safely: the slot's current id differs (its generation moved on).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, pipe2, GNU strerror_r */
#endif
#include "socket_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define SLOT_BITS 16
#define MAX_SOCKETS (1 << SLOT_BITS)
#define SLOT_MASK (MAX_SOCKETS - 1)
#define GENERATION_MASK 0x7fff /* keeps ids positive */

#define EVENT_BATCH 64
#define REQUEST_BATCH 128
#define IOV_BATCH 64
#define READ_SIZE_MIN 64
#define READ_SIZE_MAX (4 * 1024 * 1024)
#define UDP_PACKET_MAX 65535
#define WARNING_FIRST (1024 * 1024)
#define CONTROL_TAG UINT64_MAX

enum socket_state {
	S_FREE,
	S_RESERVED,   /* id handed out, not yet announced to the socket thread */
	S_LISTENING,  /* bound and listening; accepts once started */
	S_CONNECTING, /* non-blocking connect in progress */
	S_OPEN,       /* connected, accepted, bound fd or UDP */
};

enum socket_kind { K_TCP, K_LISTEN, K_UDP, K_BIND };

enum request_op {
	REQ_CONNECT, /* arg: 0 or an error (errno, or a negative EAI_ code);
	                flag: connected at once */
	REQ_OPEN,    /* a listener, UDP socket or bound fd is ready */
	REQ_START,
	REQ_PAUSE,
	REQ_CLOSE,
	REQ_SHUTDOWN,
	REQ_WARNING, /* a sender crossed the warning threshold */
	REQ_EXIT,
};

/* One record of the control pipe.  Records are far smaller than PIPE_BUF,
 * so concurrent writers never interleave. */
struct request {
	int op;
	int id;
	int arg;
	int flag;
	uintptr_t opaque;
};

union sockaddr_all {
	struct sockaddr s;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

struct write_buffer {
	struct write_buffer *next;
	const char *ptr; /* next byte to write */
	size_t left;
	void *owned;     /* handed over by the sender, freed when written */
	bool started;    /* part of it went out already */
	socklen_t tolen; /* UDP destination, when tolen > 0 */
	union sockaddr_all to;
};

struct write_list {
	struct write_buffer *head;
	struct write_buffer *tail;
};

struct socket {
	pthread_mutex_t lock;
	_Atomic int id;
	_Atomic int state;
	int slot;
	int generation;
	int fd;
	int kind;
	uintptr_t opaque;
	bool registered;  /* fd is in the epoll set */
	uint32_t events;  /* the epoll mask registered */
	bool reading;     /* wants EPOLLIN (false while paused) */
	bool closing;     /* close requested: flush, then close */
	bool peer_closed; /* read returned 0: half-closed, still writable */
	bool warning_due; /* pending crossed warn_next: report it */
	struct write_list high;
	struct write_list low;
	size_t pending;
	size_t warn_next;
	int read_size;
	_Atomic uint64_t bytes_read; /* written by the socket thread only */
	uint64_t bytes_written;
	socklen_t peer_len; /* UDP default destination */
	union sockaddr_all peer;
};

struct socket_server {
	int epoll_fd;
	int control_read;
	int control_write;
	int spare_fd; /* released to accept and drop a client when out of fds */
	void *(*malloc_buffer)(size_t);
	void (*free_buffer)(void *);
	struct epoll_event events[EVENT_BATCH];
	int event_count;
	int event_index;
	bool control_ready;
	struct request requests[REQUEST_BATCH];
	int request_count;
	int request_index;
	char *udp_buffer;
	pthread_mutex_t alloc_lock;
	int slots_used;
	int free_count;
	int free_slots[MAX_SOCKETS];
	struct socket *_Atomic slots[MAX_SOCKETS];
};

/* ---- small helpers ---- */

static int state_of(struct socket *s) {
	return atomic_load_explicit(&s->state, memory_order_relaxed);
}

static void set_state(struct socket *s, int state) {
	atomic_store_explicit(&s->state, state, memory_order_relaxed);
}

static void error_text(int err, char *out) {
	char tmp[SOCKET_TEXT_MAX];
	const char *msg;
	if (err < 0)
		msg = gai_strerror(err);
	else
		msg = strerror_r(err, tmp, sizeof tmp);
	snprintf(out, SOCKET_TEXT_MAX, "%s", msg);
}

static void report_error(char *out, const char *what, int err) {
	if (out == NULL)
		return;
	char reason[SOCKET_TEXT_MAX];
	error_text(err, reason);
	snprintf(out, SOCKET_TEXT_MAX, "%s: %.100s", what, reason);
}

/* Writes "ip" (with_port false) or "ip:port" of sa into out. */
static void address_text(const union sockaddr_all *sa, bool with_port,
                         char *out, size_t outsz) {
	char ip[INET6_ADDRSTRLEN] = "";
	int port = 0;
	if (sa->s.sa_family == AF_INET) {
		inet_ntop(AF_INET, &sa->v4.sin_addr, ip, sizeof ip);
		port = ntohs(sa->v4.sin_port);
	} else if (sa->s.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &sa->v6.sin6_addr, ip, sizeof ip);
		port = ntohs(sa->v6.sin6_port);
	}
	if (with_port)
		snprintf(out, outsz, "%s:%d", ip, port);
	else
		snprintf(out, outsz, "%s", ip);
}

static void peer_text(int fd, bool with_port, char *out, size_t outsz) {
	union sockaddr_all sa;
	socklen_t len = sizeof sa;
	memset(&sa, 0, sizeof sa);
	if (getpeername(fd, &sa.s, &len) != 0)
		out[0] = '\0';
	else
		address_text(&sa, with_port, out, outsz);
}

static int local_port(int fd) {
	union sockaddr_all sa;
	socklen_t len = sizeof sa;
	if (getsockname(fd, &sa.s, &len) != 0)
		return -1;
	if (sa.s.sa_family == AF_INET)
		return ntohs(sa.v4.sin_port);
	if (sa.s.sa_family == AF_INET6)
		return ntohs(sa.v6.sin6_port);
	return -1;
}

static void set_flag_option(int fd, int level, int option) {
	int on = 1;
	setsockopt(fd, level, option, &on, sizeof on);
}

/* ---- the socket table ---- */

static struct socket *slot_socket(struct socket_server *ss, int id) {
	if (id < 0)
		return NULL;
	return atomic_load_explicit(&ss->slots[id & SLOT_MASK],
	                            memory_order_acquire);
}

/* Socket thread: the live socket with this id, or NULL. */
static struct socket *socket_of(struct socket_server *ss, int id) {
	struct socket *s = slot_socket(ss, id);
	if (s == NULL || atomic_load(&s->id) != id || state_of(s) == S_FREE)
		return NULL;
	return s;
}

/* Any thread: the live socket with this id, locked, or NULL. */
static struct socket *lock_socket(struct socket_server *ss, int id) {
	struct socket *s = slot_socket(ss, id);
	if (s == NULL)
		return NULL;
	pthread_mutex_lock(&s->lock);
	if (atomic_load(&s->id) != id || state_of(s) == S_FREE) {
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}
	return s;
}

static struct socket *take_slot(struct socket_server *ss) {
	struct socket *s = NULL;
	pthread_mutex_lock(&ss->alloc_lock);
	if (ss->free_count > 0) {
		s = slot_socket(ss, ss->free_slots[--ss->free_count]);
	} else if (ss->slots_used < MAX_SOCKETS) {
		s = calloc(1, sizeof *s);
		if (s != NULL) {
			pthread_mutex_init(&s->lock, NULL);
			s->slot = ss->slots_used++;
			atomic_store_explicit(&ss->slots[s->slot], s,
			                      memory_order_release);
		}
	}
	pthread_mutex_unlock(&ss->alloc_lock);
	return s;
}

/* Reserves a socket for an owner; NULL when the table is full. */
static struct socket *reserve_socket(struct socket_server *ss,
                                     uintptr_t opaque, int kind, int fd) {
	struct socket *s = take_slot(ss);
	if (s == NULL)
		return NULL;
	pthread_mutex_lock(&s->lock);
	s->generation = (s->generation + 1) & GENERATION_MASK;
	atomic_store(&s->id, (s->generation << SLOT_BITS) | s->slot);
	s->fd = fd;
	s->kind = kind;
	s->opaque = opaque;
	s->registered = false;
	s->events = 0;
	s->reading = false;
	s->closing = false;
	s->peer_closed = false;
	s->warning_due = false;
	s->pending = 0;
	s->warn_next = WARNING_FIRST;
	s->read_size = READ_SIZE_MIN;
	atomic_store_explicit(&s->bytes_read, 0, memory_order_relaxed);
	s->bytes_written = 0;
	s->peer_len = 0;
	set_state(s, S_RESERVED);
	pthread_mutex_unlock(&s->lock);
	return s;
}

static void free_write_buffer(struct socket_server *ss,
                              struct write_buffer *wb) {
	if (wb->owned != NULL)
		ss->free_buffer(wb->owned);
	ss->free_buffer(wb);
}

static void drop_list(struct socket_server *ss, struct write_list *list) {
	struct write_buffer *wb = list->head;
	while (wb != NULL) {
		struct write_buffer *next = wb->next;
		free_write_buffer(ss, wb);
		wb = next;
	}
	list->head = list->tail = NULL;
}

/* Socket thread: closes the fd, drops queued data, frees the slot. */
static void release_socket(struct socket_server *ss, struct socket *s) {
	pthread_mutex_lock(&s->lock);
	if (s->registered)
		epoll_ctl(ss->epoll_fd, EPOLL_CTL_DEL, s->fd, NULL);
	if (s->fd >= 0 && s->kind != K_BIND)
		close(s->fd);
	s->fd = -1;
	s->registered = false;
	drop_list(ss, &s->high);
	drop_list(ss, &s->low);
	s->pending = 0;
	set_state(s, S_FREE);
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_lock(&ss->alloc_lock);
	ss->free_slots[ss->free_count++] = s->slot;
	pthread_mutex_unlock(&ss->alloc_lock);
}

/* ---- epoll registration (socket locked) ---- */

static bool has_pending(const struct socket *s) {
	return s->high.head != NULL || s->low.head != NULL;
}

static uint32_t wanted_events(const struct socket *s) {
	if (state_of((struct socket *)s) == S_CONNECTING)
		return EPOLLOUT;
	uint32_t events = 0;
	if (s->reading && !s->closing && !s->peer_closed)
		events |= EPOLLIN;
	if (has_pending(s))
		events |= EPOLLOUT;
	return events;
}

static void sync_events(struct socket_server *ss, struct socket *s) {
	uint32_t events = wanted_events(s);
	if (!s->registered || events == s->events)
		return;
	struct epoll_event ev = {.events = events, .data.u64 = (uint32_t)s->id};
	epoll_ctl(ss->epoll_fd, EPOLL_CTL_MOD, s->fd, &ev);
	s->events = events;
}

static int register_socket(struct socket_server *ss, struct socket *s) {
	uint32_t events = wanted_events(s);
	struct epoll_event ev = {.events = events, .data.u64 = (uint32_t)s->id};
	if (epoll_ctl(ss->epoll_fd, EPOLL_CTL_ADD, s->fd, &ev) != 0)
		return errno;
	s->registered = true;
	s->events = events;
	return 0;
}

/* ---- the control pipe ---- */

static void send_request(struct socket_server *ss, int op, int id,
                         uintptr_t opaque, int arg, int flag) {
	struct request req = {
	    .op = op, .id = id, .arg = arg, .flag = flag, .opaque = opaque};
	for (;;) {
		ssize_t n = write(ss->control_write, &req, sizeof req);
		if (n == (ssize_t)sizeof req)
			return;
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "socket server: control pipe write: %s\n",
			        strerror(errno));
			return;
		}
	}
}

/* Reads the records waiting in the pipe into ss->requests. */
static void read_requests(struct socket_server *ss) {
	char *buf = (char *)ss->requests;
	size_t got = 0;
	for (;;) {
		ssize_t n = read(ss->control_read, buf + got,
		                 sizeof ss->requests - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "socket server: control pipe read: %s\n",
			        n < 0 ? strerror(errno) : "closed");
			break;
		}
		got += (size_t)n;
		if (got % sizeof(struct request) == 0)
			break;
	}
	ss->request_count = (int)(got / sizeof(struct request));
	ss->request_index = 0;
}

/* ---- creation ---- */

struct socket_server *socket_server_create(void *(*malloc_buffer)(size_t),
                                           void (*free_buffer)(void *)) {
	int pipefd[2];
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return NULL;
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		close(epfd);
		return NULL;
	}
	struct socket_server *ss = calloc(1, sizeof *ss);
	char *udp_buffer = malloc(UDP_PACKET_MAX);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = CONTROL_TAG};
	if (ss == NULL || udp_buffer == NULL ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, pipefd[0], &ev) != 0) {
		free(ss);
		free(udp_buffer);
		close(epfd);
		close(pipefd[0]);
		close(pipefd[1]);
		return NULL;
	}
	signal(SIGPIPE, SIG_IGN);
	ss->epoll_fd = epfd;
	ss->control_read = pipefd[0];
	ss->control_write = pipefd[1];
	ss->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ss->malloc_buffer = malloc_buffer;
	ss->free_buffer = free_buffer;
	ss->udp_buffer = udp_buffer;
	pthread_mutex_init(&ss->alloc_lock, NULL);
	return ss;
}

void socket_server_release(struct socket_server *ss) {
	for (int i = 0; i < ss->slots_used; i++) {
		struct socket *s = slot_socket(ss, i);
		if (state_of(s) != S_FREE) {
			if (s->fd >= 0 && s->kind != K_BIND)
				close(s->fd);
			drop_list(ss, &s->high);
			drop_list(ss, &s->low);
		}
		pthread_mutex_destroy(&s->lock);
		free(s);
	}
	close(ss->epoll_fd);
	close(ss->control_read);
	close(ss->control_write);
	if (ss->spare_fd >= 0)
		close(ss->spare_fd);
	pthread_mutex_destroy(&ss->alloc_lock);
	free(ss->udp_buffer);
	free(ss);
}

void socket_server_exit(struct socket_server *ss) {
	send_request(ss, REQ_EXIT, 0, 0, 0, 0);
}

/* ---- opening sockets (calling thread) ---- */

static int resolve(const char *host, int port, int socktype, bool passive,
                   struct addrinfo **out) {
	char portstr[16];
	struct addrinfo hints;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = socktype;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	snprintf(portstr, sizeof portstr, "%d", port);
	if (host != NULL && host[0] == '\0')
		host = NULL;
	return getaddrinfo(host, portstr, &hints, out);
}

/* Starts a non-blocking connect; returns 0 or an error code. */
static int start_connect(const char *host, int port, int *fd_out,
                         bool *done) {
	struct addrinfo *list;
	int err = resolve(host, port, SOCK_STREAM, false, &list);
	if (err != 0)
		return err;
	err = ECONNREFUSED;
	for (struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family,
		                SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		                ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		set_flag_option(fd, SOL_SOCKET, SO_KEEPALIVE);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    errno == EINPROGRESS) {
			*done = errno != EINPROGRESS;
			*fd_out = fd;
			err = 0;
			break;
		}
		err = errno;
		close(fd);
	}
	freeaddrinfo(list);
	return err;
}

int socket_server_connect(struct socket_server *ss, uintptr_t opaque,
                          const char *host, int port) {
	struct socket *s = reserve_socket(ss, opaque, K_TCP, -1);
	if (s == NULL)
		return -1;
	int id = s->id;
	int fd = -1;
	bool done = false;
	int err = start_connect(host, port, &fd, &done);
	pthread_mutex_lock(&s->lock);
	s->fd = fd;
	pthread_mutex_unlock(&s->lock);
	send_request(ss, REQ_CONNECT, id, opaque, err, done);
	return id;
}

/* Creates and binds a socket of socktype; returns the fd or -1. */
static int open_bound(const char *host, int port, int socktype, char *err) {
	struct addrinfo *list;
	int gai = resolve(host, port, socktype, true, &list);
	if (gai != 0) {
		report_error(err, "resolve", gai);
		return -1;
	}
	int fd = -1;
	int code = 0;
	for (struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd < 0) {
			code = errno;
			continue;
		}
		if (socktype == SOCK_STREAM)
			set_flag_option(fd, SOL_SOCKET, SO_REUSEADDR);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		code = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(list);
	if (fd < 0)
		report_error(err, "bind", code);
	return fd;
}

/* Reserves a socket for a ready fd and announces it. */
static int announce_open(struct socket_server *ss, uintptr_t opaque, int kind,
                         int fd, char *err) {
	struct socket *s = reserve_socket(ss, opaque, kind, fd);
	if (s == NULL) {
		if (kind != K_BIND)
			close(fd);
		if (err != NULL)
			snprintf(err, SOCKET_TEXT_MAX, "too many sockets (max %d)",
			         MAX_SOCKETS);
		return -1;
	}
	int id = s->id;
	send_request(ss, REQ_OPEN, id, opaque, 0, 0);
	return id;
}

int socket_server_listen(struct socket_server *ss, uintptr_t opaque,
                         const char *host, int port, int backlog, char *err) {
	int fd = open_bound(host, port, SOCK_STREAM, err);
	if (fd < 0)
		return -1;
	if (listen(fd, backlog > 0 ? backlog : SOMAXCONN) != 0) {
		report_error(err, "listen", errno);
		close(fd);
		return -1;
	}
	return announce_open(ss, opaque, K_LISTEN, fd, err);
}

int socket_server_udp(struct socket_server *ss, uintptr_t opaque,
                      const char *host, int port, char *err) {
	int fd;
	if ((host == NULL || host[0] == '\0') && port == 0) {
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			report_error(err, "udp socket", errno);
	} else {
		fd = open_bound(host, port, SOCK_DGRAM, err);
	}
	if (fd < 0)
		return -1;
	return announce_open(ss, opaque, K_UDP, fd, err);
}

int socket_server_bind(struct socket_server *ss, uintptr_t opaque, int fd) {
	int flags = fcntl(fd, F_GETFL, 0);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -1;
	return announce_open(ss, opaque, K_BIND, fd, NULL);
}

int socket_server_port(struct socket_server *ss, int id) {
	struct socket *s = lock_socket(ss, id);
	if (s == NULL)
		return -1;
	int port = s->fd >= 0 ? local_port(s->fd) : -1;
	pthread_mutex_unlock(&s->lock);
	return port;
}

/* ---- requests that only need the socket thread to act ---- */

void socket_server_close(struct socket_server *ss, uintptr_t opaque, int id) {
	send_request(ss, REQ_CLOSE, id, opaque, 0, 0);
}

void socket_server_shutdown(struct socket_server *ss, uintptr_t opaque,
                            int id) {
	send_request(ss, REQ_SHUTDOWN, id, opaque, 0, 0);
}

void socket_server_start(struct socket_server *ss, uintptr_t opaque, int id) {
	send_request(ss, REQ_START, id, opaque, 0, 0);
}

void socket_server_pause(struct socket_server *ss, uintptr_t opaque, int id) {
	send_request(ss, REQ_PAUSE, id, opaque, 0, 0);
}

static void set_tcp_option(struct socket_server *ss, int id, int level,
                           int option) {
	struct socket *s = lock_socket(ss, id);
	if (s == NULL)
		return;
	if (s->fd >= 0 && s->kind == K_TCP)
		set_flag_option(s->fd, level, option);
	pthread_mutex_unlock(&s->lock);
}

void socket_server_nodelay(struct socket_server *ss, int id) {
	set_tcp_option(ss, id, IPPROTO_TCP, TCP_NODELAY);
}

void socket_server_keepalive(struct socket_server *ss, int id) {
	set_tcp_option(ss, id, SOL_SOCKET, SO_KEEPALIVE);
}

/* ---- sending ---- */

/* Queues sz bytes (socket locked).  Returns true when the pending size
 * crossed the warning threshold and the socket thread must be told. */
static bool queue_data(struct socket_server *ss, struct socket *s,
                       const char *data, size_t sz, void *owned, int flags,
                       const union sockaddr_all *to, socklen_t tolen) {
	struct write_buffer *wb;
	if (owned == NULL) {
		wb = ss->malloc_buffer(sizeof *wb + sz);
		memcpy(wb + 1, data, sz);
		data = (const char *)(wb + 1);
	} else {
		wb = ss->malloc_buffer(sizeof *wb);
	}
	wb->next = NULL;
	wb->ptr = data;
	wb->left = sz;
	wb->owned = owned;
	wb->started = false;
	wb->tolen = tolen;
	if (tolen > 0)
		memcpy(&wb->to, to, tolen);
	struct write_list *list = (flags & SOCKET_SEND_LOW) ? &s->low : &s->high;
	if (list->tail != NULL)
		list->tail->next = wb;
	else
		list->head = wb;
	list->tail = wb;
	s->pending += sz;
	sync_events(ss, s);
	if (s->pending < s->warn_next)
		return false;
	while (s->warn_next <= s->pending)
		s->warn_next *= 2;
	s->warning_due = true;
	return true;
}

static bool can_send(struct socket *s) {
	int state = state_of(s);
	return !s->closing && s->kind != K_LISTEN &&
	       (state == S_OPEN || state == S_CONNECTING || state == S_RESERVED);
}

/* Tries the write at once; returns bytes written (0 when it must queue). */
static size_t write_now(struct socket *s, const char *data, size_t sz,
                        const union sockaddr_all *to, socklen_t tolen) {
	if (state_of(s) != S_OPEN || has_pending(s))
		return 0;
	ssize_t n;
	do {
		if (tolen > 0)
			n = sendto(s->fd, data, sz, 0, &to->s, tolen);
		else
			n = write(s->fd, data, sz);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0; /* EAGAIN, or an error the socket thread will meet */
	s->bytes_written += (size_t)n;
	return (size_t)n;
}

/* Sends to a UDP destination (to), or when to is NULL to the socket's
 * stream or its udp_connect address. */
static int send_to(struct socket_server *ss, int id, const void *buffer,
                   size_t sz, int flags, const union sockaddr_all *to,
                   socklen_t tolen) {
	void *owned = (flags & SOCKET_SEND_COPY) ? NULL : (void *)buffer;
	struct socket *s = lock_socket(ss, id);
	union sockaddr_all peer;
	if (s != NULL && to == NULL && s->kind == K_UDP) {
		peer = s->peer;
		to = &peer;
		tolen = s->peer_len;
	}
	if (s == NULL || !can_send(s) || (s->kind == K_UDP) != (tolen > 0)) {
		if (s != NULL)
			pthread_mutex_unlock(&s->lock);
		if (owned != NULL)
			ss->free_buffer(owned);
		return -1;
	}
	size_t done = write_now(s, buffer, sz, to, tolen);
	bool warn = false;
	if (done == sz || (tolen > 0 && done > 0)) {
		if (owned != NULL)
			ss->free_buffer(owned);
	} else {
		warn = queue_data(ss, s, (const char *)buffer + done, sz - done,
		                  owned, flags, to, tolen);
	}
	uintptr_t opaque = s->opaque;
	pthread_mutex_unlock(&s->lock);
	if (warn)
		send_request(ss, REQ_WARNING, id, opaque, 0, 0);
	return 0;
}

int socket_server_send(struct socket_server *ss, int id, const void *buffer,
                       size_t sz, int flags) {
	return send_to(ss, id, buffer, sz, flags, NULL, 0);
}

/* ---- UDP addresses: family tag (4 or 6), port (big-endian), address ---- */

static socklen_t decode_udp(const char *address, int addrsz,
                            union sockaddr_all *sa) {
	const uint8_t *p = (const uint8_t *)address;
	memset(sa, 0, sizeof *sa);
	if (addrsz == 7 && p[0] == 4) {
		sa->v4.sin_family = AF_INET;
		memcpy(&sa->v4.sin_port, p + 1, 2);
		memcpy(&sa->v4.sin_addr, p + 3, 4);
		return sizeof sa->v4;
	}
	if (addrsz == 19 && p[0] == 6) {
		sa->v6.sin6_family = AF_INET6;
		memcpy(&sa->v6.sin6_port, p + 1, 2);
		memcpy(&sa->v6.sin6_addr, p + 3, 16);
		return sizeof sa->v6;
	}
	return 0;
}

static int encode_udp(const union sockaddr_all *sa, char *out) {
	uint8_t *p = (uint8_t *)out;
	if (sa->s.sa_family == AF_INET) {
		p[0] = 4;
		memcpy(p + 1, &sa->v4.sin_port, 2);
		memcpy(p + 3, &sa->v4.sin_addr, 4);
		return 7;
	}
	p[0] = 6;
	memcpy(p + 1, &sa->v6.sin6_port, 2);
	memcpy(p + 3, &sa->v6.sin6_addr, 16);
	return 19;
}

int socket_udp_address_encode(const char *host, int port, char *out) {
	struct addrinfo *list;
	if (resolve(host, port, SOCK_DGRAM, false, &list) != 0)
		return -1;
	union sockaddr_all sa;
	memcpy(&sa, list->ai_addr, list->ai_addrlen);
	freeaddrinfo(list);
	return encode_udp(&sa, out);
}

int socket_udp_address_decode(const char *address, int addrsz, char *host,
                              size_t hostsz, int *port) {
	union sockaddr_all sa;
	if (decode_udp(address, addrsz, &sa) == 0)
		return -1;
	address_text(&sa, false, host, hostsz);
	*port = ntohs(sa.s.sa_family == AF_INET ? sa.v4.sin_port
	                                        : sa.v6.sin6_port);
	return 0;
}

const char *socket_server_udp_address(const struct socket_event *ev,
                                      int *addrsz) {
	const char *address = ev->data + ev->ud;
	*addrsz = address[0] == 4 ? 7 : 19;
	return address;
}

int socket_server_udp_send(struct socket_server *ss, int id,
                           const char *address, const void *buffer,
                           size_t sz, int flags) {
	union sockaddr_all to;
	socklen_t tolen = decode_udp(address, address[0] == 4 ? 7 : 19, &to);
	if (tolen == 0) {
		if (!(flags & SOCKET_SEND_COPY))
			ss->free_buffer((void *)buffer);
		return -1;
	}
	return send_to(ss, id, buffer, sz, flags, &to, tolen);
}

int socket_server_udp_connect(struct socket_server *ss, int id,
                              const char *host, int port) {
	char encoded[SOCKET_UDP_ADDRESS_MAX];
	int size = socket_udp_address_encode(host, port, encoded);
	union sockaddr_all sa;
	socklen_t len = size > 0 ? decode_udp(encoded, size, &sa) : 0;
	if (len == 0)
		return -1;
	struct socket *s = lock_socket(ss, id);
	if (s == NULL)
		return -1;
	int ok = s->kind == K_UDP ? 0 : -1;
	if (ok == 0) {
		s->peer = sa;
		s->peer_len = len;
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

/* ---- socket thread: events ---- */

static void begin_event(struct socket_event *ev, struct socket *s) {
	ev->id = s->id;
	ev->opaque = s->opaque;
}

static int close_event(struct socket_server *ss, struct socket *s,
                       struct socket_event *ev) {
	begin_event(ev, s);
	release_socket(ss, s);
	return SOCKET_EV_CLOSE;
}

static int error_event(struct socket_server *ss, struct socket *s,
                       struct socket_event *ev, int err) {
	begin_event(ev, s);
	error_text(err, ev->text);
	release_socket(ss, s);
	return SOCKET_EV_ERROR;
}

/* Drops n written bytes from the head of list. */
static void consume(struct socket_server *ss, struct socket *s,
                    struct write_list *list, size_t n) {
	s->pending -= n;
	s->bytes_written += n;
	while (n > 0 || (list->head != NULL && list->head->left == 0)) {
		struct write_buffer *wb = list->head;
		if (n < wb->left) {
			wb->ptr += n;
			wb->left -= n;
			wb->started = true;
			return;
		}
		n -= wb->left;
		list->head = wb->next;
		if (list->head == NULL)
			list->tail = NULL;
		free_write_buffer(ss, wb);
	}
}

/* Writes what it can of list; returns -1 with errno, or whether the kernel
 * took everything offered. */
static int write_list(struct socket_server *ss, struct socket *s,
                      struct write_list *list) {
	struct write_buffer *wb = list->head;
	ssize_t n;
	size_t offered = wb->left;
	if (wb->tolen > 0) {
		n = sendto(s->fd, wb->ptr, wb->left, 0, &wb->to.s, wb->tolen);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			n = (ssize_t)wb->left; /* a failed datagram is dropped */
	} else {
		struct iovec iov[IOV_BATCH];
		int count = 0;
		offered = 0;
		for (; wb != NULL && count < IOV_BATCH; wb = wb->next, count++) {
			iov[count].iov_base = (void *)wb->ptr;
			iov[count].iov_len = wb->left;
			offered += wb->left;
		}
		n = writev(s->fd, iov, count);
	}
	if (n < 0)
		return -1;
	consume(ss, s, list, (size_t)n);
	return (size_t)n == offered;
}

/* Flushes the queues (socket locked); returns 0 or an errno. */
static int flush_queues(struct socket_server *ss, struct socket *s) {
	while (has_pending(s)) {
		struct write_list *list = s->high.head ? &s->high : &s->low;
		int all = write_list(ss, s, list);
		if (all < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : errno;
		}
		if (list == &s->low && s->low.head && s->low.head->started) {
			/* finish this buffer before any new high-priority data */
			struct write_buffer *wb = s->low.head;
			s->low.head = wb->next;
			if (s->low.head == NULL)
				s->low.tail = NULL;
			wb->next = NULL;
			s->high.head = s->high.tail = wb;
		}
		if (!all)
			return 0;
	}
	return 0;
}

static int warning_event(struct socket *s, size_t pending,
                         struct socket_event *ev) {
	begin_event(ev, s);
	ev->ud = (int)(pending / 1024);
	return SOCKET_EV_WARNING;
}

static int on_writable(struct socket_server *ss, struct socket *s,
                       struct socket_event *ev) {
	pthread_mutex_lock(&s->lock);
	int err = flush_queues(ss, s);
	bool empty = !has_pending(s);
	size_t pending = s->pending;
	bool warn = false;
	if (err == 0 && !s->closing) {
		if (s->warning_due) {
			s->warning_due = false;
			warn = true;
		} else if (empty && s->warn_next > WARNING_FIRST) {
			s->warn_next = WARNING_FIRST;
			warn = true;
		}
		sync_events(ss, s);
	}
	pthread_mutex_unlock(&s->lock);
	if (err != 0)
		return error_event(ss, s, ev, err);
	if (s->closing && empty)
		return close_event(ss, s, ev);
	return warn ? warning_event(s, pending, ev) : -1;
}

static int on_connected(struct socket_server *ss, struct socket *s,
                        struct socket_event *ev) {
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0)
		return error_event(ss, s, ev, err);
	pthread_mutex_lock(&s->lock);
	set_state(s, S_OPEN);
	sync_events(ss, s);
	pthread_mutex_unlock(&s->lock);
	begin_event(ev, s);
	peer_text(s->fd, false, ev->text, sizeof ev->text);
	return SOCKET_EV_CONNECT;
}

/* Out of fds: take the spare one to accept and drop a client, so the
 * listener does not spin on a backlog it cannot serve. */
static void drop_one_client(struct socket_server *ss, int listen_fd) {
	if (ss->spare_fd < 0)
		return;
	close(ss->spare_fd);
	int fd = accept(listen_fd, NULL, NULL);
	if (fd >= 0)
		close(fd);
	ss->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static int on_acceptable(struct socket_server *ss, struct socket *listener,
                         struct socket_event *ev) {
	union sockaddr_all sa;
	socklen_t len = sizeof sa;
	int fd = accept4(listener->fd, &sa.s, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE)
			drop_one_client(ss, listener->fd);
		return -1;
	}
	struct socket *s = reserve_socket(ss, listener->opaque, K_TCP, fd);
	if (s == NULL) {
		close(fd);
		return -1;
	}
	set_flag_option(fd, SOL_SOCKET, SO_KEEPALIVE);
	pthread_mutex_lock(&s->lock);
	set_state(s, S_OPEN);
	int err = register_socket(ss, s);
	pthread_mutex_unlock(&s->lock);
	if (err != 0) {
		release_socket(ss, s);
		return -1;
	}
	begin_event(ev, listener);
	ev->ud = s->id;
	address_text(&sa, true, ev->text, sizeof ev->text);
	return SOCKET_EV_ACCEPT;
}

static void adapt_read_size(struct socket *s, size_t n) {
	if (n == (size_t)s->read_size && s->read_size < READ_SIZE_MAX)
		s->read_size *= 2;
	else if (n * 2 < (size_t)s->read_size && s->read_size > READ_SIZE_MIN)
		s->read_size /= 2;
}

static void count_read(struct socket *s, size_t n) {
	uint64_t total = atomic_load_explicit(&s->bytes_read, memory_order_relaxed);
	atomic_store_explicit(&s->bytes_read, total + n, memory_order_relaxed);
}

static int on_readable_tcp(struct socket_server *ss, struct socket *s,
                           struct socket_event *ev) {
	char *buf = ss->malloc_buffer((size_t)s->read_size);
	ssize_t n = read(s->fd, buf, (size_t)s->read_size);
	if (n < 0) {
		int err = errno;
		ss->free_buffer(buf);
		if (err == EAGAIN || err == EINTR)
			return -1;
		return error_event(ss, s, ev, err);
	}
	if (n == 0) {
		ss->free_buffer(buf);
		if (s->closing || s->peer_closed)
			return close_event(ss, s, ev);
		pthread_mutex_lock(&s->lock);
		s->peer_closed = true;
		sync_events(ss, s);
		pthread_mutex_unlock(&s->lock);
		begin_event(ev, s);
		return SOCKET_EV_CLOSE;
	}
	count_read(s, (size_t)n);
	adapt_read_size(s, (size_t)n);
	begin_event(ev, s);
	ev->data = buf;
	ev->ud = (int)n;
	return SOCKET_EV_DATA;
}

static int on_readable_udp(struct socket_server *ss, struct socket *s,
                           struct socket_event *ev) {
	union sockaddr_all from;
	socklen_t len = sizeof from;
	ssize_t n = recvfrom(s->fd, ss->udp_buffer, UDP_PACKET_MAX, 0, &from.s,
	                     &len);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return -1;
		begin_event(ev, s);
		error_text(errno, ev->text);
		return SOCKET_EV_ERROR;
	}
	char address[SOCKET_UDP_ADDRESS_MAX];
	int addrsz = encode_udp(&from, address);
	char *buf = ss->malloc_buffer((size_t)n + (size_t)addrsz);
	memcpy(buf, ss->udp_buffer, (size_t)n);
	memcpy(buf + n, address, (size_t)addrsz);
	count_read(s, (size_t)n);
	begin_event(ev, s);
	ev->data = buf;
	ev->ud = (int)n;
	return SOCKET_EV_UDP;
}

/* Handles one condition of an epoll event; clears what it handled so the
 * caller calls again while bits remain.  Returns an event kind or -1. */
static int on_socket_event(struct socket_server *ss, struct epoll_event *e,
                           struct socket_event *ev) {
	struct socket *s = socket_of(ss, (int)e->data.u64);
	if (s == NULL) {
		e->events = 0; /* closed earlier in this batch */
		return -1;
	}
	int state = state_of(s);
	if (state == S_LISTENING) {
		e->events = 0;
		return on_acceptable(ss, s, ev);
	}
	if (state == S_CONNECTING) {
		e->events = 0;
		return on_connected(ss, s, ev);
	}
	if (e->events & EPOLLOUT) {
		e->events &= ~(uint32_t)EPOLLOUT;
		return on_writable(ss, s, ev);
	}
	uint32_t bits = e->events;
	e->events = 0;
	bool wants_input = s->reading && !s->closing && !s->peer_closed;
	if (!(bits & (EPOLLERR | EPOLLHUP)) && !wants_input)
		return -1; /* paused after epoll_wait reported it */
	if (s->kind == K_UDP)
		return on_readable_udp(ss, s, ev);
	return on_readable_tcp(ss, s, ev);
}

/* ---- socket thread: requests ---- */

static int on_connect_request(struct socket_server *ss, struct request *req,
                              struct socket_event *ev) {
	struct socket *s = socket_of(ss, req->id);
	if (s == NULL)
		return -1;
	if (req->arg != 0)
		return error_event(ss, s, ev, req->arg);
	pthread_mutex_lock(&s->lock);
	set_state(s, req->flag ? S_OPEN : S_CONNECTING);
	s->reading = true;
	int err = register_socket(ss, s);
	pthread_mutex_unlock(&s->lock);
	if (err != 0)
		return error_event(ss, s, ev, err);
	if (!req->flag)
		return -1;
	begin_event(ev, s);
	peer_text(s->fd, false, ev->text, sizeof ev->text);
	return SOCKET_EV_CONNECT;
}

static int on_open_request(struct socket_server *ss, struct request *req,
                           struct socket_event *ev) {
	struct socket *s = socket_of(ss, req->id);
	if (s == NULL)
		return -1;
	int err = 0;
	pthread_mutex_lock(&s->lock);
	if (s->kind == K_LISTEN) {
		set_state(s, S_LISTENING); /* enters epoll when started */
	} else {
		set_state(s, S_OPEN);
		s->reading = true;
		err = register_socket(ss, s);
	}
	pthread_mutex_unlock(&s->lock);
	if (err != 0)
		return error_event(ss, s, ev, err);
	if (s->kind != K_BIND)
		return -1;
	begin_event(ev, s);
	snprintf(ev->text, sizeof ev->text, "binding");
	return SOCKET_EV_CONNECT;
}

static int on_start_request(struct socket_server *ss, struct request *req,
                            struct socket_event *ev) {
	struct socket *s = socket_of(ss, req->id);
	if (s == NULL) {
		ev->id = req->id;
		ev->opaque = req->opaque;
		snprintf(ev->text, sizeof ev->text, "invalid socket");
		return SOCKET_EV_ERROR;
	}
	int state = state_of(s);
	int err = 0;
	bool first = !s->reading;
	pthread_mutex_lock(&s->lock);
	s->opaque = req->opaque;
	s->reading = true;
	if (state == S_LISTENING && !s->registered)
		err = register_socket(ss, s);
	else
		sync_events(ss, s);
	pthread_mutex_unlock(&s->lock);
	if (err != 0)
		return error_event(ss, s, ev, err);
	if (state != S_LISTENING && state != S_OPEN)
		return -1; /* a connect in progress reports when it completes */
	begin_event(ev, s);
	if (state == S_LISTENING)
		ev->ud = local_port(s->fd);
	snprintf(ev->text, sizeof ev->text, "%s", first ? "start" : "transfer");
	return SOCKET_EV_CONNECT;
}

static int on_pause_request(struct socket_server *ss, struct request *req) {
	struct socket *s = socket_of(ss, req->id);
	if (s == NULL || s->kind == K_UDP)
		return -1;
	pthread_mutex_lock(&s->lock);
	s->reading = false;
	sync_events(ss, s);
	pthread_mutex_unlock(&s->lock);
	return -1;
}

static int on_close_request(struct socket_server *ss, struct request *req,
                            bool at_once, struct socket_event *ev) {
	struct socket *s = socket_of(ss, req->id);
	if (s == NULL)
		return -1; /* gone already: its owner heard of it then */
	pthread_mutex_lock(&s->lock);
	bool flush = !at_once && has_pending(s) && state_of(s) != S_LISTENING;
	if (flush) {
		s->closing = true;
		s->opaque = req->opaque;
		sync_events(ss, s);
	}
	pthread_mutex_unlock(&s->lock);
	if (flush)
		return -1;
	close_event(ss, s, ev);
	ev->opaque = req->opaque;
	return SOCKET_EV_CLOSE;
}

static int on_warning_request(struct socket_server *ss, struct request *req,
                              struct socket_event *ev) {
	struct socket *s = socket_of(ss, req->id);
	if (s == NULL)
		return -1;
	pthread_mutex_lock(&s->lock);
	bool due = s->warning_due;
	size_t pending = s->pending;
	s->warning_due = false;
	pthread_mutex_unlock(&s->lock);
	return due ? warning_event(s, pending, ev) : -1;
}

static int on_request(struct socket_server *ss, struct request *req,
                      struct socket_event *ev) {
	switch (req->op) {
	case REQ_CONNECT:
		return on_connect_request(ss, req, ev);
	case REQ_OPEN:
		return on_open_request(ss, req, ev);
	case REQ_START:
		return on_start_request(ss, req, ev);
	case REQ_PAUSE:
		return on_pause_request(ss, req);
	case REQ_CLOSE:
		return on_close_request(ss, req, false, ev);
	case REQ_SHUTDOWN:
		return on_close_request(ss, req, true, ev);
	case REQ_WARNING:
		return on_warning_request(ss, req, ev);
	case REQ_EXIT:
		return SOCKET_EV_EXIT;
	}
	return -1;
}

/* ---- the poll loop ---- */

/* Before the thread blocks in epoll_wait it polls this many times, yielding
 * between polls: on virtual machines a halted CPU takes tens of microseconds
 * to wake, longer than a round trip on loopback (cluster.call p50 104 -> 73
 * us in the benchmarks).  An idle node still blocks after a few polls. */
#ifndef POLL_SPINS
#define POLL_SPINS 50
#endif

static int next_epoll_event(struct socket_server *ss) {
	if (ss->event_index < ss->event_count)
		return 0;
	int n = 0;
	for (int i = 0; i < POLL_SPINS && n == 0; i++) {
		n = epoll_wait(ss->epoll_fd, ss->events, EVENT_BATCH, 0);
		if (n == 0)
			sched_yield();
	}
	if (n == 0)
		n = epoll_wait(ss->epoll_fd, ss->events, EVENT_BATCH, -1);
	if (n < 0) {
		if (errno != EINTR)
			fprintf(stderr, "socket server: epoll_wait: %s\n",
			        strerror(errno));
		n = 0;
	}
	ss->event_count = n;
	ss->event_index = 0;
	return -1;
}

int socket_server_poll(struct socket_server *ss, struct socket_event *ev) {
	for (;;) {
		int kind = -1;
		ev->id = 0;
		ev->ud = 0;
		ev->opaque = 0;
		ev->data = NULL;
		ev->text[0] = '\0';
		if (ss->request_index < ss->request_count) {
			kind = on_request(ss, &ss->requests[ss->request_index++], ev);
		} else if (ss->control_ready) {
			ss->control_ready = false;
			read_requests(ss);
		} else if (next_epoll_event(ss) == 0) {
			struct epoll_event *e = &ss->events[ss->event_index];
			if (e->data.u64 == CONTROL_TAG) {
				ss->control_ready = true;
				e->events = 0;
			} else if (e->events != 0) {
				kind = on_socket_event(ss, e, ev);
			}
			if (e->events == 0)
				ss->event_index++;
		}
		if (kind >= 0)
			return kind;
	}
}

/* ---- introspection ---- */

static const char *kind_name(struct socket *s) {
	int state = state_of(s);
	if (state == S_RESERVED)
		return "reserved";
	if (state == S_CONNECTING)
		return "connecting";
	switch (s->kind) {
	case K_LISTEN:
		return "listen";
	case K_UDP:
		return "udp";
	case K_BIND:
		return "bind";
	}
	return s->peer_closed ? "halfclose" : "tcp";
}

int socket_server_info(struct socket_server *ss, struct socket_info *out,
                       int max) {
	int count = 0;
	for (int i = 0; i < MAX_SOCKETS; i++) {
		struct socket *s = slot_socket(ss, i);
		if (s == NULL)
			break;
		pthread_mutex_lock(&s->lock);
		if (state_of(s) != S_FREE) {
			if (count < max) {
				struct socket_info *info = &out[count];
				info->id = s->id;
				info->opaque = s->opaque;
				info->kind = kind_name(s);
				info->bytes_read = atomic_load_explicit(
				    &s->bytes_read, memory_order_relaxed);
				info->bytes_written = s->bytes_written;
				info->pending = s->pending;
				info->reading = s->reading;
				info->peer[0] = '\0';
				if (s->fd >= 0 && s->kind == K_TCP)
					peer_text(s->fd, true, info->peer, sizeof info->peer);
			}
			count++;
		}
		pthread_mutex_unlock(&s->lock);
	}
	return count;
}
