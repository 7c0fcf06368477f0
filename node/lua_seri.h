/*
 * lua_seri.h: skynet's value serialization (the "lua" message protocol).
 *
 * The byte format is described in spec/serialization.md.  The Lua functions
 * are the bodies of skynet.pack / packstring / unpack; the C entries let other
 * C code (cluster codec, harbor) pack and unpack stack values directly.
 * Every function raises a Lua error on failure and never leaks the buffer.
 */
#ifndef SKYNET_LUA_SERI_H
#define SKYNET_LUA_SERI_H

#include <stddef.h>

#include <lua.h>

/* pack(...) -> lightuserdata, size.  The buffer comes from skynet_malloc and
 * belongs to the caller (skynet_free / skynet.trash).  Packing nothing gives
 * a NULL pointer and size 0. */
int luaseri_pack(lua_State *L);

/* packstring(...) -> string holding the same bytes as pack(...). */
int luaseri_packstring(lua_State *L);

/* unpack(ptr, size) or unpack(string) -> every value in the buffer.  nil, no
 * argument or an empty buffer give no values at all.  Never frees ptr. */
int luaseri_unpack(lua_State *L);

/* Packs the stack slots from..to (inclusive, from > to packs nothing).
 * Returns a skynet_malloc'ed buffer and its size in *sz; NULL when *sz is 0. */
void *seri_pack_range(lua_State *L, int from, int to, size_t *sz);

/* Pushes the values held in buf[0..sz) and returns how many it pushed. */
int seri_unpack_buffer(lua_State *L, const void *buf, size_t sz);

#endif
