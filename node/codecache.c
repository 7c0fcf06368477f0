/*
 * codecache.c: a process-wide cache of compiled Lua chunks, keyed by path.
 * The first load of a file parses its source and keeps the lua_dump of the
 * result (with debug information, so tracebacks keep line numbers); later
 * loads, from any service, undump that copy.  A file whose text is one of
 * the files built into skynode (codecache_embedded.h) is not parsed at all:
 * its built-in dump, renamed to the path, is used.  The list only grows and its
 * entries never change once published, so readers copy nothing under the
 * lock but the pointer.
 */
#include "codecache.h"
#include "codecache_embedded.h"

#include <lauxlib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cached_chunk {
	struct cached_chunk *next;
	char *path;
	char *code;
	size_t size;
};

static struct cached_chunk *cache_head;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct cached_chunk *find_chunk(const char *path)
{
	pthread_mutex_lock(&cache_lock);
	const struct cached_chunk *c = cache_head;
	while (c && strcmp(c->path, path) != 0)
		c = c->next;
	pthread_mutex_unlock(&cache_lock);
	return c;
}

/* Adds c unless another thread cached the same path first. */
static void publish_chunk(struct cached_chunk *c)
{
	pthread_mutex_lock(&cache_lock);
	const struct cached_chunk *old = cache_head;
	while (old && strcmp(old->path, c->path) != 0)
		old = old->next;
	if (old == NULL) {
		c->next = cache_head;
		cache_head = c;
		c = NULL;
	}
	pthread_mutex_unlock(&cache_lock);
	if (c) {
		free(c->path);
		free(c->code);
		free(c);
	}
}

struct dump_buffer {
	char *data;
	size_t size, cap;
	int failed;
};

static int append_dump(lua_State *L, const void *p, size_t sz, void *ud)
{
	(void)L;
	struct dump_buffer *b = ud;
	if (b->size + sz > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->size + sz)
			cap *= 2;
		char *data = realloc(b->data, cap);
		if (data == NULL) {
			b->failed = 1;
			return 1;
		}
		b->data = data;
		b->cap = cap;
	}
	memcpy(b->data + b->size, p, sz);
	b->size += sz;
	return 0;
}

/* Caches the dump of the function on top of the stack; a failure only
 * means the next load parses the source again. */
static void remember_chunk(lua_State *L, const char *path)
{
	struct dump_buffer b = {NULL, 0, 0, 0};
	struct cached_chunk *c = malloc(sizeof(*c));
	char *key = strdup(path);
	if (c && key && lua_dump(L, append_dump, &b, 0) == 0 && !b.failed) {
		c->path = key;
		c->code = b.data;
		c->size = b.size;
		publish_chunk(c);
		return;
	}
	free(b.data);
	free(key);
	free(c);
}

/* The whole file at path (NULL if it cannot be read); *size its length. */
static char *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *text = NULL;
	if (fseek(f, 0, SEEK_END) == 0) {
		long n = ftell(f);
		text = n >= 0 ? malloc((size_t)n + 1) : NULL;
		rewind(f);
		if (text && fread(text, 1, (size_t)n, f) != (size_t)n) {
			free(text);
			text = NULL;
		}
		*size = (size_t)n;
	}
	fclose(f);
	return text;
}

static const struct embedded_chunk *find_embedded(const char *text, size_t size)
{
	for (int i = 0; i < embedded_chunk_count; i++) {
		const struct embedded_chunk *e = &embedded_chunks[i];
		if (e->source_size == size && memcmp(e->source, text, size) == 0)
			return e;
	}
	return NULL;
}

/* The dump of e with its chunk name replaced by "@path"; *size its length. */
static char *renamed_dump(const struct embedded_chunk *e, const char *path,
			  size_t *size)
{
	size_t path_len = strlen(path);
	char *code = malloc(e->dump_size - e->name_size + 10 + 1 + path_len);
	if (code == NULL)
		return NULL;
	size_t n = e->name_at;
	memcpy(code, e->dump, n);
	n += dump_string_length(path_len + 1, (unsigned char *)code + n);
	code[n++] = '@';
	memcpy(code + n, path, path_len);
	n += path_len;
	size_t rest = e->dump_size - e->name_at - e->name_size;
	memcpy(code + n, e->dump + e->name_at + e->name_size, rest);
	*size = n + rest;
	return code;
}

/* Loads path from its built-in dump and caches it; returns -1 (nothing
 * pushed) when the file is not one of the built-in ones. */
static int load_embedded(lua_State *L, const char *path)
{
	size_t size = 0;
	char *text = read_file(path, &size);
	const struct embedded_chunk *e = text ? find_embedded(text, size) : NULL;
	free(text);
	struct cached_chunk *c = e ? malloc(sizeof(*c)) : NULL;
	if (c == NULL)
		return -1;
	c->code = renamed_dump(e, path, &c->size);
	c->path = strdup(path);
	lua_pushfstring(L, "@%s", path);
	int r = c->code && c->path
		? luaL_loadbufferx(L, c->code, c->size, lua_tostring(L, -1), "b")
		: -1;
	if (r == LUA_OK) {
		lua_remove(L, -2);
		publish_chunk(c);
		return r;
	}
	lua_settop(L, lua_gettop(L) - (r == -1 ? 1 : 2));
	free(c->code);
	free(c->path);
	free(c);
	return -1;
}

int codecache_loadfile(lua_State *L, const char *path)
{
	const struct cached_chunk *c = find_chunk(path);
	if (c) {
		lua_pushfstring(L, "@%s", path);
		int r = luaL_loadbufferx(L, c->code, c->size, lua_tostring(L, -1), "b");
		lua_remove(L, -2);
		return r;
	}
	int r = load_embedded(L, path);
	if (r != -1)
		return r;
	r = luaL_loadfile(L, path);
	if (r == LUA_OK)
		remember_chunk(L, path);
	return r;
}

/* require's Lua-file searcher: (name) -> loader, file | message.  The
 * package table is upvalue 1. */
static int search_lua_file(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	lua_getfield(L, lua_upvalueindex(1), "searchpath");
	lua_pushvalue(L, 1);
	if (lua_getfield(L, lua_upvalueindex(1), "path") != LUA_TSTRING)
		return luaL_error(L, "'package.path' must be a string");
	lua_call(L, 2, 2);
	if (lua_isnil(L, -2))
		return 1; /* the list of files tried */
	const char *file = lua_tostring(L, -2);
	if (codecache_loadfile(L, file) != LUA_OK)
		return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s",
				  name, file, lua_tostring(L, -1));
	lua_pushstring(L, file);
	return 2;
}

void codecache_install_searcher(lua_State *L)
{
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "searchers");
	lua_pushvalue(L, -2);
	lua_pushcclosure(L, search_lua_file, 1);
	lua_rawseti(L, -2, 2);
	lua_pop(L, 2);
}
