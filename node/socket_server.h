/*
 * socket_server.h: the socket server, one thread that owns every socket of
 * the process through epoll.
 *
 * Any thread may ask for an operation (listen, connect, send, close ...);
 * requests that change a socket's state travel to the socket thread through
 * a control pipe as fixed-size records.  Sends write directly from the
 * calling thread when the socket has nothing queued and queue the rest
 * otherwise, so a send costs at most the write system call itself.
 *
 * The socket thread calls socket_server_poll() in a loop; each call returns
 * one event (data, connect, close, accept, error, udp, warning) tagged with
 * the 'opaque' value of the socket's owner.  This layer knows nothing about
 * services: node/skynet_socket.c turns events into messages.
 */
#ifndef SOCKET_SERVER_H
#define SOCKET_SERVER_H

#include <stddef.h>
#include <stdint.h>

/* Event kinds returned by socket_server_poll(); the non-zero values equal
 * the SKYNET_SOCKET_TYPE_* numbers of skynet_socket.h. */
#define SOCKET_EV_EXIT 0
#define SOCKET_EV_DATA 1
#define SOCKET_EV_CONNECT 2 /* connected, listening, started */
#define SOCKET_EV_CLOSE 3
#define SOCKET_EV_ACCEPT 4
#define SOCKET_EV_ERROR 5
#define SOCKET_EV_UDP 6
#define SOCKET_EV_WARNING 7

#define SOCKET_TEXT_MAX 128

/* Flags of socket_server_send(). */
#define SOCKET_SEND_LOW 1  /* low priority: goes after all high data */
#define SOCKET_SEND_COPY 2 /* the caller keeps the buffer; copy what queues */

/* Size of an encoded UDP address (family tag, port, IPv6 address). */
#define SOCKET_UDP_ADDRESS_MAX 19

struct socket_server;

struct socket_event {
	int id;           /* the socket the event is about */
	int ud;           /* DATA/UDP: size; ACCEPT: new id; WARNING: KiB
	                     queued; CONNECT of a listener: its port */
	uintptr_t opaque; /* the owner of the socket */
	char *data;       /* DATA/UDP: heap bytes the caller now owns (UDP:
	                     followed by the sender's address); else NULL */
	char text[SOCKET_TEXT_MAX]; /* address or error text, NUL-terminated */
};

/* One entry of socket_server_info(). */
struct socket_info {
	int id;
	uintptr_t opaque;
	const char *kind; /* "listen", "tcp", "udp", "bind", "connecting" ... */
	uint64_t bytes_read;
	uint64_t bytes_written;
	size_t pending;   /* bytes queued for writing */
	int reading;      /* 0 while paused */
	char peer[64];    /* remote (or listening) address, may be empty */
};

/* Creates the server.  malloc_buffer allocates received data and queued
 * writes; free_buffer releases them and the buffers handed over to sends.
 * Ignores SIGPIPE for the whole process: a write to a closed peer is an
 * error result, never a signal. */
struct socket_server *socket_server_create(void *(*malloc_buffer)(size_t),
                                           void (*free_buffer)(void *));
void socket_server_release(struct socket_server *ss);
/* Makes the poll loop return SOCKET_EV_EXIT. */
void socket_server_exit(struct socket_server *ss);
/* Socket thread only: waits for and returns the next event. */
int socket_server_poll(struct socket_server *ss, struct socket_event *ev);

/* These return a socket id, or -1 with an error already logged in err
 * (err may be NULL, else it holds SOCKET_TEXT_MAX bytes). */
int socket_server_listen(struct socket_server *ss, uintptr_t opaque,
                         const char *host, int port, int backlog, char *err);
/* Connect errors (refused, unknown host) arrive as SOCKET_EV_ERROR. */
int socket_server_connect(struct socket_server *ss, uintptr_t opaque,
                          const char *host, int port);
/* Wraps an fd the caller opened (stdin, a pipe); closing the socket does
 * not close that fd. */
int socket_server_bind(struct socket_server *ss, uintptr_t opaque, int fd);
int socket_server_udp(struct socket_server *ss, uintptr_t opaque,
                      const char *host, int port, char *err);

/* Local port of a socket (a listener bound to port 0), or -1. */
int socket_server_port(struct socket_server *ss, int id);

/* Returns 0, or -1 if the socket is invalid or closing (the buffer is
 * freed unless SOCKET_SEND_COPY).  On a UDP socket sends to the address set
 * by socket_server_udp_connect(). */
int socket_server_send(struct socket_server *ss, int id, const void *buffer,
                       size_t sz, int flags);
int socket_server_udp_send(struct socket_server *ss, int id,
                           const char *address, const void *buffer,
                           size_t sz, int flags);
int socket_server_udp_connect(struct socket_server *ss, int id,
                              const char *host, int port);

/* Close after pending writes are flushed; shutdown closes at once.  Both
 * end with a SOCKET_EV_CLOSE to opaque; an id already gone is ignored
 * (every socket that goes away reports one CLOSE or ERROR to its owner). */
void socket_server_close(struct socket_server *ss, uintptr_t opaque, int id);
void socket_server_shutdown(struct socket_server *ss, uintptr_t opaque,
                            int id);
/* Start (or resume) reading / accepting, and make opaque the owner. */
void socket_server_start(struct socket_server *ss, uintptr_t opaque, int id);
void socket_server_pause(struct socket_server *ss, uintptr_t opaque, int id);
void socket_server_nodelay(struct socket_server *ss, int id);
void socket_server_keepalive(struct socket_server *ss, int id);

/* Fills at most max entries; returns how many sockets are in use. */
int socket_server_info(struct socket_server *ss, struct socket_info *out,
                       int max);

/* The address a UDP event's data carries after its ud bytes. */
const char *socket_server_udp_address(const struct socket_event *ev,
                                      int *addrsz);
/* Encodes host:port (numeric) as a UDP address; returns its size or -1. */
int socket_udp_address_encode(const char *host, int port, char *out);
/* Decodes a UDP address to a numeric host and a port; -1 if malformed. */
int socket_udp_address_decode(const char *address, int addrsz, char *host,
                              size_t hostsz, int *port);

#endif
