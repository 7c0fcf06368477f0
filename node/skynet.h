/*
 * skynet.h: the public C API of the skynode runtime.
 *
 * C services and C modules include this file.  The names and signatures are
 * those skynet exposes, so a C service written for skynet builds against
 * skynode unchanged.  Message types are skynet's PTYPE numbers.
 */
#ifndef SKYNET_H
#define SKYNET_H

#include <stddef.h>
#include <stdint.h>

#define PTYPE_TEXT 0
#define PTYPE_RESPONSE 1
#define PTYPE_MULTICAST 2
#define PTYPE_CLIENT 3
#define PTYPE_SYSTEM 4
#define PTYPE_HARBOR 5
#define PTYPE_SOCKET 6
#define PTYPE_ERROR 7
#define PTYPE_RESERVED_QUEUE 8
#define PTYPE_RESERVED_DEBUG 9
#define PTYPE_RESERVED_LUA 10
#define PTYPE_RESERVED_SNAX 11
#define PTYPE_TRACE 12

/* Flags or-ed into the type argument of skynet_send. */
#define PTYPE_TAG_DONTCOPY 0x10000   /* msg is already heap memory: take it */
#define PTYPE_TAG_ALLOCSESSION 0x20000 /* allocate a new session for a call */

/* Message size carries the type in its top 8 bits inside queues. */
#define MESSAGE_TYPE_MASK (SIZE_MAX >> 8)
#define MESSAGE_TYPE_SHIFT ((sizeof(size_t) - 1) * 8)

/* Harbor id lives in the top 8 bits of a handle. */
#define HANDLE_MASK 0xffffff
#define HANDLE_REMOTE_SHIFT 24

struct skynet_context;

typedef int (*skynet_cb)(struct skynet_context *context, void *ud, int type,
                         int session, uint32_t source, const void *msg,
                         size_t sz);

void *skynet_malloc(size_t sz);
void *skynet_calloc(size_t nmemb, size_t size);
void *skynet_realloc(void *ptr, size_t size);
void skynet_free(void *ptr);
char *skynet_strdup(const char *str);

void skynet_error(struct skynet_context *context, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *skynet_command(struct skynet_context *context, const char *cmd,
                           const char *parm);
uint32_t skynet_queryname(struct skynet_context *context, const char *name);
int skynet_send(struct skynet_context *context, uint32_t source,
                uint32_t destination, int type, int session, void *msg,
                size_t sz);
int skynet_sendname(struct skynet_context *context, uint32_t source,
                    const char *destination, int type, int session, void *msg,
                    size_t sz);
int skynet_isremote(struct skynet_context *context, uint32_t handle,
                    int *harbor);
void skynet_callback(struct skynet_context *context, void *ud, skynet_cb cb);
uint32_t skynet_current_handle(void);
uint32_t skynet_context_handle(struct skynet_context *context);

/* Centiseconds since the node started, on the monotonic clock. */
uint64_t skynet_now(void);
/* Unix time in centiseconds when the node started. */
uint32_t skynet_starttime(void);
/* Microseconds of CPU used by the calling thread. */
uint64_t skynet_thread_time(void);
/* Nanoseconds on the monotonic clock. */
uint64_t skynet_hpc(void);

const char *skynet_getenv(const char *key);
void skynet_setenv(const char *key, const char *value);

#endif
