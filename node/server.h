/*
 * server.h: service contexts inside the runtime: creation, message push and
 * dispatch.  Used by the runtime's own files and by built-in services that
 * need more than the public API (the socket glue, the Redis driver glue).
 */
#ifndef SKYNET_SERVER_H
#define SKYNET_SERVER_H

#include "skynet.h"

#include <stdio.h>

struct skynet_message {
	uint32_t source;
	int session;
	void *data;
	size_t sz; /* type in the top 8 bits, see MESSAGE_TYPE_SHIFT */
};

struct message_queue;
struct skynet_monitor;

/* Creates a service; returns its handle, 0 if it failed to start.  (The
 * service may already have exited again by the time this returns.) */
uint32_t skynet_context_launch(const char *name, const char *parm);
void skynet_context_grab(struct skynet_context *ctx);
struct skynet_context *skynet_context_release(struct skynet_context *ctx);
/* Called when the handle is retired: the messages still to come (even in
 * the batch being dispatched) are dropped as for a service that is gone. */
void skynet_context_retired(struct skynet_context *ctx);
/* Push a message to the service at handle; -1 if it does not exist.  On
 * failure the caller still owns msg->data. */
int skynet_context_push(uint32_t handle, struct skynet_message *msg);
struct message_queue *skynet_context_queue(struct skynet_context *ctx);
int skynet_context_newsession(struct skynet_context *ctx);
/* Frees the queue of a service that is gone; requests in it are answered
 * with PTYPE_ERROR, lines for the logger go to stderr. */
void skynet_context_drop_queue(struct message_queue *q);
/* Frees a message that will not be delivered (socket data included). */
void skynet_message_free(struct skynet_message *msg);
int skynet_context_total(void);
void skynet_context_endless(uint32_t handle);

/* Dispatch up to a batch of messages of the queue q (or take one from the
 * global queue when q is NULL); returns the next queue to work on. */
struct message_queue *skynet_context_message_dispatch(
    struct skynet_monitor *monitor, struct message_queue *q, int weight);

/* What command.c and the debug protocol report about a service. */
struct skynet_context_stat {
	uint64_t cpu_us;
	int message;
};

struct skynet_context_stat skynet_context_stat(struct skynet_context *ctx);
int skynet_context_mqlen(struct skynet_context *ctx);
/* Whether the monitor flagged the service since the last call. */
int skynet_context_take_endless(struct skynet_context *ctx);
char *skynet_context_result(struct skynet_context *ctx); /* 32 bytes */
void skynet_context_signal(struct skynet_context *ctx, int sig);
void skynet_context_profile(int on);

/* Replaces the per-service message log; returns the previous one. */
FILE *skynet_context_swap_logfile(struct skynet_context *ctx, FILE *f);

#endif
