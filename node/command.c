/*
 * command.c: skynet_command, the text commands services send to the runtime
 * (REG, QUERY, LAUNCH, TIMEOUT, ...).  Results are written into the calling
 * context's 32-byte result buffer, as skynet does.
 */
#include "handle.h"
#include "log.h"
#include "server.h"
#include "shutdown.h"
#include "timer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Atomic uint32_t exit_monitor;

static const char *result_handle(struct skynet_context *ctx, uint32_t handle)
{
	char *result = skynet_context_result(ctx);
	snprintf(result, 32, ":%08x", handle);
	return result;
}

static const char *result_number(struct skynet_context *ctx, long long n)
{
	char *result = skynet_context_result(ctx);
	snprintf(result, 32, "%lld", n);
	return result;
}

/* ":hex" or ".name" → handle; 0 when unknown. */
static uint32_t to_handle(struct skynet_context *ctx, const char *param)
{
	if (param == NULL)
		return 0;
	if (param[0] == ':')
		return (uint32_t)strtoul(param + 1, NULL, 16);
	if (param[0] == '.')
		return skynet_handle_findname(param + 1);
	skynet_error(ctx, "cannot convert %s to an address", param);
	return 0;
}

static const char *cmd_timeout(struct skynet_context *ctx, const char *param)
{
	int ti = (int)strtol(param, NULL, 10);
	int session = skynet_context_newsession(ctx);
	skynet_timeout(skynet_context_handle(ctx), ti, session);
	return result_number(ctx, session);
}

static const char *cmd_reg(struct skynet_context *ctx, const char *param)
{
	uint32_t self = skynet_context_handle(ctx);
	if (param == NULL || param[0] == '\0')
		return result_handle(ctx, self);
	if (param[0] == '.')
		return skynet_handle_namehandle(self, param + 1);
	skynet_error(ctx, "cannot register global name %s in C", param);
	return NULL;
}

static const char *cmd_query(struct skynet_context *ctx, const char *param)
{
	if (param && param[0] == '.') {
		uint32_t handle = skynet_handle_findname(param + 1);
		if (handle)
			return result_handle(ctx, handle);
	}
	return NULL;
}

static const char *cmd_name(struct skynet_context *ctx, const char *param)
{
	(void)ctx;
	char name[64], address[64];
	if (sscanf(param, "%63s %63s", name, address) != 2 || name[0] != '.' ||
	    address[0] != ':')
		return NULL;
	uint32_t handle = (uint32_t)strtoul(address + 1, NULL, 16);
	return handle ? skynet_handle_namehandle(handle, name + 1) : NULL;
}

static void notify_exit(uint32_t handle)
{
	uint32_t monitor = exit_monitor;
	if (monitor && monitor != handle)
		skynet_send(NULL, handle, monitor, PTYPE_CLIENT, 0, NULL, 0);
}

static void kill_handle(uint32_t handle)
{
	notify_exit(handle);
	skynet_handle_retire(handle);
}

static const char *cmd_exit(struct skynet_context *ctx, const char *param)
{
	(void)param;
	kill_handle(skynet_context_handle(ctx));
	return NULL;
}

static const char *cmd_kill(struct skynet_context *ctx, const char *param)
{
	uint32_t handle = to_handle(ctx, param);
	if (handle)
		kill_handle(handle);
	return NULL;
}

static const char *cmd_launch(struct skynet_context *ctx, const char *param)
{
	char module[64];
	const char *space = strchr(param, ' ');
	size_t len = space ? (size_t)(space - param) : strlen(param);
	if (len == 0 || len >= sizeof(module))
		return NULL;
	memcpy(module, param, len);
	module[len] = '\0';
	uint32_t handle = skynet_context_launch(module, space ? space + 1 : "");
	return handle ? result_handle(ctx, handle) : NULL;
}

static const char *cmd_getenv(struct skynet_context *ctx, const char *param)
{
	(void)ctx;
	return skynet_getenv(param);
}

static const char *cmd_setenv(struct skynet_context *ctx, const char *param)
{
	(void)ctx;
	const char *space = strchr(param, ' ');
	if (space == NULL)
		return NULL;
	char key[256];
	size_t len = (size_t)(space - param);
	if (len >= sizeof(key))
		return NULL;
	memcpy(key, param, len);
	key[len] = '\0';
	skynet_setenv(key, space + 1);
	return NULL;
}

static const char *cmd_starttime(struct skynet_context *ctx, const char *param)
{
	(void)param;
	return result_number(ctx, skynet_starttime());
}

/* ABORT [status]: stop the node; the process exits with status. */
static const char *cmd_abort(struct skynet_context *ctx, const char *param)
{
	(void)ctx;
	skynet_shutdown_begin((int)strtol(param, NULL, 10));
	return NULL;
}

static const char *cmd_monitor(struct skynet_context *ctx, const char *param)
{
	if (param == NULL || param[0] == '\0') {
		uint32_t monitor = exit_monitor;
		return monitor ? result_handle(ctx, monitor) : NULL;
	}
	exit_monitor = to_handle(ctx, param);
	return NULL;
}

static const char *cmd_stat(struct skynet_context *ctx, const char *param)
{
	if (strcmp(param, "mqlen") == 0)
		return result_number(ctx, skynet_context_mqlen(ctx));
	if (strcmp(param, "endless") == 0)
		return result_number(ctx, skynet_context_take_endless(ctx));
	struct skynet_context_stat st = skynet_context_stat(ctx);
	if (strcmp(param, "cpu") == 0) {
		char *result = skynet_context_result(ctx);
		snprintf(result, 32, "%.6f", (double)st.cpu_us / 1000000.0);
		return result;
	}
	if (strcmp(param, "message") == 0)
		return result_number(ctx, st.message);
	if (strcmp(param, "time") == 0)
		return result_number(ctx, 0); /* no per-message timing kept */
	return NULL;
}

/* Runs f on the context named by param (":hex"), holding a reference. */
static void with_context(struct skynet_context *ctx, const char *param,
			 void (*f)(struct skynet_context *, uint32_t, int), int arg)
{
	uint32_t handle = to_handle(ctx, param);
	struct skynet_context *target = handle ? skynet_handle_grab(handle) : NULL;
	if (target) {
		f(target, handle, arg);
		skynet_context_release(target);
	}
}

static void log_on(struct skynet_context *target, uint32_t handle, int arg)
{
	(void)arg;
	FILE *f = skynet_log_open(handle);
	if (f && (f = skynet_context_swap_logfile(target, f)) != NULL)
		fclose(f);
}

static void log_off(struct skynet_context *target, uint32_t handle, int arg)
{
	(void)arg;
	FILE *f = skynet_context_swap_logfile(target, NULL);
	if (f)
		skynet_log_close(f, handle);
}

static void send_signal(struct skynet_context *target, uint32_t handle, int sig)
{
	(void)handle;
	skynet_context_signal(target, sig);
}

static const char *cmd_logon(struct skynet_context *ctx, const char *param)
{
	with_context(ctx, param, log_on, 0);
	return NULL;
}

static const char *cmd_logoff(struct skynet_context *ctx, const char *param)
{
	with_context(ctx, param, log_off, 0);
	return NULL;
}

static const char *cmd_signal(struct skynet_context *ctx, const char *param)
{
	const char *space = strchr(param, ' ');
	int sig = space ? (int)strtol(space + 1, NULL, 10) : 0;
	with_context(ctx, param, send_signal, sig);
	return NULL;
}

static const char *cmd_shutdownhook(struct skynet_context *ctx, const char *param)
{
	(void)param;
	skynet_shutdown_hook(skynet_context_handle(ctx));
	return NULL;
}

static const char *cmd_shutdowndone(struct skynet_context *ctx, const char *param)
{
	(void)param;
	skynet_shutdown_done(skynet_context_handle(ctx));
	return NULL;
}

struct command {
	const char *name;
	const char *(*run)(struct skynet_context *ctx, const char *param);
};

static const struct command commands[] = {
	{ "TIMEOUT", cmd_timeout },	{ "REG", cmd_reg },
	{ "QUERY", cmd_query },		{ "NAME", cmd_name },
	{ "EXIT", cmd_exit },		{ "KILL", cmd_kill },
	{ "LAUNCH", cmd_launch },	{ "GETENV", cmd_getenv },
	{ "SETENV", cmd_setenv },	{ "STARTTIME", cmd_starttime },
	{ "ABORT", cmd_abort },		{ "MONITOR", cmd_monitor },
	{ "STAT", cmd_stat },		{ "LOGON", cmd_logon },
	{ "LOGOFF", cmd_logoff },	{ "SIGNAL", cmd_signal },
	{ "SHUTDOWNHOOK", cmd_shutdownhook },
	{ "SHUTDOWNDONE", cmd_shutdowndone },
	{ NULL, NULL },
};

/* Commands that need a parameter get "" rather than NULL. */
const char *skynet_command(struct skynet_context *ctx, const char *cmd,
			   const char *param)
{
	for (const struct command *c = commands; c->name; c++) {
		if (strcmp(c->name, cmd) == 0)
			return c->run(ctx, param ? param : "");
	}
	skynet_error(ctx, "unknown command %s", cmd);
	return NULL;
}
