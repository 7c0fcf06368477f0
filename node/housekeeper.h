/*
 * housekeeper.h: the thread that fires timeouts, runs the monitor checks and
 * drives the stop sequence.  It sleeps until the next thing is due.
 */
#ifndef SKYNET_HOUSEKEEPER_H
#define SKYNET_HOUSEKEEPER_H

struct skynet_monitor;

void skynet_housekeeper_init(void);
void skynet_housekeeper_free(void);
void skynet_housekeeper_wake(void);
/* Runs until the last service is gone. */
void skynet_housekeeper_run(struct skynet_monitor **monitors, int count);

#endif
