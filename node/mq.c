/*
 * mq.c: per-service message queues (growable rings) and the global queue of
 * service queues that have work.  A service queue is scheduled at most once
 * (in the global queue, in a worker's next slot, or being run): the
 * in_global flag is set when it is scheduled and cleared when a worker
 * finds it empty or leaves it empty (skynet_mq_requeue).
 */
#include "mq.h"
#include "scheduler.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define INITIAL_CAP 64
#define OVERLOAD_START 1024

struct message_queue {
	pthread_spinlock_t lock;
	uint32_t handle;
	int cap;
	int head;
	int tail;
	bool release;
	bool in_global;
	int overload;
	int overload_threshold;
	struct skynet_message *ring;
	struct message_queue *next;
};

static struct {
	pthread_spinlock_t lock;
	struct message_queue *head;
	struct message_queue *tail;
	atomic_int count; /* read without the lock by idle workers */
} G;

void skynet_mq_init(void)
{
	pthread_spin_init(&G.lock, PTHREAD_PROCESS_PRIVATE);
	G.head = G.tail = NULL;
}

void skynet_mq_free(void) { pthread_spin_destroy(&G.lock); }

void skynet_globalmq_push(struct message_queue *q)
{
	pthread_spin_lock(&G.lock);
	q->next = NULL;
	if (G.tail)
		G.tail->next = q;
	else
		G.head = q;
	G.tail = q;
	atomic_fetch_add_explicit(&G.count, 1, memory_order_relaxed);
	pthread_spin_unlock(&G.lock);
	skynet_sched_wakeup();
}

struct message_queue *skynet_globalmq_pop(void)
{
	/* Workers ask after every batch; an empty queue is answered without
	 * writing to the lock's cache line, which the idle workers watch. */
	if (atomic_load_explicit(&G.count, memory_order_acquire) == 0)
		return NULL;
	pthread_spin_lock(&G.lock);
	struct message_queue *q = G.head;
	if (q) {
		G.head = q->next;
		if (G.head == NULL)
			G.tail = NULL;
		q->next = NULL;
		atomic_fetch_sub_explicit(&G.count, 1, memory_order_relaxed);
	}
	pthread_spin_unlock(&G.lock);
	return q;
}

int skynet_globalmq_empty(void)
{
	return atomic_load(&G.count) == 0;
}

struct message_queue *skynet_mq_create(uint32_t handle)
{
	struct message_queue *q = skynet_malloc(sizeof(*q));
	pthread_spin_init(&q->lock, PTHREAD_PROCESS_PRIVATE);
	q->handle = handle;
	q->cap = INITIAL_CAP;
	q->head = q->tail = 0;
	q->release = false;
	/* A new queue is not pushed to the global queue until the service
	 * has finished its init: in_global keeps pushes from doing it. */
	q->in_global = true;
	q->overload = 0;
	q->overload_threshold = OVERLOAD_START;
	q->ring = skynet_malloc(sizeof(*q->ring) * q->cap);
	q->next = NULL;
	return q;
}

uint32_t skynet_mq_handle(struct message_queue *q) { return q->handle; }

static int length_locked(struct message_queue *q)
{
	return q->head <= q->tail ? q->tail - q->head : q->tail + q->cap - q->head;
}

int skynet_mq_length(struct message_queue *q)
{
	pthread_spin_lock(&q->lock);
	int n = length_locked(q);
	pthread_spin_unlock(&q->lock);
	return n;
}

int skynet_mq_overload(struct message_queue *q)
{
	int overload = q->overload;
	q->overload = 0;
	return overload;
}

int skynet_mq_pop(struct message_queue *q, struct skynet_message *msg)
{
	int empty = 1;
	pthread_spin_lock(&q->lock);
	if (q->head != q->tail) {
		*msg = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
		empty = 0;
		int length = length_locked(q);
		while (length > q->overload_threshold) {
			q->overload = length;
			q->overload_threshold *= 2;
		}
	} else {
		q->overload_threshold = OVERLOAD_START;
		q->in_global = false;
	}
	pthread_spin_unlock(&q->lock);
	return empty;
}

static void grow(struct message_queue *q)
{
	struct skynet_message *ring = skynet_malloc(sizeof(*ring) * q->cap * 2);
	for (int i = 0; i < q->cap; i++)
		ring[i] = q->ring[(q->head + i) % q->cap];
	q->head = 0;
	q->tail = q->cap;
	q->cap *= 2;
	skynet_free(q->ring);
	q->ring = ring;
}

void skynet_mq_push(struct message_queue *q, struct skynet_message *msg)
{
	pthread_spin_lock(&q->lock);
	q->ring[q->tail] = *msg;
	if (++q->tail >= q->cap)
		q->tail = 0;
	if (q->head == q->tail)
		grow(q);
	bool schedule = !q->in_global;
	q->in_global = true;
	pthread_spin_unlock(&q->lock);
	if (schedule)
		skynet_sched_ready(q);
}

void skynet_mq_requeue(struct message_queue *q)
{
	pthread_spin_lock(&q->lock);
	bool waiting = q->head != q->tail || q->release;
	if (!waiting) {
		q->overload_threshold = OVERLOAD_START;
		q->in_global = false;
	}
	pthread_spin_unlock(&q->lock);
	if (waiting)
		skynet_globalmq_push(q);
}

void skynet_mq_mark_release(struct message_queue *q)
{
	pthread_spin_lock(&q->lock);
	bool schedule = !q->in_global;
	q->release = true;
	q->in_global = true;
	pthread_spin_unlock(&q->lock);
	if (schedule)
		skynet_sched_ready(q);
}

void skynet_mq_release(struct message_queue *q, message_drop drop, void *ud)
{
	pthread_spin_lock(&q->lock);
	bool release = q->release;
	pthread_spin_unlock(&q->lock);
	if (!release) {
		/* Still owned by a context that is being created: look again later. */
		skynet_globalmq_push(q);
		return;
	}
	struct skynet_message msg;
	while (skynet_mq_pop(q, &msg) == 0)
		drop(&msg, ud);
	pthread_spin_destroy(&q->lock);
	skynet_free(q->ring);
	skynet_free(q);
}
