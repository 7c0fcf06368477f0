/*
 * shutdown.c: the stop sequence (see shutdown.h).  The list of services to
 * tell is short (the coordinator, mostly), so it is a small array.
 */
#include "shutdown.h"
#include "handle.h"
#include "housekeeper.h"
#include "server.h"

#include <pthread.h>
#include <string.h>

#define MAX_HOOKS 64
#define SHUTDOWN_TEXT "SHUTDOWN"

static struct {
	pthread_mutex_t lock;
	enum shutdown_state state;
	uint64_t deadline_ns;
	int exit_status;
	int hook_count;
	uint32_t hooks[MAX_HOOKS];
} S = { PTHREAD_MUTEX_INITIALIZER, SHUTDOWN_RUNNING, 0, 0, 0, {0} };

static int find_hook(uint32_t handle)
{
	for (int i = 0; i < S.hook_count; i++)
		if (S.hooks[i] == handle)
			return i;
	return -1;
}

static void remove_hook(uint32_t handle)
{
	pthread_mutex_lock(&S.lock);
	int at = find_hook(handle);
	if (at >= 0)
		S.hooks[at] = S.hooks[--S.hook_count];
	int waiting = S.state == SHUTDOWN_WAITING && S.hook_count == 0;
	pthread_mutex_unlock(&S.lock);
	if (waiting)
		skynet_housekeeper_wake();
}

void skynet_shutdown_hook(uint32_t handle)
{
	pthread_mutex_lock(&S.lock);
	if (find_hook(handle) < 0 && S.hook_count < MAX_HOOKS)
		S.hooks[S.hook_count++] = handle;
	pthread_mutex_unlock(&S.lock);
}

void skynet_shutdown_done(uint32_t handle) { remove_hook(handle); }

void skynet_shutdown_forget(uint32_t handle) { remove_hook(handle); }

static void tell_hooks(void)
{
	for (int i = 0; i < S.hook_count; i++)
		skynet_send(NULL, 0, S.hooks[i], PTYPE_SYSTEM, 0,
			    (void *)SHUTDOWN_TEXT, strlen(SHUTDOWN_TEXT));
}

void skynet_shutdown_begin(int status)
{
	pthread_mutex_lock(&S.lock);
	if (S.exit_status == 0)
		S.exit_status = status;
	if (S.state == SHUTDOWN_RUNNING) {
		S.state = SHUTDOWN_WAITING;
		S.deadline_ns = skynet_hpc() + (uint64_t)SHUTDOWN_GRACE_MS * 1000000;
		tell_hooks();
	}
	pthread_mutex_unlock(&S.lock);
	skynet_housekeeper_wake();
}

int skynet_shutdown_exit_status(void)
{
	pthread_mutex_lock(&S.lock);
	int status = S.exit_status;
	pthread_mutex_unlock(&S.lock);
	return status;
}

void skynet_shutdown_last_context_gone(void)
{
	pthread_mutex_lock(&S.lock);
	S.state = SHUTDOWN_EMPTY;
	pthread_mutex_unlock(&S.lock);
	skynet_housekeeper_wake();
}

enum shutdown_state skynet_shutdown_step(uint64_t now_ns, uint64_t *deadline_ns)
{
	pthread_mutex_lock(&S.lock);
	int kill = S.state == SHUTDOWN_WAITING &&
		   (S.hook_count == 0 || now_ns >= S.deadline_ns);
	if (kill)
		S.state = SHUTDOWN_KILLING;
	enum shutdown_state state = S.state;
	*deadline_ns = S.deadline_ns;
	pthread_mutex_unlock(&S.lock);
	if (kill)
		skynet_handle_retireall();
	return state;
}
