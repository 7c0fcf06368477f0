/*
 * lua_fixture.c: see lua_fixture.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "lua_fixture.h"

#include <lualib.h>

#include "skynet.h"

static int lmsgstring(lua_State *L)
{
	const char *msg = lua_touserdata(L, 1);
	lua_pushlstring(L, msg, (size_t)luaL_checkinteger(L, 2));
	return 1;
}

static int lfreemsg(lua_State *L)
{
	skynet_free(lua_touserdata(L, 1));
	return 0;
}

static void register_all(lua_State *L, const luaL_Reg *funcs)
{
	for (; funcs != NULL && funcs->name != NULL; funcs++)
		lua_register(L, funcs->name, funcs->func);
}

void lua_fixture_run(const char *module, lua_CFunction open, const luaL_Reg *extra,
                     const char *prelude, const char *chunk)
{
	static const luaL_Reg message_helpers[] = {
		{"msgstring", lmsgstring},
		{"freemsg", lfreemsg},
		{NULL, NULL},
	};
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	luaL_requiref(L, module, open, 1);
	lua_pop(L, 1);
	register_all(L, message_helpers);
	register_all(L, extra);
	if (luaL_dostring(L, prelude) != LUA_OK || luaL_dostring(L, chunk) != LUA_OK) {
		print_error("%s\n", lua_tostring(L, -1));
		lua_close(L);
		fail();
	}
	lua_close(L);
}
