/*
 * config.c: skynet's config format.  A config file is a Lua chunk of
 * `key = value` assignments run in an empty environment, where `$NAME` in
 * the text is replaced by the environment variable NAME first, and
 * `include "file"` runs another file into the same table.  Values become
 * strings in the node's environment; keys the runtime reads are checked
 * for their type, and every error names the file and the key.
 */
#include "config.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

/* The loader: returns the table of keys and the table of the file that
 * set each key.  It runs in a private state with the standard library. */
static const char loader[] =
	"local path = ...\n"
	"local result, origin = {}, {}\n"
	"local current, env\n"
	"local function getenv(name)\n"
	"  local v = os.getenv(name)\n"
	"  if v == nil then\n"
	"    error(current .. ': environment variable $' .. name .. ' is not set', 0)\n"
	"  end\n"
	"  return v\n"
	"end\n"
	"local function locate(name, from)\n"
	"  local f = io.open(name, 'r')\n"
	"  if f or from == nil or name:sub(1, 1) == '/' then return f, name end\n"
	"  local dir = from:match('^(.*/)') or './'\n"
	"  return io.open(dir .. name, 'r'), dir .. name\n"
	"end\n"
	"local function include(name)\n"
	"  local f, file = locate(name, current)\n"
	"  if not f then\n"
	"    error((current and current .. ': ' or '') .. 'cannot open config file ' .. name, 0)\n"
	"  end\n"
	"  local text = f:read('a')\n"
	"  f:close()\n"
	"  local outer = current\n"
	"  current = file\n"
	"  text = text:gsub('%$([%w_]+)', getenv)\n"
	"  local chunk, err = load(text, '@' .. file, 't', env)\n"
	"  if not chunk then error(err, 0) end\n"
	"  chunk()\n"
	"  current = outer\n"
	"end\n"
	"env = setmetatable({}, {\n"
	"  __index = function(_, k)\n"
	"    if k == 'include' then return include end\n"
	"    return result[k]\n"
	"  end,\n"
	"  __newindex = function(_, k, v) result[k] = v; origin[k] = current end,\n"
	"})\n"
	"include(path)\n"
	"return result, origin\n";

enum key_type { KEY_STRING, KEY_INTEGER, KEY_BOOLEAN };

struct known_key {
	const char *name;
	enum key_type type;
};

static const struct known_key known_keys[] = {
	{ "thread", KEY_INTEGER },	   { "harbor", KEY_INTEGER },
	{ "coord_lease_ms", KEY_INTEGER }, { "coord_db", KEY_INTEGER },
	{ "profile", KEY_BOOLEAN },	   { "coord_candidate", KEY_BOOLEAN },
	{ "start", KEY_STRING },	   { "bootstrap", KEY_STRING },
	{ "logger", KEY_STRING },	   { "logservice", KEY_STRING },
	{ "logpath", KEY_STRING },	   { "luaservice", KEY_STRING },
	{ "lua_path", KEY_STRING },	   { "lua_cpath", KEY_STRING },
	{ "cpath", KEY_STRING },	   { "preload", KEY_STRING },
	{ "cluster", KEY_STRING },	   { "coordinator", KEY_STRING },
	{ "coord_redis", KEY_STRING },	   { "coord_password", KEY_STRING },
	{ "coord_prefix", KEY_STRING },	   { "coord_sentinels", KEY_STRING },
	{ "coord_sentinel_master", KEY_STRING },
	{ "nodename", KEY_STRING },	   { "cluster_address", KEY_STRING },
	{ "standalone", KEY_STRING },	   { "master", KEY_STRING },
	{ "address", KEY_STRING },	   { NULL, KEY_STRING },
};

static const char *const type_names[] = { "a string", "an integer",
					  "a boolean" };

static const struct known_key *find_known(const char *key)
{
	for (const struct known_key *k = known_keys; k->name; k++)
		if (strcmp(k->name, key) == 0)
			return k;
	return NULL;
}

static int has_type(lua_State *L, int idx, enum key_type type)
{
	switch (type) {
	case KEY_INTEGER:
		return lua_isinteger(L, idx) ||
		       (lua_type(L, idx) == LUA_TSTRING && lua_isinteger(L, idx));
	case KEY_BOOLEAN:
		return lua_type(L, idx) == LUA_TBOOLEAN;
	case KEY_STRING:
		return lua_type(L, idx) == LUA_TSTRING;
	}
	return 0;
}

/* The value at the top of the stack as text, or NULL if it cannot be. */
static const char *value_text(lua_State *L)
{
	switch (lua_type(L, -1)) {
	case LUA_TSTRING:
		return lua_tostring(L, -1);
	case LUA_TNUMBER:
		return luaL_tolstring(L, -1, NULL);
	case LUA_TBOOLEAN:
		return lua_toboolean(L, -1) ? "true" : "false";
	}
	return NULL;
}

static const char *origin_of(lua_State *L, const char *key, const char *path)
{
	lua_getfield(L, 2, key);
	const char *file = lua_tostring(L, -1);
	lua_pop(L, 1);
	return file ? file : path;
}

/* Checks and applies the pair at the top of the stack (key -2, value -1). */
static int apply_pair(lua_State *L, const char *path, config_setter set,
		      void *ud, char *err, size_t errsz)
{
	if (lua_type(L, -2) != LUA_TSTRING)
		return 0;
	const char *key = lua_tostring(L, -2);
	const struct known_key *known = find_known(key);
	if (known && !has_type(L, -1, known->type)) {
		snprintf(err, errsz, "%s: key `%s` must be %s, not %s",
			 origin_of(L, key, path), key, type_names[known->type],
			 luaL_typename(L, -1));
		return -1;
	}
	int top = lua_gettop(L);
	const char *text = value_text(L);
	if (text == NULL) {
		snprintf(err, errsz, "%s: key `%s` has a %s value; config values "
			 "are strings, numbers or booleans",
			 origin_of(L, key, path), key, luaL_typename(L, -1));
		return -1;
	}
	set(ud, key, text);
	lua_settop(L, top);
	return 0;
}

int config_load(const char *path, config_setter set, void *ud, char *err,
		size_t errsz)
{
	lua_State *L = luaL_newstate();
	if (L == NULL) {
		snprintf(err, errsz, "%s: out of memory", path);
		return -1;
	}
	luaL_openlibs(L);
	int status = -1;
	if (luaL_loadbuffer(L, loader, sizeof(loader) - 1, "=config") != LUA_OK ||
	    (lua_pushstring(L, path), lua_pcall(L, 1, 2, 0)) != LUA_OK) {
		snprintf(err, errsz, "%s", lua_tostring(L, -1));
		goto done;
	}
	/* stack: 1 = result, 2 = origin */
	lua_pushnil(L);
	while (lua_next(L, 1)) {
		if (apply_pair(L, path, set, ud, err, errsz))
			goto done;
		lua_pop(L, 1);
	}
	status = 0;
done:
	lua_close(L);
	return status;
}
