/*
 * housekeeper.c: one thread that wakes only when something is due: the
 * earliest timeout, the next monitor check, the end of the shutdown grace
 * period, or an explicit wake (new earlier timeout, state change).  A wake
 * counter closes the gap between computing the deadline and sleeping.
 */
#include "housekeeper.h"
#include "monitor.h"
#include "shutdown.h"
#include "skynet.h"
#include "timer.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define MONITOR_INTERVAL_NS (5ull * 1000000000)

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t wakes;
} K;

void skynet_housekeeper_init(void)
{
	pthread_mutex_init(&K.lock, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&K.cond, &attr);
	pthread_condattr_destroy(&attr);
	K.wakes = 0;
}

void skynet_housekeeper_free(void)
{
	pthread_cond_destroy(&K.cond);
	pthread_mutex_destroy(&K.lock);
}

void skynet_housekeeper_wake(void)
{
	pthread_mutex_lock(&K.lock);
	K.wakes++;
	pthread_cond_signal(&K.cond);
	pthread_mutex_unlock(&K.lock);
}

static void sleep_until(uint64_t due_ns, uint64_t seen_wakes)
{
	struct timespec ts = {
		.tv_sec = (time_t)(due_ns / 1000000000),
		.tv_nsec = (long)(due_ns % 1000000000),
	};
	pthread_mutex_lock(&K.lock);
	if (K.wakes == seen_wakes)
		pthread_cond_timedwait(&K.cond, &K.lock, &ts);
	pthread_mutex_unlock(&K.lock);
}

static uint64_t current_wakes(void)
{
	pthread_mutex_lock(&K.lock);
	uint64_t wakes = K.wakes;
	pthread_mutex_unlock(&K.lock);
	return wakes;
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

void skynet_housekeeper_run(struct skynet_monitor **monitors, int count)
{
	uint64_t next_check = skynet_hpc() + MONITOR_INTERVAL_NS;
	for (;;) {
		uint64_t wakes = current_wakes();
		uint64_t now = skynet_hpc();
		uint64_t due = skynet_timer_expire(now);
		if (now >= next_check) {
			for (int i = 0; i < count; i++)
				skynet_monitor_check(monitors[i]);
			next_check = now + MONITOR_INTERVAL_NS;
		}
		uint64_t grace_end;
		enum shutdown_state state = skynet_shutdown_step(now, &grace_end);
		if (state == SHUTDOWN_EMPTY)
			return;
		due = min_u64(due, next_check);
		if (state == SHUTDOWN_WAITING)
			due = min_u64(due, grace_end);
		sleep_until(due, wakes);
	}
}
