/*
 * lua_checker.h: the Lua side shared by the fuzz targets.  Each target keeps
 * one Lua state for the whole run, holding the codec module under test and a
 * checker function written in Lua; every input is handed to that checker, and
 * a failed check aborts so libFuzzer records the input.
 */
#ifndef FUZZ_LUA_CHECKER_H
#define FUZZ_LUA_CHECKER_H

#include <lua.h>

#include <stddef.h>
#include <stdint.h>

/*
 * Returns the run's Lua state, made on the first call: standard libraries,
 * the global peek(msg, n) (the n bytes at a lightuserdata, as a string),
 * plus the module opened by open and kept in the registry under module (both
 * may be NULL).  When script is not NULL it is run with the nargs C functions
 * of args as its `...`, and the function it returns becomes the checker.
 */
lua_State *checker_state(const char *module, lua_CFunction open, const char *script,
                         const lua_CFunction *args, int nargs);

/* Calls the checker with the nargs values on top of the stack; aborts with
 * the checker's message when it fails, then collects garbage so that every
 * input leaves the allocations as balanced as it found them. */
void checker_call(lua_State *L, int nargs);

/* Calls the checker with (msg, sz, payload): the input as an exact-size heap
 * message and as a string. */
void checker_call_message(lua_State *L, const uint8_t *data, size_t size);

#endif
