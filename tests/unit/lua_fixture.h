/*
 * lua_fixture.h: runs a test's Lua chunk in a fresh Lua state that holds
 * one Lua C module under test and a few helpers for heap messages.
 */
#ifndef LUA_FIXTURE_H
#define LUA_FIXTURE_H

#include <lua.h>
#include <lauxlib.h>

/*
 * Makes a state with the standard libraries, the module opened by open as
 * the global called module, the globals msgstring(msg, sz) -> the bytes (msg
 * kept) and freemsg(msg) (skynet_free), and the functions of extra (NULL or
 * ending with {NULL, NULL}).  Runs prelude, then chunk, then closes the
 * state; a Lua error fails the current cmocka test with its message.
 */
void lua_fixture_run(const char *module, lua_CFunction open, const luaL_Reg *extra,
                     const char *prelude, const char *chunk);

#endif
