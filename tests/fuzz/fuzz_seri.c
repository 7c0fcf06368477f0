/*
 * fuzz_seri.c: libFuzzer target for the serialization decoder.
 *
 * Unpacks arbitrary bytes in a protected call.  When that succeeds the
 * values must pack again, and the packed bytes must unpack to as many
 * values: anything the decoder accepts is something the encoder can write.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>

#include "lua_checker.h"
#include "lua_seri.h"
#include "skynet.h"

/* (ptr, size) -> the decoded values */
static int unpack_input(lua_State *L)
{
	const void *buf = lua_touserdata(L, 1);
	size_t sz = (size_t)lua_tointeger(L, 2);
	lua_settop(L, 0);
	return seri_unpack_buffer(L, buf, sz);
}

/* values... -> must pack, and unpack back to as many values */
static int repack_values(lua_State *L)
{
	int count = lua_gettop(L);
	size_t sz;
	void *buf = seri_pack_range(L, 1, count, &sz);
	lua_settop(L, 0);
	lua_pushcfunction(L, unpack_input);
	lua_pushlightuserdata(L, buf);
	lua_pushinteger(L, (lua_Integer)sz);
	int status = lua_pcall(L, 2, LUA_MULTRET, 0);
	skynet_free(buf);
	if (status != LUA_OK)
		return lua_error(L);
	if (lua_gettop(L) != count)
		return luaL_error(L, "packed %d values, unpacked %d", count,
		                  lua_gettop(L));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lua_State *L = checker_state(NULL, NULL, NULL, NULL, 0);
	lua_settop(L, 0);
	lua_pushcfunction(L, repack_values);
	lua_pushcfunction(L, unpack_input);
	lua_pushlightuserdata(L, (void *)data);
	lua_pushinteger(L, (lua_Integer)size);
	if (lua_pcall(L, 2, LUA_MULTRET, 0) != LUA_OK) {
		lua_settop(L, 0);
		return 0; /* rejected input: fine */
	}
	if (lua_pcall(L, lua_gettop(L) - 1, 0, 0) != LUA_OK) {
		fprintf(stderr, "decoded input does not round trip: %s\n",
		        lua_tostring(L, -1));
		abort();
	}
	lua_settop(L, 0);
	lua_gc(L, LUA_GCSTEP, 0);
	return 0;
}
