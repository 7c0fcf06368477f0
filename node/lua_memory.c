/*
 * lua_memory.c: the Lua module `skynet.memory`: how much memory the node
 * uses.  total() is the bytes held by every service's Lua state, current()
 * this service's, heap() the bytes the C allocator has handed out and not
 * yet had back (a leak shows here even when the resident size hides it).
 */
#include "server.h"

#include <lauxlib.h>
#include <lua.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t snlua_memory_total(void);

static int ltotal(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)snlua_memory_total());
	return 1;
}

static int lcurrent(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)lua_gc(L, LUA_GCCOUNT, 0) * 1024 +
				   lua_gc(L, LUA_GCCOUNTB, 0));
	return 1;
}

/* The size attribute of the element starting with tag after from. */
static long long size_after(const char *from, const char *tag)
{
	const char *at = strstr(from, tag);
	const char *size = at ? strstr(at, "size=\"") : NULL;
	return size ? atoll(size + 6) : 0;
}

/* Bytes in use in every malloc arena: glibc's mallinfo covers only the
 * main arena, so read the totals malloc_info writes after its last heap. */
static long long heap_in_use(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL)
		return -1;
	malloc_info(0, f);
	fclose(f);
	const char *totals = text;
	for (const char *h; (h = strstr(totals, "</heap>")) != NULL;)
		totals = h + 7;
	long long in_use = size_after(totals, "<system type=\"current\"") -
			   size_after(totals, "<total type=\"fast\"") -
			   size_after(totals, "<total type=\"rest\"") +
			   size_after(totals, "<total type=\"mmap\"");
	free(text);
	return in_use;
}

static int lheap(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)heap_in_use());
	return 1;
}

int luaopen_skynet_memory(lua_State *L)
{
	luaL_checkversion(L);
	luaL_Reg funcs[] = {
		{ "total", ltotal },
		{ "current", lcurrent },
		{ "heap", lheap },
		{ NULL, NULL },
	};
	luaL_newlib(L, funcs);
	return 1;
}
