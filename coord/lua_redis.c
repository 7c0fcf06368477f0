/*
 * lua_redis.c: the Lua module skynet.coord.redis, the Lua half of the
 * redisdrv service protocol.
 *
 *   redis.format(...)             -> RESP command string from strings/numbers
 *   redis.with_timeout(ms, cmd)   -> cmd carrying its own timeout for redisdrv
 *   redis.decode(msg, sz) / redis.decode(str)
 *       -> the reply as a Lua value, or nil, errortext
 *
 * Decoded values: bulk string -> string, status -> string ("OK", "PONG"),
 * integer -> integer, nil -> nil, array -> sequence table.  Inside an array a
 * nil becomes false and an error reply becomes { err = text }.  At the top
 * level an error reply or a driver error (timeout, unreachable, connection
 * lost, driver stopped) gives nil, errortext.
 */
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "redis_wire.h"

#define MAX_DEPTH 64

/* ---- format ----------------------------------------------------------- */

static void add_bulk(luaL_Buffer *b, const char *s, size_t len) {
	lua_pushfstring(b->L, "$%d\r\n", (int)len);
	luaL_addvalue(b);
	luaL_addlstring(b, s, len);
	luaL_addlstring(b, "\r\n", 2);
}

static int lformat(lua_State *L) {
	int n = lua_gettop(L);
	luaL_Buffer b;
	if (n == 0)
		return luaL_error(L, "redis.format: no command given");
	for (int i = 1; i <= n; i++) {
		int t = lua_type(L, i);
		if (t != LUA_TSTRING && t != LUA_TNUMBER)
			return luaL_error(L, "redis.format: argument #%d is a %s (string or number expected)",
			                  i, luaL_typename(L, i));
	}
	luaL_buffinit(L, &b);
	lua_pushfstring(L, "*%d\r\n", n);
	luaL_addvalue(&b);
	for (int i = 1; i <= n; i++) {
		size_t len;
		const char *s = lua_tolstring(L, i, &len); /* numbers become strings in place */
		add_bulk(&b, s, len);
	}
	luaL_pushresult(&b);
	return 1;
}

static int lwith_timeout(lua_State *L) {
	lua_Integer ms = luaL_checkinteger(L, 1);
	luaL_checkstring(L, 2);
	luaL_argcheck(L, ms > 0 && ms <= INT32_MAX, 1, "timeout must be a positive number of ms");
	lua_pushfstring(L, "!%d\n", (int)ms);
	lua_pushvalue(L, 2);
	lua_concat(L, 2);
	return 1;
}

/* ---- decode ----------------------------------------------------------- */

struct reader {
	const unsigned char *p, *end;
};

static int truncated(lua_State *L) {
	return luaL_error(L, "redis.decode: truncated or corrupt reply");
}

static uint64_t get_bytes(lua_State *L, struct reader *r, int n) {
	uint64_t v = 0;
	if (r->end - r->p < n)
		truncated(L);
	for (int i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	return v;
}

static const char *get_text(lua_State *L, struct reader *r, size_t *len) {
	*len = (size_t)get_bytes(L, r, 4);
	if ((size_t)(r->end - r->p) < *len)
		truncated(L);
	const char *s = (const char *)r->p;
	r->p += *len;
	return s;
}

/* Pushes one value; returns its tag. */
static int push_value(lua_State *L, struct reader *r, int depth) {
	size_t len;
	const char *s;
	int tag = (int)get_bytes(L, r, 1);
	switch (tag) {
	case RW_STATUS:
	case RW_STRING:
	case RW_ERROR:
	case RW_DRIVER_ERROR:
		s = get_text(L, r, &len);
		lua_pushlstring(L, s, len);
		return tag;
	case RW_INTEGER:
		lua_pushinteger(L, (lua_Integer)get_bytes(L, r, 8));
		return tag;
	case RW_NIL:
		lua_pushnil(L);
		return tag;
	case RW_ARRAY: {
		uint32_t n = (uint32_t)get_bytes(L, r, 4);
		if (depth >= MAX_DEPTH)
			return luaL_error(L, "redis.decode: reply nested deeper than %d", MAX_DEPTH);
		if (n > (uint32_t)(r->end - r->p))
			truncated(L); /* every element takes at least one byte */
		luaL_checkstack(L, 4, "redis.decode");
		lua_createtable(L, (int)n, 0);
		for (uint32_t i = 1; i <= n; i++) {
			int t = push_value(L, r, depth + 1);
			if (t == RW_NIL) {
				lua_pop(L, 1);
				lua_pushboolean(L, 0);
			} else if (t == RW_ERROR || t == RW_DRIVER_ERROR) {
				lua_createtable(L, 0, 1);
				lua_insert(L, -2);
				lua_setfield(L, -2, "err");
			}
			lua_rawseti(L, -2, (lua_Integer)i);
		}
		return tag;
	}
	default:
		return truncated(L);
	}
}

static int ldecode(lua_State *L) {
	struct reader r;
	size_t sz;
	if (lua_type(L, 1) == LUA_TSTRING) {
		r.p = (const unsigned char *)lua_tolstring(L, 1, &sz);
	} else {
		luaL_checktype(L, 1, LUA_TLIGHTUSERDATA);
		r.p = lua_touserdata(L, 1);
		sz = (size_t)luaL_checkinteger(L, 2);
	}
	r.end = r.p + sz;
	int tag = push_value(L, &r, 0);
	if (r.p != r.end)
		return luaL_error(L, "redis.decode: %d stray bytes after the reply", (int)(r.end - r.p));
	if (tag == RW_ERROR || tag == RW_DRIVER_ERROR) {
		lua_pushnil(L);
		lua_insert(L, -2);
		return 2;
	}
	return 1;
}

int luaopen_skynet_coord_redis(lua_State *L) {
	static const luaL_Reg functions[] = {
		{ "format", lformat },
		{ "with_timeout", lwith_timeout },
		{ "decode", ldecode },
		{ NULL, NULL },
	};
	luaL_checkversion(L);
	luaL_newlib(L, functions);
	return 1;
}
