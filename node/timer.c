/*
 * timer.c: pending timeouts in a binary min-heap ordered by due time (in
 * nanoseconds on the monotonic clock).  The housekeeping thread sleeps until
 * the earliest one is due, so an idle node does not wake on every tick.
 */
#include "timer.h"
#include "housekeeper.h"
#include "server.h"

#include <pthread.h>
#include <time.h>

struct timer_event {
	uint64_t due_ns;
	uint64_t order; /* ties keep insertion order */
	uint32_t handle;
	int session;
};

static struct {
	pthread_mutex_t lock;
	struct timer_event *heap;
	int count;
	int cap;
	uint64_t inserted;
	uint64_t start_ns;
	uint32_t start_wall; /* unix seconds */
} T = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0, 0, 0 };

void skynet_timer_init(void)
{
	T.cap = 64;
	T.heap = skynet_malloc(sizeof(*T.heap) * T.cap);
	T.start_ns = skynet_hpc();
	T.start_wall = (uint32_t)time(NULL);
}

void skynet_timer_free(void)
{
	skynet_free(T.heap);
	T.heap = NULL;
	T.count = T.cap = 0;
}

static int earlier(const struct timer_event *a, const struct timer_event *b)
{
	return a->due_ns < b->due_ns ||
	       (a->due_ns == b->due_ns && a->order < b->order);
}

static void swap(int i, int j)
{
	struct timer_event t = T.heap[i];
	T.heap[i] = T.heap[j];
	T.heap[j] = t;
}

static void sift_up(int i)
{
	while (i > 0 && earlier(&T.heap[i], &T.heap[(i - 1) / 2])) {
		swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void sift_down(int i)
{
	for (;;) {
		int least = i, left = 2 * i + 1, right = left + 1;
		if (left < T.count && earlier(&T.heap[left], &T.heap[least]))
			least = left;
		if (right < T.count && earlier(&T.heap[right], &T.heap[least]))
			least = right;
		if (least == i)
			return;
		swap(i, least);
		i = least;
	}
}

static int deliver(uint32_t handle, int session)
{
	struct skynet_message msg = {
		.source = 0,
		.session = session,
		.data = NULL,
		.sz = (size_t)PTYPE_RESPONSE << MESSAGE_TYPE_SHIFT,
	};
	return skynet_context_push(handle, &msg);
}

int skynet_timeout(uint32_t handle, int centiseconds, int session)
{
	if (centiseconds <= 0)
		return deliver(handle, session) ? -1 : session;
	pthread_mutex_lock(&T.lock);
	if (T.count == T.cap) {
		T.cap *= 2;
		T.heap = skynet_realloc(T.heap, sizeof(*T.heap) * T.cap);
	}
	uint64_t order = T.inserted++;
	T.heap[T.count] = (struct timer_event){
		.due_ns = skynet_hpc() + (uint64_t)centiseconds * 10000000,
		.order = order,
		.handle = handle,
		.session = session,
	};
	sift_up(T.count++);
	int first = T.heap[0].order == order;
	pthread_mutex_unlock(&T.lock);
	if (first)
		skynet_housekeeper_wake();
	return session;
}

/* Pops one due event into *out; 0 when none is due. */
static int pop_due(uint64_t now_ns, struct timer_event *out, uint64_t *next)
{
	pthread_mutex_lock(&T.lock);
	int due = T.count > 0 && T.heap[0].due_ns <= now_ns;
	if (due) {
		*out = T.heap[0];
		T.heap[0] = T.heap[--T.count];
		sift_down(0);
	} else {
		*next = T.count > 0 ? T.heap[0].due_ns : UINT64_MAX;
	}
	pthread_mutex_unlock(&T.lock);
	return due;
}

uint64_t skynet_timer_expire(uint64_t now_ns)
{
	struct timer_event e;
	uint64_t next;
	while (pop_due(now_ns, &e, &next))
		deliver(e.handle, e.session); /* a gone service just misses it */
	return next;
}

uint64_t skynet_now(void)
{
	return (skynet_hpc() - T.start_ns) / 10000000;
}

uint64_t skynet_hpc(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

uint64_t skynet_thread_time(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint32_t skynet_starttime(void) { return T.start_wall; }
