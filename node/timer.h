/*
 * timer.h: timeouts.  skynet.timeout counts in centiseconds; due timeouts
 * become PTYPE_RESPONSE messages carrying the session they were given.
 */
#ifndef SKYNET_TIMER_H
#define SKYNET_TIMER_H

#include <stdint.h>

void skynet_timer_init(void);
void skynet_timer_free(void);
/* Returns session, or -1 if the handle is gone (for a 0 timeout). */
int skynet_timeout(uint32_t handle, int centiseconds, int session);
/* Delivers every timeout due at now_ns; returns the next due time, or
 * UINT64_MAX when none is pending. */
uint64_t skynet_timer_expire(uint64_t now_ns);

#endif
