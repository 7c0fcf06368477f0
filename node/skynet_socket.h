/*
 * skynet_socket.h: the socket API seen by services.  Results of socket
 * operations reach a service as PTYPE_SOCKET messages whose data is a
 * struct skynet_socket_message.
 */
#ifndef SKYNET_SOCKET_H
#define SKYNET_SOCKET_H

#include <stdint.h>
#include <stddef.h>

struct skynet_context;

#define SKYNET_SOCKET_TYPE_DATA 1
#define SKYNET_SOCKET_TYPE_CONNECT 2
#define SKYNET_SOCKET_TYPE_CLOSE 3
#define SKYNET_SOCKET_TYPE_ACCEPT 4
#define SKYNET_SOCKET_TYPE_ERROR 5
#define SKYNET_SOCKET_TYPE_UDP 6
#define SKYNET_SOCKET_TYPE_WARNING 7

struct skynet_socket_message {
	int type;
	int id;
	int ud;       /* size of data, or accepted id, or warning size */
	char *buffer; /* heap data (type DATA/UDP), or NULL (text follows) */
};

/* Flags of skynet_socket_write / skynet_socket_udp_write. */
#define SKYNET_SOCKET_SEND_LOW 1  /* low priority: after all normal data */
#define SKYNET_SOCKET_SEND_COPY 2 /* caller keeps the buffer */

struct socket_info; /* node/socket_server.h */

/* Lifecycle, driven by the runtime (start.c). */
void skynet_socket_init(void);
void skynet_socket_exit(void);
void skynet_socket_free(void);
int skynet_socket_poll(void); /* 0 when the server has quit */


/* The service API.  The calling service (ctx) owns the socket and gets its
 * results as PTYPE_SOCKET messages.  Functions returning an id return -1 on
 * failure (listen and udp log the reason through skynet_error); connect
 * failures arrive as a SKYNET_SOCKET_TYPE_ERROR message. */
int skynet_socket_listen(struct skynet_context *ctx, const char *host,
                         int port, int backlog);
int skynet_socket_connect(struct skynet_context *ctx, const char *host,
                          int port);
int skynet_socket_bind(struct skynet_context *ctx, int fd);
/* The local port of a socket (a listener on port 0), or -1. */
int skynet_socket_port(int id);

/* Sends take the heap buffer (skynet_malloc) unless SEND_COPY is given;
 * they return 0, or -1 when the socket is invalid or closing. */
int skynet_socket_send(struct skynet_context *ctx, int id, void *buffer,
                       int sz);
int skynet_socket_send_lowpriority(struct skynet_context *ctx, int id,
                                   void *buffer, int sz);
int skynet_socket_write(struct skynet_context *ctx, int id,
                        const void *buffer, size_t sz, int flags);

void skynet_socket_close(struct skynet_context *ctx, int id);
void skynet_socket_shutdown(struct skynet_context *ctx, int id);
void skynet_socket_start(struct skynet_context *ctx, int id);
void skynet_socket_pause(struct skynet_context *ctx, int id);
void skynet_socket_nodelay(struct skynet_context *ctx, int id);
void skynet_socket_keepalive(struct skynet_context *ctx, int id);

/* UDP.  host may be NULL (an unbound IPv4 socket when port is 0). */
int skynet_socket_udp(struct skynet_context *ctx, const char *host, int port);
int skynet_socket_udp_connect(struct skynet_context *ctx, int id,
                              const char *host, int port);
int skynet_socket_udp_send(struct skynet_context *ctx, int id,
                           const char *address, const void *buffer, int sz);
int skynet_socket_udp_write(struct skynet_context *ctx, int id,
                            const char *address, const void *buffer,
                            size_t sz, int flags);
/* The sender address carried by a SKYNET_SOCKET_TYPE_UDP message. */
const char *skynet_socket_udp_address(struct skynet_socket_message *msg,
                                      int *addrsz);

/* Fills at most max entries; returns the number of sockets in use. */
int skynet_socket_info(struct socket_info *out, int max);

#endif
