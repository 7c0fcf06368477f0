/*
 * lua_checker.c: the run-long Lua state and checker calls of the fuzz
 * targets (see lua_checker.h).
 */
#include "lua_checker.h"

#include <lauxlib.h>
#include <lualib.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECKER_KEY "fuzz.checker"

static void die(lua_State *L, const char *what)
{
	fprintf(stderr, "%s: %s\n", what, lua_tostring(L, -1));
	abort();
}

/* peek(msg, n) -> the n bytes at msg, as a string (msg is kept). */
static int lpeek(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TLIGHTUSERDATA);
	lua_pushlstring(L, lua_touserdata(L, 1), (size_t)luaL_checkinteger(L, 2));
	return 1;
}

static void load_checker(lua_State *L, const char *script, const lua_CFunction *args,
                         int nargs)
{
	if (luaL_loadstring(L, script) != LUA_OK)
		die(L, "checker script does not compile");
	for (int i = 0; i < nargs; i++)
		lua_pushcfunction(L, args[i]);
	if (lua_pcall(L, nargs, 1, 0) != LUA_OK)
		die(L, "checker script failed");
	lua_setfield(L, LUA_REGISTRYINDEX, CHECKER_KEY);
}

lua_State *checker_state(const char *module, lua_CFunction open, const char *script,
                         const lua_CFunction *args, int nargs)
{
	static lua_State *L;
	if (L != NULL)
		return L;
	L = luaL_newstate();
	luaL_openlibs(L);
	lua_register(L, "peek", lpeek);
	if (module != NULL) {
		luaL_requiref(L, module, open, 0);
		lua_setfield(L, LUA_REGISTRYINDEX, module);
	}
	if (script != NULL)
		load_checker(L, script, args, nargs);
	return L;
}

void checker_call(lua_State *L, int nargs)
{
	lua_getfield(L, LUA_REGISTRYINDEX, CHECKER_KEY);
	lua_insert(L, -nargs - 1);
	if (lua_pcall(L, nargs, 0, 0) != LUA_OK)
		die(L, "check failed");
	lua_gc(L, LUA_GCCOLLECT);
}

void checker_call_message(lua_State *L, const uint8_t *data, size_t size)
{
	void *msg = malloc(size);
	memcpy(msg, data, size);
	lua_pushlightuserdata(L, msg);
	lua_pushinteger(L, (lua_Integer)size);
	lua_pushlstring(L, (const char *)data, size);
	checker_call(L, 3);
	free(msg);
}
