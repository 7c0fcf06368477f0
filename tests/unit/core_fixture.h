/*
 * core_fixture.h: brings the runtime's tables up without its threads, so a
 * unit test can create services and dispatch their messages by hand.
 */
#ifndef CORE_FIXTURE_H
#define CORE_FIXTURE_H

#include "server.h"

#include <stdint.h>

struct received {
	int count;
	int type[64];
	int session[64];
	uint32_t source[64];
	char text[64][32];
};

void core_up(int harbor);
void core_down(void);
/* cmocka group setup and teardown: core_up(0) and core_down(). */
int core_group_setup(void **state);
int core_group_teardown(void **state);
/* A service whose callback records what it receives into *log. */
uint32_t core_recording_service(struct received *log);
/* Dispatches queued messages on this thread until none is left. */
int core_dispatch_all(void);
/* A message from :00000001 with the given session and no data. */
struct skynet_message core_message(int session);
/* A new service queue as the runtime leaves it after a service's init:
 * scheduled once and then found empty, so out of every queue. */
struct message_queue *core_idle_queue(uint32_t handle);

#endif
