/*
 * builtin.h: the C services and Lua C modules linked into the binary.
 */
#ifndef SKYNET_BUILTIN_H
#define SKYNET_BUILTIN_H

#include <lauxlib.h>
#include <lua.h>

#include "module.h"

/* The built-in C service module of that name, or NULL. */
const struct skynet_module *skynet_builtin_service(const char *name);
/* Puts every built-in Lua C module into package.preload of L. */
void skynet_preload_modules(lua_State *L);

/* Tables the coordinator (coord/coord_modules.c) links in, NULL-terminated. */
extern const struct skynet_module coord_services[];
extern const luaL_Reg coord_lua_modules[];

#endif
