/*
 * test_redis_lua.c: the Lua side of the Redis driver: redis.format builds
 * commands the server accepts, and redis.decode reads real replies encoded by
 * coord/redis_wire.c (values, nesting, errors, driver errors, bad input).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "redis_driver.h"
#include "redis_fixture.h"
#include "redis_wire.h"

int luaopen_skynet_coord_redis(lua_State *L);

struct encoded {
	pthread_mutex_t lock;
	pthread_cond_t done;
	int ready;
	char *body;
	size_t sz;
};

static void encode_reply(void *ud, const struct rd_reply *r) {
	struct encoded *e = ud;
	pthread_mutex_lock(&e->lock);
	e->sz = rw_encoded_size(r);
	e->body = malloc(e->sz);
	char *end = rw_encode(r, e->body);
	assert_int_equal((size_t)(end - e->body), e->sz);
	e->ready = 1;
	pthread_cond_signal(&e->done);
	pthread_mutex_unlock(&e->lock);
}

/* Lua: call(cmd [, timeout_ms]) -> the encoded reply as a string. */
static int lcall(lua_State *L) {
	struct rd *rd = lua_touserdata(L, lua_upvalueindex(1));
	size_t len;
	const char *cmd = luaL_checklstring(L, 1, &len);
	struct encoded e = { .lock = PTHREAD_MUTEX_INITIALIZER, .done = PTHREAD_COND_INITIALIZER };
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 3;
	rd_submit(rd, cmd, len, (int)luaL_optinteger(L, 2, 0), encode_reply, &e);
	pthread_mutex_lock(&e.lock);
	while (!e.ready && pthread_cond_timedwait(&e.done, &e.lock, &until) == 0)
		;
	pthread_mutex_unlock(&e.lock);
	if (!e.ready)
		return luaL_error(L, "no reply within 3 s");
	lua_pushlstring(L, e.body, e.sz);
	free(e.body);
	return 1;
}

static const char checks[] =
	"local redis = require 'skynet.coord.redis'\n"
	"local function run(...) return redis.decode(call(redis.format(...))) end\n"
	"assert(redis.format('GET', 'k') == '*2\\r\\n$3\\r\\nGET\\r\\n$1\\r\\nk\\r\\n')\n"
	"assert(run('SET', 'n', 42) == 'OK')\n"
	"assert(run('GET', 'n') == '42')\n"
	"assert(math.type(run('INCR', 'n')) == 'integer' and run('GET', 'n') == '43')\n"
	"assert(run('GET', 'missing') == nil)\n"
	"assert(run('RPUSH', 'l', 'a', 'b\\0c', '') == 3)\n"
	"local l = run('LRANGE', 'l', 0, -1)\n"
	"assert(#l == 3 and l[1] == 'a' and l[2] == 'b\\0c' and l[3] == '')\n"
	"local v, err = run('LPUSH', 'n', 'x')\n"
	"assert(v == nil and err:find('WRONGTYPE'), err)\n"
	"local t = run('EVAL', \"return {1, 'two', {3}, false, redis.error_reply('bad'), redis.status_reply('FINE')}\", 0)\n"
	"assert(t[1] == 1 and t[2] == 'two' and t[3][1] == 3 and t[4] == false, 'eval shape')\n"
	"assert(t[5].err:find('bad') and t[6] == 'FINE', 'eval errors and status')\n"
	"local h = run('HMGET', 'nohash', 'a', 'b')\n"
	"assert(#h == 2 and h[1] == false and h[2] == false)\n"
	"local v2, err2 = redis.decode(call(redis.format('DEBUG', 'SLEEP', '0.3'), 50))\n"
	"assert(v2 == nil and err2 == 'timeout after 50 ms', err2)\n"
	"assert(redis.with_timeout(250, 'X') == '!250\\nX')\n"
	"assert(not pcall(redis.decode, '*\\1\\0\\0\\0'), 'truncated array')\n"
	"assert(not pcall(redis.decode, '$\\9\\0\\0\\0abc'), 'truncated string')\n"
	"assert(not pcall(redis.decode, '_x'), 'stray bytes')\n"
	"assert(not pcall(redis.decode, '?'), 'unknown tag')\n"
	"assert(not pcall(redis.format, 'GET', {}), 'table argument')\n"
	"assert(not pcall(redis.decode, string.rep('*\\1\\0\\0\\0', 100) .. '_'), 'too deep')\n";

static void test_lua_format_and_decode(void **state) {
	(void)state;
	struct redis_fixture f;
	char err[256];
	assert_int_equal(redis_fixture_start(&f, 0, NULL), 0);
	struct rd_config cfg = { .address = f.address };
	struct rd *rd = rd_create(&cfg, err, sizeof err);
	assert_non_null(rd);
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	luaL_requiref(L, "skynet.coord.redis", luaopen_skynet_coord_redis, 0);
	lua_pop(L, 1);
	lua_pushlightuserdata(L, rd);
	lua_pushcclosure(L, lcall, 1);
	lua_setglobal(L, "call");
	int ok = luaL_dostring(L, checks) == LUA_OK;
	char why[512];
	snprintf(why, sizeof why, "%s", ok ? "" : lua_tostring(L, -1));
	lua_close(L);
	rd_destroy(rd);
	redis_fixture_stop(&f);
	if (!ok)
		fail_msg("%s", why);
}

int main(void) {
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lua_format_and_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
