/*
 * monitor.h: per-worker watch records, checked by the monitor thread to
 * report a service stuck in one message (an endless loop).
 */
#ifndef SKYNET_MONITOR_H
#define SKYNET_MONITOR_H

#include <stdint.h>

struct skynet_monitor;

struct skynet_monitor *skynet_monitor_new(void);
void skynet_monitor_delete(struct skynet_monitor *sm);
/* A worker starts (source, destination) or ends (0, 0) a message. */
void skynet_monitor_trigger(struct skynet_monitor *sm, uint32_t source,
                            uint32_t destination);
/* Called every few seconds: warns when no progress since the last check. */
void skynet_monitor_check(struct skynet_monitor *sm);

#endif
