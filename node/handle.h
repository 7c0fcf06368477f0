/*
 * handle.h: the handle table: maps 32-bit handles (harbor id in the top 8
 * bits) to service contexts, and local names to handles.
 */
#ifndef SKYNET_HANDLE_H
#define SKYNET_HANDLE_H

#include <stdint.h>

struct skynet_context;
struct skynet_message;

void skynet_handle_init(int harbor);
void skynet_handle_free(void);
uint32_t skynet_handle_register(struct skynet_context *ctx);
/* Drops the handle and its names; returns 1 if it existed. */
int skynet_handle_retire(uint32_t handle);
/* Takes a reference to the context; release it with skynet_context_release. */
struct skynet_context *skynet_handle_grab(uint32_t handle);
/* Pushes msg to the queue of handle's context; -1 if there is none (the
 * caller keeps msg->data). */
int skynet_handle_push(uint32_t handle, struct skynet_message *msg);
void skynet_handle_retireall(void);
/* A name without the leading '.'; 0 when unknown. */
uint32_t skynet_handle_findname(const char *name);
/* Binds name to handle; returns the stored name, or NULL if it is taken. */
const char *skynet_handle_namehandle(uint32_t handle, const char *name);
int skynet_handle_harbor(void);

#endif
