/*
 * service_snlua.c: the snlua C service, which runs one Lua service in its
 * own lua_State.  It accounts the state's memory (and enforces the limit a
 * service sets with skynet.memlimit), finds the service file through the
 * `luaservice` templates, runs the `preload` file, then the service chunk
 * with its launch arguments.  Loading happens in the service's first
 * message, on a worker thread, as skynet does.
 */
#include "builtin.h"
#include "codecache.h"
#include "server.h"
#include "skynet.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEMORY_WARNING_START (32 * 1024 * 1024)
#define MAX_ARGS 64

struct snlua {
	lua_State *L;
	_Atomic(lua_State *) running; /* the coroutine running now, for signal 0 */
	struct skynet_context *ctx;
	size_t mem;
	size_t mem_report;
	size_t mem_limit;
};

static atomic_size_t lua_memory_total;

size_t snlua_memory_total(void) { return atomic_load(&lua_memory_total); }

static void *account(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct snlua *l = ud;
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		l->mem -= old;
		atomic_fetch_sub(&lua_memory_total, old);
		free(ptr);
		return NULL;
	}
	if (l->mem_limit && nsize > old && l->mem - old + nsize > l->mem_limit)
		return NULL; /* Lua raises "not enough memory" */
	void *block = realloc(ptr, nsize);
	if (block == NULL)
		return NULL;
	l->mem = l->mem - old + nsize;
	atomic_fetch_add(&lua_memory_total, nsize);
	atomic_fetch_sub(&lua_memory_total, old);
	if (l->mem > l->mem_report) {
		l->mem_report *= 2;
		skynet_error(l->ctx, "memory warning %.2f M", (double)l->mem / (1024 * 1024));
	}
	return block;
}

void *snlua_create(void)
{
	struct snlua *l = skynet_calloc(1, sizeof(*l));
	l->mem_report = MEMORY_WARNING_START;
	return l;
}

void snlua_release(void *p)
{
	struct snlua *l = p;
	if (l->L)
		lua_close(l->L);
	skynet_free(l);
}

static void break_loop(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	lua_sethook(L, NULL, 0, 0);
	luaL_error(L, "interrupted by signal 0 (endless loop?)");
}

/* Signal 0 (from the debug console, after the monitor reported an endless
 * loop) raises an error in whatever coroutine runs now, at its next
 * instruction.  Lua allows setting a hook from outside the running thread. */
void snlua_signal(void *p, int sig)
{
	struct snlua *l = p;
	if (sig == 0 && l->L) {
		lua_State *running = atomic_load(&l->running);
		lua_sethook(running ? running : l->L, break_loop, LUA_MASKCOUNT, 1);
	} else if (sig == 1)
		skynet_error(l->ctx, "current memory %.3fK", (double)l->mem / 1024);
}

static void set_path(lua_State *L, const char *field, const char *env)
{
	const char *value = skynet_getenv(env);
	if (value == NULL)
		return;
	lua_getglobal(L, "package");
	lua_pushstring(L, value);
	lua_setfield(L, -2, field);
	lua_pop(L, 1);
}

/* Pushes the path of the service file, or an error message listing where
 * it looked; returns 0 when found. */
static int find_service(lua_State *L, const char *name)
{
	const char *templates = skynet_getenv("luaservice");
	if (templates == NULL)
		templates = "./service/?.lua";
	lua_pushstring(L, name);
	lua_pushstring(L, templates);
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "searchpath");
	lua_replace(L, -2);
	lua_insert(L, -3);
	lua_call(L, 2, 2);
	if (lua_isnil(L, -2)) {
		lua_remove(L, -2);
		lua_pushfstring(L, "cannot find service %s:%s", name, lua_tostring(L, -1));
		lua_remove(L, -2);
		return -1;
	}
	lua_pop(L, 1);
	return 0;
}

/* SERVICE_PATH: the file's folder (with a trailing '/'). */
static void set_service_globals(lua_State *L, const char *name, const char *file)
{
	lua_pushstring(L, name);
	lua_setglobal(L, "SERVICE_NAME");
	const char *slash = strrchr(file, '/');
	if (slash)
		lua_pushlstring(L, file, (size_t)(slash - file + 1));
	else
		lua_pushliteral(L, "./");
	lua_setglobal(L, "SERVICE_PATH");
}

static int run_preload(lua_State *L)
{
	const char *preload = skynet_getenv("preload");
	if (preload == NULL)
		return LUA_OK;
	int r = luaL_loadfile(L, preload);
	return r == LUA_OK ? lua_pcall(L, 0, 0, 1) : r;
}

static int split_args(char *args, char **argv)
{
	int argc = 0;
	for (char *tok = strtok(args, " "); tok && argc < MAX_ARGS;
	     tok = strtok(NULL, " "))
		argv[argc++] = tok;
	return argc;
}

static int traceback(lua_State *L)
{
	luaL_traceback(L, L, lua_tostring(L, 1), 1);
	return 1;
}

/* Runs the service file; leaves an error message on failure. */
static int load_service(lua_State *L, char *args)
{
	char *argv[MAX_ARGS];
	int argc = split_args(args, argv);
	if (argc == 0) {
		lua_pushliteral(L, "snlua: no service name given");
		return -1;
	}
	if (find_service(L, argv[0]))
		return -1;
	const char *file = lua_tostring(L, -1);
	set_service_globals(L, argv[0], file);
	int r = run_preload(L);
	if (r == LUA_OK)
		r = codecache_loadfile(L, file);
	if (r != LUA_OK)
		return -1;
	for (int i = 1; i < argc; i++)
		lua_pushstring(L, argv[i]);
	return lua_pcall(L, argc - 1, 0, 1) == LUA_OK ? 0 : -1;
}

/* Moves the results of a finished or yielded resume of co onto L, after
 * true; on failure, false and the message. */
static int resume_results(lua_State *L, lua_State *co, int status, int nres)
{
	if (status != LUA_OK && status != LUA_YIELD) {
		lua_xmove(co, L, 1); /* a no-op when co is L itself */
		lua_pushboolean(L, 0);
		lua_insert(L, -2);
		return 2;
	}
	if (!lua_checkstack(L, nres + 1)) {
		lua_pop(co, nres);
		lua_pushboolean(L, 0);
		lua_pushliteral(L, "too many results to resume");
		return 2;
	}
	lua_xmove(co, L, nres);
	lua_pushboolean(L, 1);
	lua_insert(L, -(nres + 1));
	return nres + 1;
}

/* coroutine.resume, recording which coroutine runs (see snlua_signal). */
static int tracked_resume(lua_State *L)
{
	struct snlua *l = lua_touserdata(L, lua_upvalueindex(1));
	lua_State *co = lua_tothread(L, 1);
	luaL_argexpected(L, co != NULL, 1, "coroutine");
	int nargs = lua_gettop(L) - 1;
	if (!lua_checkstack(co, nargs)) {
		lua_pushboolean(L, 0);
		lua_pushliteral(L, "too many arguments to resume");
		return 2;
	}
	lua_xmove(L, co, nargs);
	/* Only this thread writes `running`: plain stores publish it. */
	lua_State *outer = atomic_load_explicit(&l->running, memory_order_relaxed);
	atomic_store_explicit(&l->running, co, memory_order_release);
	int nres = 0;
	int status = lua_resume(co, L, nargs, &nres);
	atomic_store_explicit(&l->running, outer, memory_order_release);
	return resume_results(L, co, status, nres);
}

static void track_coroutines(lua_State *L, struct snlua *l)
{
	lua_getglobal(L, "coroutine");
	lua_pushlightuserdata(L, l);
	lua_pushcclosure(L, tracked_resume, 1);
	lua_setfield(L, -2, "resume");
	lua_pop(L, 1);
}

static lua_State *new_state(struct snlua *l)
{
	lua_State *L = lua_newstate(account, l);
	if (L == NULL)
		return NULL;
	lua_gc(L, LUA_GCGEN, 0, 0);
	luaL_openlibs(L);
	track_coroutines(L, l);
	lua_pushlightuserdata(L, l->ctx);
	lua_setfield(L, LUA_REGISTRYINDEX, "skynet_context");
	skynet_preload_modules(L);
	set_path(L, "path", "lua_path");
	set_path(L, "cpath", "lua_cpath");
	codecache_install_searcher(L);
	return L;
}

static void read_memlimit(struct snlua *l)
{
	lua_getfield(l->L, LUA_REGISTRYINDEX, "memlimit");
	lua_Integer limit = lua_tointeger(l->L, -1);
	lua_pop(l->L, 1);
	if (limit > 0)
		l->mem_limit = (size_t)limit;
}

static int start_service(struct snlua *l, char *args)
{
	l->L = new_state(l);
	if (l->L == NULL) {
		skynet_error(l->ctx, "snlua: cannot create a Lua state");
		return -1;
	}
	lua_pushcfunction(l->L, traceback);
	if (load_service(l->L, args)) {
		skynet_error(l->ctx, "%s", lua_tostring(l->L, -1));
		return -1;
	}
	lua_settop(l->L, 0);
	read_memlimit(l);
	return 0;
}

static void report_failure(struct skynet_context *ctx)
{
	static const char text[] = "ERROR";
	skynet_sendname(ctx, 0, ".launcher", PTYPE_TEXT, 0, (void *)text,
			sizeof(text) - 1);
}

static int first_message(struct skynet_context *ctx, void *ud, int type,
			 int session, uint32_t source, const void *msg, size_t sz)
{
	(void)type;
	(void)session;
	(void)source;
	struct snlua *l = ud;
	skynet_callback(ctx, NULL, NULL);
	char *args = skynet_malloc(sz + 1);
	memcpy(args, msg, sz);
	args[sz] = '\0';
	if (start_service(l, args)) {
		report_failure(ctx);
		skynet_command(ctx, "EXIT", NULL);
	}
	skynet_free(args);
	return 0;
}

int snlua_init(void *p, struct skynet_context *ctx, const char *args)
{
	struct snlua *l = p;
	l->ctx = ctx;
	skynet_callback(ctx, l, first_message);
	return skynet_send(ctx, 0, skynet_context_handle(ctx), PTYPE_TEXT, 0,
			   (void *)args, strlen(args)) < 0;
}
