/*
 * scheduler.c: which service queue a worker runs next, and how idle
 * workers wait for work.
 *
 * A service queue that gets work while a worker runs a message goes to
 * that worker's "next" slot instead of the global queue (mq.c), and the
 * worker runs it as soon as the message is done: a request and its reply
 * stay on one core, with warm caches, and nobody needs waking.  An idle
 * worker takes a queue out of another worker's slot only once it has
 * waited there longer than a grace period (its worker is busy with a long
 * message).
 *
 * Idle workers spin briefly, then sleep on a futex "eventcount": a sleeper
 * reads the epoch, announces itself, checks for work once more and waits
 * only while the epoch is unchanged; a waker bumps the epoch first.  While
 * another worker is awake (it may fill its slot and then run a long
 * message), a sleeper wakes up now and then to look at the slots; when
 * every worker sleeps, nobody wakes up until work arrives.  Filling a slot
 * wakes a sleeper only when no sleeper would come to look by itself.
 */
#include "scheduler.h"
#include "mq.h"

#include <linux/futex.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Long enough for a worker to finish a short message and take its slot;
 * short enough that a long message does not hold the slot's queue back. */
#define STEAL_GRACE_NS 4000
/* How often a sleeper looks at the slots while another worker is awake. */
#define RESCUE_INTERVAL_NS 1000000
/* An idle worker looks for work SPIN_PAUSES times with a pause between
 * looks (the next message of a ping-pong with another node usually comes
 * within microseconds, and waking a sleeping core takes longer), then
 * SPIN_YIELDS times giving its core away (the thread that would send the
 * next message may need it), and only then sleeps. */
#define SPIN_PAUSES 200
#define SPIN_YIELDS 50

struct worker_sched {
	/* Shared: only the owner puts a queue in; owner and thieves take it
	 * out with an atomic exchange, so each queue is run by one worker. */
	alignas(64) _Atomic(struct message_queue *) next;
	atomic_uint stamp; /* bumped each time the owner fills the slot */
	atomic_bool asleep;
	/* Private to the owner, as a thief: the other slots' stamps when it
	 * last looked at them, and when that was. */
	alignas(64) unsigned *seen;
	uint64_t looked_ns;
};

static struct {
	int count;
	struct worker_sched *workers;
	atomic_uint epoch;
	atomic_int sleeping;      /* announced sleepers */
	atomic_int deep_sleepers; /* those of them with no timeout */
	atomic_bool waking;       /* a wake-up is on its way to a sleeper */
	/* read by spinning workers: a line wake-ups do not write */
	alignas(64) atomic_bool stopping;
} S;

static _Thread_local struct worker_sched *self;

void skynet_sched_init(int workers)
{
	S.count = workers;
	S.workers = aligned_alloc(alignof(struct worker_sched),
				  sizeof(*S.workers) * workers);
	if (S.workers == NULL) {
		fprintf(stderr, "skynode: out of memory for %d workers\n", workers);
		abort();
	}
	for (int i = 0; i < workers; i++) {
		struct worker_sched *w = &S.workers[i];
		atomic_init(&w->next, NULL);
		atomic_init(&w->stamp, 0);
		atomic_init(&w->asleep, false);
		w->seen = skynet_calloc(workers, sizeof(unsigned));
		w->looked_ns = 0;
	}
	atomic_init(&S.stopping, false);
}

void skynet_sched_free(void)
{
	for (int i = 0; i < S.count; i++)
		skynet_free(S.workers[i].seen);
	free(S.workers);
	S.workers = NULL;
	S.count = 0;
}

void skynet_sched_attach(int worker) { self = &S.workers[worker]; }

void skynet_sched_detach(void)
{
	struct message_queue *q = atomic_exchange(&self->next, NULL);
	if (q)
		skynet_globalmq_push(q);
	self = NULL;
}

/* ---- waking ---- */

static void futex_wait(atomic_uint *word, unsigned expected,
		       const struct timespec *timeout)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, timeout, NULL, 0);
}

static void futex_wake(atomic_uint *word, int count)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

/* One system call per batch of wake-ups: the woken sleeper (or the next
 * one to announce itself) clears `waking`. */
static void wake_one(void)
{
	if (!atomic_exchange(&S.waking, true)) {
		atomic_fetch_add(&S.epoch, 1);
		futex_wake(&S.epoch, 1);
	}
}

/* The read-modify-write on `sleeping` (not a plain load) orders it with the
 * sleeper's increment: either the sleeper sees the queued work, or this
 * sees the sleeper and wakes it. */
void skynet_sched_wakeup(void)
{
	if (atomic_fetch_add(&S.sleeping, 0) > 0)
		wake_one();
}

void skynet_sched_stop(void)
{
	atomic_store(&S.stopping, true);
	atomic_fetch_add(&S.epoch, 1);
	futex_wake(&S.epoch, INT32_MAX);
}

int skynet_sched_stopping(void)
{
	return atomic_load_explicit(&S.stopping, memory_order_relaxed);
}

/* ---- choosing the next queue ---- */

void skynet_sched_ready(struct message_queue *q)
{
	if (self == NULL || atomic_load_explicit(&self->next,
						 memory_order_relaxed) != NULL) {
		skynet_globalmq_push(q);
		return;
	}
	atomic_fetch_add_explicit(&self->stamp, 1, memory_order_relaxed);
	atomic_store(&self->next, q);
	/* Pairs with the sleeper's increment before it looks at the slots. */
	if (atomic_load(&S.deep_sleepers) > 0)
		wake_one();
}

/* The worker's own slot comes first, unless queues wait in the global
 * queue: then the slot's queue waits its turn behind them. */
struct message_queue *skynet_sched_next(void)
{
	struct message_queue *mine = self ? atomic_exchange(&self->next, NULL) : NULL;
	if (mine == NULL)
		return skynet_globalmq_pop();
	if (skynet_globalmq_empty())
		return mine;
	skynet_globalmq_push(mine);
	return skynet_globalmq_pop();
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A slot whose stamp has not moved since this worker's last look, at
 * least the grace period ago, holds a queue filled before that look: its
 * worker has not come back for it.  Looking no more often than that also
 * keeps idle workers off the cache lines of busy ones. */
static struct message_queue *steal(void)
{
	uint64_t now = now_ns();
	if (now - self->looked_ns < STEAL_GRACE_NS)
		return NULL;
	self->looked_ns = now;
	for (int i = 0; i < S.count; i++) {
		struct worker_sched *w = &S.workers[i];
		unsigned stamp = atomic_load(&w->stamp);
		struct message_queue *q = atomic_load(&w->next);
		int stale = stamp == self->seen[i];
		self->seen[i] = stamp;
		if (w != self && q && stale &&
		    atomic_compare_exchange_strong(&w->next, &q, NULL))
			return q;
	}
	return NULL;
}

/* ---- idle workers ---- */

/* 1 when the global queue has work or the node stops; 1 with *stolen set
 * when a queue was taken from a busy worker's slot. */
static int look_for_work(struct message_queue **stolen)
{
	if (!skynet_globalmq_empty() || skynet_sched_stopping())
		return 1;
	*stolen = steal();
	return *stolen != NULL;
}

static int spin_for_work(struct message_queue **stolen)
{
	for (int i = 0; i < SPIN_PAUSES; i++) {
		if (look_for_work(stolen))
			return 1;
		__builtin_ia32_pause();
	}
	for (int i = 0; i < SPIN_YIELDS; i++) {
		if (look_for_work(stolen))
			return 1;
		sched_yield();
	}
	return 0;
}

static int others_awake(void)
{
	for (int i = 0; i < S.count; i++)
		if (&S.workers[i] != self && !atomic_load(&S.workers[i].asleep))
			return 1;
	return 0;
}

static int work_waiting(bool in_slots)
{
	if (!skynet_globalmq_empty() || skynet_sched_stopping())
		return 1;
	for (int i = 0; in_slots && i < S.count; i++)
		if (atomic_load(&S.workers[i].next))
			return 1;
	return 0;
}

static void sleep_until_woken(void)
{
	static const struct timespec rescue = { 0, RESCUE_INTERVAL_NS };
	unsigned epoch = atomic_load(&S.epoch);
	atomic_store(&self->asleep, true);
	atomic_fetch_add(&S.sleeping, 1);
	atomic_store(&S.waking, false);
	bool deep = !others_awake();
	if (deep)
		atomic_fetch_add(&S.deep_sleepers, 1);
	/* A slot filled now is one the spin above did not find stale yet: a
	 * sleeper with a timeout comes back for it in time. */
	if (!work_waiting(deep))
		futex_wait(&S.epoch, epoch, deep ? NULL : &rescue);
	if (deep)
		atomic_fetch_sub(&S.deep_sleepers, 1);
	atomic_fetch_sub(&S.sleeping, 1);
	atomic_store(&S.waking, false);
	atomic_store(&self->asleep, false);
}

struct message_queue *skynet_sched_wait(void)
{
	struct message_queue *stolen = NULL;
	if (!spin_for_work(&stolen))
		sleep_until_woken();
	return stolen;
}
