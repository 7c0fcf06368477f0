/*
 * monitor.c: a worker bumps its version at the start and end of every
 * message.  If two checks in a row see the same version while a message is
 * being handled, that service is marked endless and a warning is logged;
 * the debug console can then break it with `signal`.
 */
#include "monitor.h"
#include "server.h"

#include <stdatomic.h>

struct skynet_monitor {
	atomic_uint version;
	unsigned checked_version;
	_Atomic uint32_t source;
	_Atomic uint32_t destination;
};

struct skynet_monitor *skynet_monitor_new(void)
{
	struct skynet_monitor *sm = skynet_calloc(1, sizeof(*sm));
	return sm;
}

void skynet_monitor_delete(struct skynet_monitor *sm) { skynet_free(sm); }

void skynet_monitor_trigger(struct skynet_monitor *sm, uint32_t source,
			    uint32_t destination)
{
	atomic_store_explicit(&sm->source, source, memory_order_relaxed);
	atomic_store_explicit(&sm->destination, destination,
			      memory_order_relaxed);
	atomic_fetch_add_explicit(&sm->version, 1, memory_order_release);
}

void skynet_monitor_check(struct skynet_monitor *sm)
{
	unsigned version = atomic_load_explicit(&sm->version, memory_order_acquire);
	if (version != sm->checked_version) {
		sm->checked_version = version;
		return;
	}
	uint32_t destination = atomic_load_explicit(&sm->destination,
						    memory_order_relaxed);
	if (destination == 0)
		return;
	skynet_context_endless(destination);
	skynet_error(NULL,
		     "message from [:%08x] to [:%08x] may be in an endless loop "
		     "(version = %u)",
		     atomic_load_explicit(&sm->source, memory_order_relaxed),
		     destination, version);
}
