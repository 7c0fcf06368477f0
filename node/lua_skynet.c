/*
 * lua_skynet.c: the Lua module `skynet.core`, the bridge between a service's
 * Lua code (lualib/skynet.lua) and the runtime: install the dispatch
 * callback, send messages, run commands, pack and unpack values.
 * Every function finds its context in an upvalue.
 */
#include "lua_seri.h"
#include "server.h"
#include "skynet.h"

#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

static struct skynet_context *context_of(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}

static int traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (msg)
		luaL_traceback(L, L, msg, 1);
	else
		lua_pushliteral(L, "(error object is not a string)");
	return 1;
}

/* What the runtime calls a service back with: its main thread, idle
 * between messages, and the registry reference of the Lua dispatch
 * function (an integer key: looked up for every message). */
struct dispatcher {
	lua_State *main;
	int callback;
};

static const char dispatcher_key = 'd';

static int dispatch(struct dispatcher *d, struct skynet_context *ctx, int type,
		    int session, uint32_t source, const void *msg, size_t sz)
{
	lua_State *L = d->main;
	int top = lua_gettop(L);
	lua_pushcfunction(L, traceback);
	lua_rawgeti(L, LUA_REGISTRYINDEX, d->callback);
	lua_pushinteger(L, type);
	lua_pushlightuserdata(L, (void *)msg);
	lua_pushinteger(L, (lua_Integer)sz);
	lua_pushinteger(L, session);
	lua_pushinteger(L, source);
	if (lua_pcall(L, 5, 0, top + 1) != LUA_OK)
		skynet_error(ctx, "lua call [:%08x to :%08x : %d msgsz = %zu] error : %s",
			     source, skynet_context_handle(ctx), session, sz,
			     lua_tostring(L, -1));
	lua_settop(L, top);
	return 0;
}

static int callback_free(struct skynet_context *ctx, void *ud, int type,
			 int session, uint32_t source, const void *msg, size_t sz)
{
	return dispatch(ud, ctx, type, session, source, msg, sz);
}

static int callback_forward(struct skynet_context *ctx, void *ud, int type,
			    int session, uint32_t source, const void *msg,
			    size_t sz)
{
	dispatch(ud, ctx, type, session, source, msg, sz);
	return 1; /* the Lua side owns msg */
}

/* The service's dispatcher, made on first use and kept in the registry
 * for the life of the Lua state. */
static struct dispatcher *dispatcher_of(lua_State *L)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, &dispatcher_key);
	struct dispatcher *d = lua_touserdata(L, -1);
	lua_pop(L, 1);
	if (d)
		return d;
	d = lua_newuserdatauv(L, sizeof(*d), 0);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &dispatcher_key);
	lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
	d->main = lua_tothread(L, -1);
	lua_pop(L, 1);
	d->callback = LUA_NOREF;
	return d;
}

static int lcallback(lua_State *L)
{
	struct skynet_context *ctx = context_of(L);
	int forward = lua_toboolean(L, 2);
	luaL_checktype(L, 1, LUA_TFUNCTION);
	lua_settop(L, 1);
	struct dispatcher *d = dispatcher_of(L);
	if (d->callback == LUA_NOREF)
		d->callback = luaL_ref(L, LUA_REGISTRYINDEX);
	else
		lua_rawseti(L, LUA_REGISTRYINDEX, d->callback);
	skynet_callback(ctx, d, forward ? callback_forward : callback_free);
	return 0;
}

/* An integer argument; checked in full only when it is not one already. */
static lua_Integer integer_arg(lua_State *L, int idx)
{
	int is_integer;
	lua_Integer v = lua_tointegerx(L, idx, &is_integer);
	return is_integer ? v : luaL_checkinteger(L, idx);
}

/* Reads the message argument at index idx: string, pointer+size or nil. */
static void *message_arg(lua_State *L, int idx, int *type, size_t *sz)
{
	switch (lua_type(L, idx)) {
	case LUA_TSTRING: {
		void *msg = (void *)lua_tolstring(L, idx, sz);
		return *sz ? msg : NULL;
	}
	case LUA_TLIGHTUSERDATA:
		*type |= PTYPE_TAG_DONTCOPY;
		*sz = (size_t)integer_arg(L, idx + 1);
		return lua_touserdata(L, idx);
	case LUA_TNIL:
	case LUA_TNONE:
		*sz = 0;
		return NULL;
	}
	luaL_error(L, "invalid message argument type %s", luaL_typename(L, idx));
	return NULL;
}

/* send(dest, type, session, msg [, sz]); arguments start at first. */
static int send_from(lua_State *L, uint32_t source, int first)
{
	struct skynet_context *ctx = context_of(L);
	int type = (int)integer_arg(L, first);
	int session = 0;
	if (lua_isnil(L, first + 1))
		type |= PTYPE_TAG_ALLOCSESSION;
	else
		session = (int)integer_arg(L, first + 1);
	size_t sz;
	void *msg = message_arg(L, first + 2, &type, &sz);
	if (lua_type(L, 1) == LUA_TSTRING)
		session = skynet_sendname(ctx, source, lua_tostring(L, 1), type,
					  session, msg, sz);
	else
		session = skynet_send(ctx, source, (uint32_t)integer_arg(L, 1),
				      type, session, msg, sz);
	if (session < 0)
		return 0; /* no such destination */
	lua_pushinteger(L, session);
	return 1;
}

static int lsend(lua_State *L) { return send_from(L, 0, 2); }

static int lredirect(lua_State *L)
{
	uint32_t source = (uint32_t)luaL_checkinteger(L, 2);
	send_from(L, source, 3);
	return 0;
}

static int lgenid(lua_State *L)
{
	lua_pushinteger(L, skynet_context_newsession(context_of(L)));
	return 1;
}

static const char *command_result(lua_State *L)
{
	const char *cmd = luaL_checkstring(L, 1);
	const char *param = NULL;
	if (lua_type(L, 2) == LUA_TNUMBER || lua_type(L, 2) == LUA_TSTRING)
		param = lua_tostring(L, 2);
	return skynet_command(context_of(L), cmd, param);
}

static int lcommand(lua_State *L)
{
	const char *result = command_result(L);
	if (result == NULL)
		return 0;
	lua_pushstring(L, result);
	return 1;
}

static int lintcommand(lua_State *L)
{
	const char *result = command_result(L);
	if (result == NULL)
		return 0;
	char *end;
	long long n = strtoll(result, &end, 10);
	if (*end == '.')
		lua_pushnumber(L, strtod(result, NULL));
	else
		lua_pushinteger(L, n);
	return 1;
}

static int laddresscommand(lua_State *L)
{
	const char *result = command_result(L);
	if (result == NULL || result[0] != ':')
		return 0;
	lua_pushinteger(L, (lua_Integer)strtoul(result + 1, NULL, 16));
	return 1;
}

static int lerror(lua_State *L)
{
	int n = lua_gettop(L);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
		if (i < n)
			luaL_addchar(&b, ' ');
	}
	luaL_pushresult(&b);
	skynet_error(context_of(L), "%s", lua_tostring(L, -1));
	return 0;
}

static int lharbor(lua_State *L)
{
	int harbor = 0;
	int remote = skynet_isremote(context_of(L),
				     (uint32_t)luaL_checkinteger(L, 1), &harbor);
	lua_pushinteger(L, harbor);
	lua_pushboolean(L, remote);
	return 2;
}

static int lnow(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)skynet_now());
	return 1;
}

static int lhpc(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)skynet_hpc());
	return 1;
}

/* Messages waiting in this service's queue (STAT "mqlen" without the
 * command string: the cluster services ask it for every message). */
static int lmqlen(lua_State *L)
{
	lua_pushinteger(L, skynet_context_mqlen(context_of(L)));
	return 1;
}

static int ltrash(lua_State *L)
{
	if (lua_type(L, 1) == LUA_TLIGHTUSERDATA)
		skynet_free(lua_touserdata(L, 1));
	return 0;
}

static int ltostring(lua_State *L)
{
	if (lua_isnoneornil(L, 1))
		return 0;
	const char *msg = lua_touserdata(L, 1);
	lua_Integer sz = luaL_checkinteger(L, 2);
	lua_pushlstring(L, msg ? msg : "", msg ? (size_t)sz : 0);
	return 1;
}

static int ltrace(lua_State *L)
{
	const char *tag = luaL_checkstring(L, 1);
	const char *event = luaL_checkstring(L, 2);
	const char *info = luaL_optstring(L, 3, "");
	skynet_error(context_of(L), "<TRACE %s> %s %s", tag, event, info);
	return 0;
}

int luaopen_skynet_core(lua_State *L)
{
	luaL_checkversion(L);
	luaL_Reg with_context[] = {
		{ "callback", lcallback },
		{ "send", lsend },
		{ "redirect", lredirect },
		{ "genid", lgenid },
		{ "command", lcommand },
		{ "intcommand", lintcommand },
		{ "addresscommand", laddresscommand },
		{ "error", lerror },
		{ "harbor", lharbor },
		{ "trace", ltrace },
		{ "mqlen", lmqlen },
		{ NULL, NULL },
	};
	luaL_Reg plain[] = {
		{ "now", lnow },
		{ "hpc", lhpc },
		{ "pack", luaseri_pack },
		{ "packstring", luaseri_packstring },
		{ "unpack", luaseri_unpack },
		{ "trash", ltrash },
		{ "tostring", ltostring },
		{ NULL, NULL },
	};
	luaL_newlibtable(L, with_context);
	lua_getfield(L, LUA_REGISTRYINDEX, "skynet_context");
	if (lua_touserdata(L, -1) == NULL)
		return luaL_error(L, "skynet.core: not inside a skynode service");
	luaL_setfuncs(L, with_context, 1);
	luaL_setfuncs(L, plain, 0);
	return 1;
}
