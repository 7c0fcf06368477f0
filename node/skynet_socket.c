/*
 * skynet_socket.c: glue between the socket server and services.  Owns the
 * process's socket server, turns its events into PTYPE_SOCKET messages for
 * the owning service, and offers the service-facing socket API of
 * skynet_socket.h (the owner of a socket is the calling service's handle).
 */
#include "skynet_socket.h"

#include "server.h"
#include "skynet.h"
#include "socket_server.h"

#include <stdbool.h>
#include <string.h>

static struct socket_server *SOCKET_SERVER;

void skynet_socket_init(void) {
	SOCKET_SERVER = socket_server_create(skynet_malloc, skynet_free);
	if (SOCKET_SERVER == NULL)
		skynet_error(NULL, "socket server: cannot create epoll or pipe");
}

void skynet_socket_exit(void) {
	socket_server_exit(SOCKET_SERVER);
}

void skynet_socket_free(void) {
	socket_server_release(SOCKET_SERVER);
	SOCKET_SERVER = NULL;
}

/* Builds the message of an event: the struct, then (for kinds without a
 * data buffer) the event text, NUL-terminated. */
static struct skynet_socket_message *make_message(int kind,
                                                  struct socket_event *ev,
                                                  size_t *size) {
	bool with_text = ev->data == NULL;
	size_t text_len = with_text ? strlen(ev->text) : 0;
	struct skynet_socket_message *sm =
	    skynet_malloc(sizeof *sm + (with_text ? text_len + 1 : 0));
	sm->type = kind;
	sm->id = ev->id;
	sm->ud = ev->ud;
	sm->buffer = ev->data;
	if (with_text)
		memcpy(sm + 1, ev->text, text_len + 1);
	*size = sizeof *sm + text_len;
	return sm;
}

/* The owner is gone: drop the message and the socket(s) it talks about. */
static void drop_undelivered(int kind, struct socket_event *ev,
                             struct skynet_socket_message *sm) {
	skynet_free(sm->buffer);
	skynet_free(sm);
	if (kind == SOCKET_EV_CLOSE || kind == SOCKET_EV_ERROR)
		return;
	if (kind == SOCKET_EV_ACCEPT)
		socket_server_close(SOCKET_SERVER, 0, ev->ud);
	socket_server_close(SOCKET_SERVER, 0, ev->id);
}

static void forward_event(int kind, struct socket_event *ev) {
	size_t size;
	struct skynet_socket_message *sm = make_message(kind, ev, &size);
	struct skynet_message msg = {
	    .source = 0,
	    .session = 0,
	    .data = sm,
	    .sz = size | ((size_t)PTYPE_SOCKET << MESSAGE_TYPE_SHIFT),
	};
	if (skynet_context_push((uint32_t)ev->opaque, &msg) != 0)
		drop_undelivered(kind, ev, sm);
}

int skynet_socket_poll(void) {
	struct socket_event ev;
	int kind = socket_server_poll(SOCKET_SERVER, &ev);
	if (kind == SOCKET_EV_EXIT)
		return 0;
	if (ev.opaque != 0)
		forward_event(kind, &ev);
	else
		skynet_free(ev.data); /* a close nobody asked to hear about */
	return 1;
}

static uintptr_t owner(struct skynet_context *ctx) {
	return skynet_context_handle(ctx);
}

int skynet_socket_listen(struct skynet_context *ctx, const char *host,
                         int port, int backlog) {
	char err[SOCKET_TEXT_MAX];
	int id = socket_server_listen(SOCKET_SERVER, owner(ctx), host, port,
	                              backlog, err);
	if (id < 0)
		skynet_error(ctx, "socket: listen on %s:%d failed: %s",
		             host ? host : "*", port, err);
	return id;
}

int skynet_socket_connect(struct skynet_context *ctx, const char *host,
                          int port) {
	return socket_server_connect(SOCKET_SERVER, owner(ctx), host, port);
}

int skynet_socket_bind(struct skynet_context *ctx, int fd) {
	return socket_server_bind(SOCKET_SERVER, owner(ctx), fd);
}

int skynet_socket_port(int id) {
	return socket_server_port(SOCKET_SERVER, id);
}

int skynet_socket_write(struct skynet_context *ctx, int id,
                        const void *buffer, size_t sz, int flags) {
	(void)ctx;
	return socket_server_send(SOCKET_SERVER, id, buffer, sz, flags);
}

int skynet_socket_send(struct skynet_context *ctx, int id, void *buffer,
                       int sz) {
	return skynet_socket_write(ctx, id, buffer, (size_t)sz, 0);
}

int skynet_socket_send_lowpriority(struct skynet_context *ctx, int id,
                                   void *buffer, int sz) {
	return skynet_socket_write(ctx, id, buffer, (size_t)sz,
	                           SKYNET_SOCKET_SEND_LOW);
}

void skynet_socket_close(struct skynet_context *ctx, int id) {
	socket_server_close(SOCKET_SERVER, owner(ctx), id);
}

void skynet_socket_shutdown(struct skynet_context *ctx, int id) {
	socket_server_shutdown(SOCKET_SERVER, owner(ctx), id);
}

void skynet_socket_start(struct skynet_context *ctx, int id) {
	socket_server_start(SOCKET_SERVER, owner(ctx), id);
}

void skynet_socket_pause(struct skynet_context *ctx, int id) {
	socket_server_pause(SOCKET_SERVER, owner(ctx), id);
}

void skynet_socket_nodelay(struct skynet_context *ctx, int id) {
	(void)ctx;
	socket_server_nodelay(SOCKET_SERVER, id);
}

void skynet_socket_keepalive(struct skynet_context *ctx, int id) {
	(void)ctx;
	socket_server_keepalive(SOCKET_SERVER, id);
}

int skynet_socket_udp(struct skynet_context *ctx, const char *host,
                      int port) {
	char err[SOCKET_TEXT_MAX];
	int id = socket_server_udp(SOCKET_SERVER, owner(ctx), host, port, err);
	if (id < 0)
		skynet_error(ctx, "socket: udp on %s:%d failed: %s",
		             host ? host : "*", port, err);
	return id;
}

int skynet_socket_udp_connect(struct skynet_context *ctx, int id,
                              const char *host, int port) {
	(void)ctx;
	return socket_server_udp_connect(SOCKET_SERVER, id, host, port);
}

int skynet_socket_udp_write(struct skynet_context *ctx, int id,
                            const char *address, const void *buffer,
                            size_t sz, int flags) {
	(void)ctx;
	return socket_server_udp_send(SOCKET_SERVER, id, address, buffer, sz,
	                              flags);
}

int skynet_socket_udp_send(struct skynet_context *ctx, int id,
                           const char *address, const void *buffer, int sz) {
	return skynet_socket_udp_write(ctx, id, address, buffer, (size_t)sz, 0);
}

const char *skynet_socket_udp_address(struct skynet_socket_message *msg,
                                      int *addrsz) {
	if (msg->type != SKYNET_SOCKET_TYPE_UDP || msg->buffer == NULL)
		return NULL;
	struct socket_event ev = {.data = msg->buffer, .ud = msg->ud};
	return socket_server_udp_address(&ev, addrsz);
}

int skynet_socket_info(struct socket_info *out, int max) {
	return socket_server_info(SOCKET_SERVER, out, max);
}
