/*
 * test_codecache.c: unit tests of the code cache (node/codecache.c) and the
 * Lua files built into the binary (node/luaembed.c): a bundled file loads
 * from its built-in dump under the path it was loaded from, with its lines;
 * a file whose text differs by one byte is parsed from that text; a later
 * load of the same path comes from the cache.  Run from the repository root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <lauxlib.h>
#include <lualib.h>

#include "codecache.h"
#include "codecache_embedded.h"

#define BUNDLED "coord/redis_scripts.lua" /* needs no other module */

struct fixture {
	char dir[64];
	char path[128];
	lua_State *L;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof fx->dir, "/tmp/skynode-codecache.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->L = luaL_newstate();
	luaL_openlibs(fx->L);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	lua_close(fx->L);
	if (fx->path[0])
		unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Writes the bundled file to dir/name, with `change` appended (may be ""). */
static void write_copy(struct fixture *fx, const char *name, const char *change)
{
	FILE *in = fopen(BUNDLED, "rb");
	assert_non_null(in);
	snprintf(fx->path, sizeof fx->path, "%s/%s", fx->dir, name);
	FILE *out = fopen(fx->path, "wb");
	assert_non_null(out);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fputs(change, out);
	fclose(in);
	fclose(out);
}

/* Loads fx->path through the cache, checks its chunk name and runs it;
 * leaves the table the file returns on the stack. */
static void load_and_run(struct fixture *fx)
{
	assert_int_equal(codecache_loadfile(fx->L, fx->path), LUA_OK);
	lua_Debug ar;
	lua_pushvalue(fx->L, -1);
	lua_getinfo(fx->L, ">S", &ar);
	assert_true(ar.source[0] == '@');
	assert_string_equal(ar.source + 1, fx->path);
	assert_int_equal(lua_pcall(fx->L, 0, 1, 0), LUA_OK);
	assert_int_equal(lua_type(fx->L, -1), LUA_TTABLE);
}

static int is_bundled(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static char text[1 << 20];
	size_t n = fread(text, 1, sizeof text, f);
	fclose(f);
	for (int i = 0; i < embedded_chunk_count; i++)
		if (embedded_chunks[i].source_size == n &&
		    memcmp(embedded_chunks[i].source, text, n) == 0)
			return 1;
	return 0;
}

/* The largest line with code in the function on top of the stack (popped). */
static int last_active_line(lua_State *L)
{
	lua_Debug ar;
	lua_getinfo(L, ">L", &ar);
	int last = 0;
	lua_pushnil(L);
	while (lua_next(L, -2)) {
		int line = (int)lua_tointeger(L, -2);
		if (line > last)
			last = line;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return last;
}

static void test_bundled_file_loads_under_its_path(void **state)
{
	struct fixture *fx = *state;
	write_copy(fx, "bundled.lua", "");
	assert_true(is_bundled(fx->path));
	assert_int_equal(luaL_loadfile(fx->L, fx->path), LUA_OK);
	int parsed_last = last_active_line(fx->L);
	assert_true(parsed_last > 100);
	assert_int_equal(codecache_loadfile(fx->L, fx->path), LUA_OK);
	lua_pushvalue(fx->L, -1);
	assert_int_equal(last_active_line(fx->L), parsed_last);
	lua_pop(fx->L, 1);
	load_and_run(fx);
}

static void test_changed_file_is_parsed_from_its_text(void **state)
{
	struct fixture *fx = *state;
	write_copy(fx, "changed.lua", "-- one more line\n");
	assert_false(is_bundled(fx->path));
	load_and_run(fx);
	lua_getfield(fx->L, -1, "added_by_test");
	assert_true(lua_isnil(fx->L, -1));
}

static void test_changed_code_runs_as_written(void **state)
{
	struct fixture *fx = *state;
	snprintf(fx->path, sizeof fx->path, "%s/edited.lua", fx->dir);
	FILE *out = fopen(fx->path, "wb");
	assert_non_null(out);
	fputs("return { added_by_test = 42 }\n", out);
	fclose(out);
	load_and_run(fx);
	lua_getfield(fx->L, -1, "added_by_test");
	assert_int_equal(lua_tointeger(fx->L, -1), 42);
	/* a second load of the same path comes from the cache, same result */
	lua_settop(fx->L, 0);
	load_and_run(fx);
	lua_getfield(fx->L, -1, "added_by_test");
	assert_int_equal(lua_tointeger(fx->L, -1), 42);
}

static void test_dump_string_length_matches_lua(void **state)
{
	(void)state;
	unsigned char out[10];
	assert_int_equal(dump_string_length(5, out), 1);
	assert_int_equal(out[0], 0x80 | 6);
	assert_int_equal(dump_string_length(200, out), 2); /* 201 = 1*128 + 73 */
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 0x80 | 73);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bundled_file_loads_under_its_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_file_is_parsed_from_its_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_code_runs_as_written, setup, teardown),
		cmocka_unit_test(test_dump_string_length_matches_lua),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
