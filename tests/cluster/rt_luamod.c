/*
 * rt_luamod.c: a Lua C module that test_runtime.sh builds and a service
 * loads with require through `lua_cpath`.
 */
#include <lauxlib.h>
#include <lua.h>

static int answer(lua_State *L)
{
	lua_pushinteger(L, 42);
	return 1;
}

int luaopen_rtmod(lua_State *L)
{
	luaL_Reg funcs[] = { { "answer", answer }, { NULL, NULL } };
	luaL_newlib(L, funcs);
	return 1;
}
