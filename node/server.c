/*
 * server.c: service contexts.  A context binds a module instance, its
 * callback and its message queue to a handle.  This file creates and frees
 * contexts, sends messages between them and dispatches a queue's messages
 * to its callback on a worker thread.
 */
#include "server.h"
#include "handle.h"
#include "harbor.h"
#include "log.h"
#include "module.h"
#include "monitor.h"
#include "mq.h"
#include "scheduler.h"
#include "shutdown.h"
#include "skynet_socket.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What senders read (queue, handle) comes first, more than a cache line
 * away from what the service's own worker writes for every message
 * (message_count and the fields after it). */
struct skynet_context {
	struct message_queue *queue;
	uint32_t handle;
	void *instance;
	struct skynet_module *mod;
	void *cb_ud;
	skynet_cb cb;
	_Atomic(FILE *) logfile;
	char result[32];
	atomic_int ref;
	int session_id;
	int message_count;
	atomic_bool endless;
	atomic_bool retired; /* its handle is gone (exit, kill) */
	uint64_t cpu_cost; /* microseconds, when profiling */
};

static atomic_int context_total;
static _Thread_local uint32_t current_handle;
static bool profile_enabled;

uint32_t skynet_current_handle(void) { return current_handle; }

int skynet_context_total(void) { return atomic_load(&context_total); }

uint32_t skynet_context_handle(struct skynet_context *ctx) { return ctx->handle; }

void skynet_context_profile(int on) { profile_enabled = on != 0; }

uint32_t skynet_context_launch(const char *name, const char *parm)
{
	struct skynet_module *mod = skynet_module_query(name);
	if (mod == NULL)
		return 0;
	void *inst = skynet_module_instance_create(mod);
	if (inst == NULL)
		return 0;
	struct skynet_context *ctx = skynet_calloc(1, sizeof(*ctx));
	ctx->mod = mod;
	ctx->instance = inst;
	atomic_init(&ctx->ref, 2); /* the handle table's, and ours during init */
	ctx->handle = skynet_handle_register(ctx);
	ctx->queue = skynet_mq_create(ctx->handle);
	atomic_fetch_add(&context_total, 1);
	struct message_queue *queue = ctx->queue;
	uint32_t handle = ctx->handle;
	int failed = skynet_module_instance_init(mod, inst, ctx, parm ? parm : "");
	bool alive = skynet_context_release(ctx) != NULL;
	if (alive && failed) {
		skynet_error(NULL, "FAILED launch %s %s", name, parm ? parm : "");
		skynet_handle_retire(handle);
		alive = false;
	}
	/* The queue was held back during init: schedule it now, or let a
	 * worker free it if the service is already gone. */
	skynet_globalmq_push(queue);
	return alive ? handle : 0;
}

void skynet_context_grab(struct skynet_context *ctx)
{
	atomic_fetch_add(&ctx->ref, 1);
}

static void delete_context(struct skynet_context *ctx)
{
	FILE *logfile = atomic_load(&ctx->logfile);
	if (logfile)
		fclose(logfile);
	skynet_module_instance_release(ctx->mod, ctx->instance);
	skynet_shutdown_forget(ctx->handle);
	skynet_mq_mark_release(ctx->queue);
	skynet_free(ctx);
	if (atomic_fetch_sub(&context_total, 1) == 1)
		skynet_shutdown_last_context_gone();
}

struct skynet_context *skynet_context_release(struct skynet_context *ctx)
{
	if (atomic_fetch_sub(&ctx->ref, 1) == 1) {
		delete_context(ctx);
		return NULL;
	}
	return ctx;
}

void skynet_context_retired(struct skynet_context *ctx)
{
	atomic_store_explicit(&ctx->retired, true, memory_order_relaxed);
}

int skynet_context_push(uint32_t handle, struct skynet_message *msg)
{
	return skynet_handle_push(handle, msg);
}

struct message_queue *skynet_context_queue(struct skynet_context *ctx)
{
	return ctx->queue;
}

int skynet_context_newsession(struct skynet_context *ctx)
{
	int session = ++ctx->session_id;
	if (session <= 0) {
		ctx->session_id = 1;
		session = 1;
	}
	return session;
}

void skynet_context_endless(uint32_t handle)
{
	struct skynet_context *ctx = skynet_handle_grab(handle);
	if (ctx) {
		atomic_store(&ctx->endless, true);
		skynet_context_release(ctx);
	}
}

void skynet_callback(struct skynet_context *ctx, void *ud, skynet_cb cb)
{
	ctx->cb = cb;
	ctx->cb_ud = ud;
}

int skynet_isremote(struct skynet_context *ctx, uint32_t handle, int *harbor)
{
	(void)ctx;
	if (harbor)
		*harbor = (int)(handle >> HANDLE_REMOTE_SHIFT);
	return skynet_harbor_isremote(handle);
}

/* ---- sending ---- */

/* Copies or adopts the payload according to the PTYPE_TAG flags. */
static void *adopt_payload(int type, void *msg, size_t sz)
{
	if (msg == NULL || (type & PTYPE_TAG_DONTCOPY))
		return msg;
	void *copy = skynet_malloc(sz + 1);
	memcpy(copy, msg, sz);
	((char *)copy)[sz] = '\0';
	return copy;
}

/* Delivers to a local queue, or through the harbor service for a remote
 * handle or a global name (global_name not NULL). */
static int send_message(struct skynet_context *ctx, uint32_t source,
			uint32_t destination, const char *global_name,
			int type, int session, void *msg, size_t sz)
{
	if (sz & ~MESSAGE_TYPE_MASK) {
		skynet_error(ctx, "message to [:%08x] is too large (%zu bytes)",
			     destination, sz);
		if (type & PTYPE_TAG_DONTCOPY)
			skynet_free(msg);
		return -2;
	}
	if (type & PTYPE_TAG_ALLOCSESSION)
		session = skynet_context_newsession(ctx);
	void *data = adopt_payload(type, msg, sz);
	if (source == 0 && ctx)
		source = ctx->handle;
	struct skynet_message smsg = {
		.source = source,
		.session = session,
		.data = data,
		.sz = sz | ((size_t)(type & 0xff) << MESSAGE_TYPE_SHIFT),
	};
	int failed;
	if (global_name || skynet_harbor_isremote(destination))
		failed = skynet_harbor_send(destination, global_name, &smsg);
	else
		failed = destination == 0 ||
			 skynet_context_push(destination, &smsg);
	if (failed) {
		skynet_free(data);
		return -1;
	}
	return session;
}

int skynet_send(struct skynet_context *ctx, uint32_t source,
		uint32_t destination, int type, int session, void *msg,
		size_t sz)
{
	return send_message(ctx, source, destination, NULL, type, session,
			    msg, sz);
}

uint32_t skynet_queryname(struct skynet_context *ctx, const char *name)
{
	switch (name[0]) {
	case ':':
		return (uint32_t)strtoul(name + 1, NULL, 16);
	case '.':
		return skynet_handle_findname(name + 1);
	}
	skynet_error(ctx, "don't support query global name %s", name);
	return 0;
}

int skynet_sendname(struct skynet_context *ctx, uint32_t source,
		    const char *name, int type, int session, void *msg,
		    size_t sz)
{
	if (name[0] != ':' && name[0] != '.')
		return send_message(ctx, source, 0, name, type, session, msg,
				    sz);
	uint32_t destination = skynet_queryname(ctx, name);
	if (destination == 0) {
		if (type & PTYPE_TAG_DONTCOPY)
			skynet_free(msg);
		return -1;
	}
	return skynet_send(ctx, source, destination, type, session, msg, sz);
}

/* ---- dispatching ---- */

static void dispatch_message(struct skynet_context *ctx,
			     struct skynet_message *msg)
{
	current_handle = ctx->handle;
	int type = (int)(msg->sz >> MESSAGE_TYPE_SHIFT);
	size_t sz = msg->sz & MESSAGE_TYPE_MASK;
	FILE *logfile = atomic_load_explicit(&ctx->logfile, memory_order_relaxed);
	if (logfile)
		skynet_log_message(logfile, msg->source, type, msg->session,
				   msg->data, sz);
	ctx->message_count++;
	int keep;
	if (profile_enabled) {
		uint64_t start = skynet_thread_time();
		keep = ctx->cb(ctx, ctx->cb_ud, type, msg->session, msg->source,
			       msg->data, sz);
		ctx->cpu_cost += skynet_thread_time() - start;
	} else {
		keep = ctx->cb(ctx, ctx->cb_ud, type, msg->session, msg->source,
			       msg->data, sz);
	}
	if (!keep)
		skynet_free(msg->data);
	current_handle = 0;
}

/* A message left in the queue of a service that is gone: a request gets an
 * error back so that its caller does not wait forever. */
void skynet_message_free(struct skynet_message *msg)
{
	int type = (int)(msg->sz >> MESSAGE_TYPE_SHIFT);
	if (type == PTYPE_SOCKET && msg->data) {
		struct skynet_socket_message *sm = msg->data;
		skynet_free(sm->buffer);
	}
	skynet_free(msg->data);
}

static void drop_message(struct skynet_message *msg, void *ud)
{
	uint32_t handle = *(uint32_t *)ud;
	int type = (int)(msg->sz >> MESSAGE_TYPE_SHIFT);
	skynet_log_orphan(handle, type, msg->source, msg->data,
			  msg->sz & MESSAGE_TYPE_MASK);
	skynet_message_free(msg);
	if (msg->session != 0 && type != PTYPE_RESPONSE && type != PTYPE_ERROR &&
	    msg->source != 0)
		skynet_send(NULL, handle, msg->source, PTYPE_ERROR,
			    msg->session, NULL, 0);
}

void skynet_context_drop_queue(struct message_queue *q)
{
	uint32_t handle = skynet_mq_handle(q);
	skynet_mq_release(q, drop_message, &handle);
}

static void handle_one(struct skynet_context *ctx, struct skynet_monitor *sm,
		       struct skynet_message *msg)
{
	int overload = skynet_mq_overload(ctx->queue);
	if (overload)
		skynet_error(ctx, "may overload, message queue length = %d",
			     overload);
	skynet_monitor_trigger(sm, msg->source, ctx->handle);
	if (atomic_load_explicit(&ctx->retired, memory_order_relaxed))
		drop_message(msg, &ctx->handle);
	else if (ctx->cb == NULL)
		skynet_message_free(msg);
	else
		dispatch_message(ctx, msg);
	skynet_monitor_trigger(sm, 0, 0);
}

/* Runs one batch of q's messages (the first one, and with a weight w >= 0
 * also length >> w more); 0 when q ran empty: it is then out of every
 * queue until its next push. */
static int run_batch(struct skynet_context *ctx, struct skynet_monitor *sm,
		     struct message_queue *q, int weight)
{
	int batch = 1;
	struct skynet_message msg;
	for (int i = 0; i < batch; i++) {
		if (skynet_mq_pop(q, &msg))
			return 0;
		if (i == 0 && weight >= 0)
			batch = (skynet_mq_length(q) >> weight) + 1;
		handle_one(ctx, sm, &msg);
	}
	return 1;
}

/* Batch after batch while no other queue waits (the context stays
 * grabbed meanwhile); returns the queue to run next, or NULL. */
struct message_queue *skynet_context_message_dispatch(
    struct skynet_monitor *sm, struct message_queue *q, int weight)
{
	if (q == NULL && (q = skynet_sched_next()) == NULL)
		return NULL;
	struct skynet_context *ctx = skynet_handle_grab(skynet_mq_handle(q));
	if (ctx == NULL) {
		skynet_context_drop_queue(q);
		return skynet_sched_next();
	}
	struct message_queue *next;
	for (;;) {
		if (!run_batch(ctx, sm, q, weight)) {
			skynet_context_release(ctx);
			return skynet_sched_next();
		}
		if ((next = skynet_sched_next()) != NULL) {
			skynet_mq_requeue(q);
			break;
		}
		if (skynet_sched_stopping()) {
			next = q;
			break;
		}
	}
	skynet_context_release(ctx);
	return next;
}

/* ---- accessors for command.c ---- */

struct skynet_context_stat skynet_context_stat(struct skynet_context *ctx)
{
	struct skynet_context_stat st = {
		.cpu_us = ctx->cpu_cost,
		.message = ctx->message_count,
	};
	return st;
}

int skynet_context_mqlen(struct skynet_context *ctx)
{
	return skynet_mq_length(ctx->queue);
}

int skynet_context_take_endless(struct skynet_context *ctx)
{
	return atomic_exchange(&ctx->endless, false);
}

char *skynet_context_result(struct skynet_context *ctx) { return ctx->result; }

void skynet_context_signal(struct skynet_context *ctx, int sig)
{
	skynet_module_instance_signal(ctx->mod, ctx->instance, sig);
}

FILE *skynet_context_swap_logfile(struct skynet_context *ctx, FILE *f)
{
	return atomic_exchange(&ctx->logfile, f);
}
