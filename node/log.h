/*
 * log.h: logging helpers shared by skynet_error, the logger service and the
 * per-service message logs (LOGON/LOGOFF).
 */
#ifndef SKYNET_LOG_H
#define SKYNET_LOG_H

#include <stdint.h>
#include <stdio.h>

/* Opens logpath/<handle>.log for appending; NULL (and logs why) on failure. */
FILE *skynet_log_open(uint32_t handle);
void skynet_log_close(FILE *f, uint32_t handle);
void skynet_log_message(FILE *f, uint32_t source, int type, int session,
                        const void *data, size_t sz);
/* The logger service tells who it is, so that lines still queued for it
 * when it is killed at shutdown go to stderr instead of being lost. */
void skynet_log_set_logger(uint32_t handle);
/* Called for each message left in a dead service's queue. */
void skynet_log_orphan(uint32_t dead, int type, uint32_t source,
                       const void *data, size_t sz);

/* "YYYY-mm-dd HH:MM:SS.mmm" of the wall clock, into buf (>= 24 bytes). */
void skynet_log_timestamp(char *buf, size_t size);

#endif
