/*
 * scheduler.h: which service queue a worker runs next (its own "next"
 * slot, the global queue, or a queue left too long in a busy worker's
 * slot), and how idle workers wait for work.
 */
#ifndef SKYNET_SCHEDULER_H
#define SKYNET_SCHEDULER_H

struct message_queue;

void skynet_sched_init(int workers);
void skynet_sched_free(void);

/* The calling thread is worker `worker` (0 .. workers-1) until detach,
 * which hands the queue left in its slot to the global queue. */
void skynet_sched_attach(int worker);
void skynet_sched_detach(void);

/* q has work and is in no queue yet: the calling worker's slot when it is
 * free, else (or from any other thread) the global queue. */
void skynet_sched_ready(struct message_queue *q);
/* For a worker done with a batch: the queue to run now, or NULL. */
struct message_queue *skynet_sched_next(void);
/* For an idle worker: waits until there may be work; returns a queue
 * taken from a busy worker's slot, or NULL to look at the global queue. */
struct message_queue *skynet_sched_wait(void);

/* Work was put in the global queue: wakes a sleeping worker, if any. */
void skynet_sched_wakeup(void);
/* Wakes the workers for good; skynet_sched_stopping() is then true. */
void skynet_sched_stop(void);
int skynet_sched_stopping(void);

#endif
