/*
 * config.c: skynet's config format, run in a private lua_State.
 *
 * The file's text has `$NAME` replaced by the environment variable NAME, then
 * runs as a Lua chunk whose environment is a proxy table: reading a global
 * gives a key set earlier (or the `include` function), assigning one checks
 * the value and records it.  Checking at assignment time lets every error
 * carry the file and line of the offending assignment.  When the whole file
 * has run, each key is handed to the caller as text.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lualib.h>

#define MAX_INCLUDE_DEPTH 16

enum value_kind { KIND_ANY, KIND_INTEGER, KIND_BOOLEAN, KIND_STRING };

struct known_key {
	const char *name;
	enum value_kind kind;
};

/* Keys the runtime reads, with the type it expects. */
static const struct known_key known_keys[] = {
	{"thread", KIND_INTEGER},
	{"harbor", KIND_INTEGER},
	{"coord_lease_ms", KIND_INTEGER},
	{"coord_db", KIND_INTEGER},
	{"profile", KIND_BOOLEAN},
	{"coord_candidate", KIND_BOOLEAN},
	{"start", KIND_STRING},
	{"bootstrap", KIND_STRING},
	{"logger", KIND_STRING},
	{"logservice", KIND_STRING},
	{"logpath", KIND_STRING},
	{"luaservice", KIND_STRING},
	{"lua_path", KIND_STRING},
	{"lua_cpath", KIND_STRING},
	{"cpath", KIND_STRING},
	{"preload", KIND_STRING},
	{"cluster", KIND_STRING},
	{"coordinator", KIND_STRING},
	{"coord_redis", KIND_STRING},
	{"coord_password", KIND_STRING},
	{"coord_prefix", KIND_STRING},
	{"coord_sentinels", KIND_STRING},
	{"coord_sentinel_master", KIND_STRING},
	{"nodename", KIND_STRING},
	{"cluster_address", KIND_STRING},
	{"standalone", KIND_STRING},
	{"master", KIND_STRING},
	{"address", KIND_STRING},
};

/* State shared by the C functions of one load. */
struct loader {
	const char *current; /* file being run; a string kept on the stack */
	int depth;           /* include nesting */
	config_setter set;
	void *ud;
};

static enum value_kind kind_of_key(const char *key)
{
	size_t n = sizeof known_keys / sizeof known_keys[0];
	for (size_t i = 0; i < n; i++)
		if (strcmp(known_keys[i].name, key) == 0)
			return known_keys[i].kind;
	return KIND_ANY;
}

/* ------------------------------------------------------------ file text */

/* Pushes the whole file as a string; raises naming the file on failure. */
static void push_file_text(lua_State *L, const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		luaL_error(L, "cannot open config file '%s': %s", path,
		           strerror(errno));
	if (!S_ISREG(st.st_mode))
		luaL_error(L, "config file '%s' is not a regular file", path);
	size_t size = (size_t)st.st_size;
	char *buf = lua_newuserdatauv(L, size + 1, 0); /* no Lua call while open */
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		luaL_error(L, "cannot open config file '%s': %s", path,
		           strerror(errno));
	size_t got = fread(buf, 1, size, f);
	int failed = ferror(f);
	fclose(f);
	if (failed)
		luaL_error(L, "cannot read config file '%s'", path);
	lua_pushlstring(L, buf, got);
	lua_remove(L, -2);
}

static int is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static int line_at(const char *text, const char *at)
{
	int line = 1;
	for (const char *p = text; p < at; p++)
		line += *p == '\n';
	return line;
}

/* Replaces the string on the top by a copy with every $NAME expanded. */
static void expand_variables(lua_State *L, const char *path)
{
	size_t len;
	const char *text = lua_tolstring(L, -1, &len);
	const char *end = text + len;
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (const char *p = text; p < end; p++) {
		const char *name = p + 1;
		const char *name_end = name;
		while (*p == '$' && name_end < end && is_name_char(*name_end))
			name_end++;
		if (name_end == name) {
			luaL_addchar(&b, *p);
			continue;
		}
		lua_pushlstring(L, name, (size_t)(name_end - name));
		const char *value = getenv(lua_tostring(L, -1));
		if (value == NULL)
			luaL_error(L, "%s:%d: environment variable $%s is not defined",
			           path, line_at(text, p), lua_tostring(L, -1));
		lua_pop(L, 1);
		luaL_addstring(&b, value);
		p = name_end - 1;
	}
	luaL_pushresult(&b);
	lua_remove(L, -2);
}

/* Runs the file at path (a string on the stack) in the environment env. */
static void run_file(lua_State *L, struct loader *ld, int env, const char *path)
{
	push_file_text(L, path);
	expand_variables(L, path);
	size_t len;
	const char *text = lua_tolstring(L, -1, &len);
	lua_pushfstring(L, "@%s", path);
	if (luaL_loadbufferx(L, text, len, lua_tostring(L, -1), "t") != LUA_OK)
		lua_error(L);
	lua_pushvalue(L, env);
	lua_setupvalue(L, -2, 1); /* _ENV */
	const char *outer = ld->current;
	ld->current = path;
	lua_call(L, 0, 0);
	ld->current = outer;
	lua_pop(L, 2); /* chunk name, text */
}

/* ------------------------------------------------------------- include */

static int file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Pushes where `name` is: as given (relative to the current directory),
 * else next to the including file. */
static const char *push_include_path(lua_State *L, struct loader *ld,
                                     const char *name)
{
	const char *slash = strrchr(ld->current, '/');
	if (file_exists(name) || name[0] == '/' || slash == NULL)
		return lua_pushstring(L, name);
	lua_pushlstring(L, ld->current, (size_t)(slash - ld->current + 1));
	lua_pushstring(L, name);
	lua_concat(L, 2);
	const char *beside = lua_tostring(L, -1);
	if (!file_exists(beside))
		luaL_error(L, "include '%s': no such file (looked for '%s' and '%s')",
		           name, name, beside);
	return beside;
}

/* include "file": upvalues are the loader and the environment proxy. */
static int config_include(lua_State *L)
{
	struct loader *ld = lua_touserdata(L, lua_upvalueindex(1));
	const char *name = luaL_checkstring(L, 1);
	if (ld->depth >= MAX_INCLUDE_DEPTH)
		return luaL_error(L, "include '%s': includes nested more than %d "
		                  "deep (does a file include itself?)",
		                  name, MAX_INCLUDE_DEPTH);
	const char *path = push_include_path(L, ld, name);
	ld->depth++;
	run_file(L, ld, lua_upvalueindex(2), path);
	ld->depth--;
	return 0;
}

/* -------------------------------------------------- environment proxy */

/* Pushes a short description of the value at idx for error messages. */
static const char *describe(lua_State *L, int idx)
{
	switch (lua_type(L, idx)) {
	case LUA_TSTRING:
		return lua_pushfstring(L, "the string \"%s\"", lua_tostring(L, idx));
	case LUA_TNUMBER:
	case LUA_TBOOLEAN:
		luaL_tolstring(L, idx, NULL);
		lua_pushfstring(L, "the %s %s", luaL_typename(L, idx),
		                lua_tostring(L, -1));
		lua_remove(L, -2);
		return lua_tostring(L, -1);
	default:
		return lua_pushfstring(L, "a %s", luaL_typename(L, idx));
	}
}

static int is_integer_value(lua_State *L, int idx)
{
	int is_int = 0;
	if (lua_type(L, idx) == LUA_TNUMBER || lua_type(L, idx) == LUA_TSTRING)
		lua_tointegerx(L, idx, &is_int);
	return is_int;
}

static int is_boolean_value(lua_State *L, int idx)
{
	if (lua_type(L, idx) == LUA_TBOOLEAN)
		return 1;
	const char *s = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : "";
	return strcmp(s, "true") == 0 || strcmp(s, "false") == 0;
}

static int is_plain_value(lua_State *L, int idx)
{
	int t = lua_type(L, idx);
	return t == LUA_TSTRING || t == LUA_TNUMBER || t == LUA_TBOOLEAN;
}

/* Raises (with the assignment's file and line) if value does not suit key. */
static void check_value(lua_State *L, const char *key, int value)
{
	if (lua_isnil(L, value))
		return;
	switch (kind_of_key(key)) {
	case KIND_INTEGER:
		if (!is_integer_value(L, value))
			luaL_error(L, "key '%s' must be an integer, not %s", key,
			           describe(L, value));
		break;
	case KIND_BOOLEAN:
		if (!is_boolean_value(L, value))
			luaL_error(L, "key '%s' must be a boolean, not %s", key,
			           describe(L, value));
		break;
	case KIND_STRING:
		if (lua_type(L, value) != LUA_TSTRING)
			luaL_error(L, "key '%s' must be a string, not %s", key,
			           describe(L, value));
		break;
	case KIND_ANY:
		if (!is_plain_value(L, value))
			luaL_error(L, "key '%s' is %s; config values must be strings, "
			           "numbers or booleans", key, describe(L, value));
		break;
	}
}

/* __newindex(proxy, key, value): upvalue 1 is the table of keys. */
static int config_assign(lua_State *L)
{
	if (lua_type(L, 2) != LUA_TSTRING)
		return luaL_error(L, "config keys must be names, not %s",
		                  describe(L, 2));
	check_value(L, lua_tostring(L, 2), 3);
	lua_settop(L, 3);
	lua_rawset(L, lua_upvalueindex(1));
	return 0;
}

/* __index(proxy, key): a key set earlier, or include. Upvalues: the table of
 * keys, the include function. */
static int config_lookup(lua_State *L)
{
	lua_settop(L, 2);
	lua_pushvalue(L, 2);
	if (lua_rawget(L, lua_upvalueindex(1)) == LUA_TNIL &&
	    lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "include") == 0)
		lua_pushvalue(L, lua_upvalueindex(2));
	return 1;
}

/* Pushes the proxy table whose reads and writes go to the table at keys. */
static void push_environment(lua_State *L, struct loader *ld, int keys)
{
	lua_newtable(L); /* the proxy */
	int proxy = lua_gettop(L);
	lua_createtable(L, 0, 2);
	lua_pushvalue(L, keys);
	lua_pushcclosure(L, config_assign, 1);
	lua_setfield(L, -2, "__newindex");
	lua_pushvalue(L, keys);
	lua_pushlightuserdata(L, ld);
	lua_pushvalue(L, proxy);
	lua_pushcclosure(L, config_include, 2);
	lua_pushcclosure(L, config_lookup, 2);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, proxy);
}

/* ---------------------------------------------------------------- output */

/* Pushes the value at idx as the text the runtime stores for key. */
static const char *value_text(lua_State *L, const char *key, int idx)
{
	if (kind_of_key(key) == KIND_INTEGER)
		return lua_pushfstring(L, "%I", (lua_Integer)lua_tointeger(L, idx));
	return luaL_tolstring(L, idx, NULL);
}

static void emit_keys(lua_State *L, struct loader *ld, int keys)
{
	lua_pushnil(L);
	while (lua_next(L, keys) != 0) {
		const char *key = lua_tostring(L, -2);
		ld->set(ld->ud, key, value_text(L, key, -1));
		lua_pop(L, 2);
	}
}

/* Protected body: argument 1 is the loader, 2 the config path. */
static int load_protected(lua_State *L)
{
	struct loader *ld = lua_touserdata(L, 1);
	const char *path = lua_tostring(L, 2);
	lua_newtable(L);
	int keys = lua_gettop(L);
	push_environment(L, ld, keys);
	run_file(L, ld, keys + 1, path);
	emit_keys(L, ld, keys);
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
	luaL_openlibs(L); /* string methods; the proxy hides the globals */
	struct loader ld = {.current = path, .depth = 0, .set = set, .ud = ud};
	lua_pushcfunction(L, load_protected);
	lua_pushlightuserdata(L, &ld);
	lua_pushstring(L, path);
	int status = lua_pcall(L, 2, 0, 0);
	if (status != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		snprintf(err, errsz, "%s", msg ? msg : "config raised a non-string error");
	}
	lua_close(L);
	return status == LUA_OK ? 0 : -1;
}
