/*
 * codecache.h: a process-wide cache of compiled Lua chunks, so that each new
 * snlua service loads skynet.lua and the other shared files from bytecode
 * instead of parsing their source again.  Entries are keyed by file path and
 * live as long as the process: files are assumed not to change under a
 * running node.
 */
#ifndef SKYNODE_CODECACHE_H
#define SKYNODE_CODECACHE_H

#include <lua.h>

/* Like luaL_loadfile(L, path): pushes the chunk of the Lua file at path
 * (chunkname "@path") or an error message; returns a LUA_* status. */
int codecache_loadfile(lua_State *L, const char *path);

/* Replaces the Lua-file searcher of `require` (package.searchers[2]) with
 * one that behaves the same but loads through codecache_loadfile. */
void codecache_install_searcher(lua_State *L);

#endif
