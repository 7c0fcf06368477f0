/*
 * shutdown.h: how the node stops.  ABORT, SIGTERM and SIGINT start a stop:
 * services that asked for it (SHUTDOWNHOOK) are told first and given a
 * short grace period to release what they hold; then every service is
 * killed, and the node quits when the last one is gone.
 */
#ifndef SKYNET_SHUTDOWN_H
#define SKYNET_SHUTDOWN_H

#include <stdint.h>

#define SHUTDOWN_GRACE_MS 500

enum shutdown_state {
	SHUTDOWN_RUNNING,
	SHUTDOWN_WAITING, /* hooks told, grace period running */
	SHUTDOWN_KILLING, /* services being killed */
	SHUTDOWN_EMPTY,   /* no service left: quit */
};

void skynet_shutdown_hook(uint32_t handle);
void skynet_shutdown_done(uint32_t handle);
void skynet_shutdown_forget(uint32_t handle);
/* Starts the stop; the process exits with the first non-zero status given. */
void skynet_shutdown_begin(int status);
int skynet_shutdown_exit_status(void);
void skynet_shutdown_last_context_gone(void);

/* For the housekeeping thread: advances the state machine at time now_ns
 * and returns the state; *deadline_ns is set while the grace period runs. */
enum shutdown_state skynet_shutdown_step(uint64_t now_ns,
                                         uint64_t *deadline_ns);

#endif
