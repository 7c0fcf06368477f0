/*
 * mq.h: message queues.  Each service has one queue; a global queue holds
 * the service queues that have messages waiting for a worker (besides the
 * workers' next slots, scheduler.h).
 */
#ifndef SKYNET_MQ_H
#define SKYNET_MQ_H

#include "server.h"

#include <stdint.h>

struct message_queue;

void skynet_mq_init(void);
void skynet_mq_free(void);

void skynet_globalmq_push(struct message_queue *q);
struct message_queue *skynet_globalmq_pop(void);
int skynet_globalmq_empty(void);

struct message_queue *skynet_mq_create(uint32_t handle);
uint32_t skynet_mq_handle(struct message_queue *q);
int skynet_mq_length(struct message_queue *q);
/* Returns the queue length that triggered an overload warning, once. */
int skynet_mq_overload(struct message_queue *q);
/* 0 and fills msg when a message was taken; 1 when the queue was empty
 * (the queue then leaves the global queue until the next push). */
int skynet_mq_pop(struct message_queue *q, struct skynet_message *msg);
void skynet_mq_push(struct message_queue *q, struct skynet_message *msg);
/* A worker is done with q for now: back to the global queue if messages
 * wait (or it is to be released), else out of every queue until its next
 * push. */
void skynet_mq_requeue(struct message_queue *q);

typedef void (*message_drop)(struct skynet_message *msg, void *ud);
/* The owner is gone: the queue is freed by the next worker that takes it. */
void skynet_mq_mark_release(struct message_queue *q);
/* Frees a queue marked for release, handing every message left to drop. */
void skynet_mq_release(struct message_queue *q, message_drop drop, void *ud);

#endif
