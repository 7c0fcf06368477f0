/*
 * test_netpack.c: unit tests of the gate's packet framing (skynet.netpack,
 * node/lua_netpack.c).  Socket messages are built the way the socket
 * thread builds them; each test runs a Lua chunk in a fresh state.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include <string.h>

#include "lua_fixture.h"
#include "skynet.h"
#include "skynet_socket.h"

int luaopen_skynet_netpack(lua_State *L);

/*
 * sockmsg(type, id, ud, data) -> msg, sz.  For DATA, data is copied to a
 * heap buffer (ud is its size); otherwise it is text after the struct.
 */
static int lsockmsg(lua_State *L)
{
	int type = (int)luaL_checkinteger(L, 1);
	size_t len = 0;
	const char *data = luaL_optlstring(L, 4, "", &len);
	int is_data = type == SKYNET_SOCKET_TYPE_DATA;
	size_t sz = sizeof(struct skynet_socket_message) + (is_data ? 0 : len + 1);
	struct skynet_socket_message *m = skynet_malloc(sz);
	m->type = type;
	m->id = (int)luaL_checkinteger(L, 2);
	m->ud = is_data ? (int)len : (int)luaL_optinteger(L, 3, 0);
	m->buffer = NULL;
	if (is_data) {
		m->buffer = skynet_malloc(len);
		memcpy(m->buffer, data, len);
	} else {
		memcpy(m + 1, data, len + 1);
	}
	lua_pushlightuserdata(L, m);
	lua_pushinteger(L, (lua_Integer)sz);
	return 2;
}

static const char prelude[] =
	"DATA, ACCEPT, CLOSE, ERROR, WARNING, CONNECT = 1, 4, 3, 5, 7, 2\n"
	"function eq(got, want, what)\n"
	"  if got ~= want then\n"
	"    local g, w = tostring(got), tostring(want)\n"
	"    error(string.format('%s: want %s, got %s', what or '?', w:sub(1, 60), g:sub(1, 60)), 2)\n"
	"  end\n"
	"end\n"
	"function frame(s) return string.pack('>s2', s) end\n"
	"function bytes(n, seed) local t = {} for i = 1, n do t[i] = string.char((i * 13 + (seed or 0)) % 256) end return table.concat(t) end\n"
	"function event(q, type, id, ud, data)\n"
	"  local m, sz = sockmsg(type, id, ud, data)\n"
	"  local r = table.pack(netpack.filter(q, m, sz))\n"
	"  freemsg(m)\n"
	"  return r\n"
	"end\n"
	/* feed one read; completed packets go to got as { fd, bytes } */
	"function feed(q, fd, chunk, got)\n"
	"  local r = event(q, DATA, fd, nil, chunk)\n"
	"  q = r[1]\n"
	"  if r[2] == 'data' then\n"
	"    eq(r.n, 5, 'data values') got[#got + 1] = { r[3], netpack.tostring(r[4], r[5]) }\n"
	"  elseif r[2] == 'more' then\n"
	"    for fd, msg, sz in netpack.pop, q do got[#got + 1] = { fd, netpack.tostring(msg, sz) } end\n"
	"  else\n"
	"    eq(r.n, 1, 'nothing completed')\n"
	"  end\n"
	"  return q, r[2]\n"
	"end\n"
	"function check(got, want)\n"
	"  eq(#got, #want, 'packet count')\n"
	"  for i = 1, #want do\n"
	"    eq(got[i][1], want[i][1], 'fd of ' .. i) eq(got[i][2], want[i][2], 'packet ' .. i)\n"
	"  end\n"
	"end\n";

static void run_lua(const char *chunk)
{
	static const luaL_Reg helpers[] = {
		{"sockmsg", lsockmsg},
		{NULL, NULL},
	};
	lua_fixture_run("netpack", luaopen_skynet_netpack, helpers, prelude, chunk);
}

static void test_one_packet_per_read(void **state)
{
	(void)state;
	run_lua(
		"local got = {}\n"
		"local q, ev = feed(nil, 5, frame('hello'), got)\n"
		"eq(type(q), 'userdata', 'queue created') eq(ev, 'data')\n"
		"local q2, ev2 = feed(q, 5, frame(''), got)\n"
		"eq(q2, q, 'same queue') eq(ev2, 'data', 'empty packet')\n"
		"check(got, { { 5, 'hello' }, { 5, '' } })\n");
}

static void test_many_packets_per_read(void **state)
{
	(void)state;
	run_lua(
		"local big = bytes(65535)\n"
		"local stream = frame('a') .. frame('') .. frame(big) .. frame('bc')\n"
		"local got = {}\n"
		"local q, ev = feed(nil, 7, stream, got)\n"
		"eq(ev, 'more')\n"
		"check(got, { { 7, 'a' }, { 7, '' }, { 7, big }, { 7, 'bc' } })\n"
		"eq(netpack.pop(q), nil, 'drained')\n"
		/* a read ending with a partial packet: one packet completed */
		"got = {}\n"
		"q, ev = feed(q, 7, frame('xy') .. string.sub(frame('zzz'), 1, 3), got)\n"
		"eq(ev, 'data') check(got, { { 7, 'xy' } })\n"
		"q, ev = feed(q, 7, 'zz' .. frame('w'), got)\n"
		"eq(ev, 'more') check(got, { { 7, 'xy' }, { 7, 'zzz' }, { 7, 'w' } })\n");
}

static void test_byte_at_a_time(void **state)
{
	(void)state;
	run_lua(
		"local packets = { 'first', '', bytes(65535, 1), bytes(300, 2), 'x' }\n"
		"local stream = ''\n"
		"for _, p in ipairs(packets) do stream = stream .. frame(p) end\n"
		"local got, q = {}\n"
		"for i = 1, #stream do\n"
		"  local ev\n"
		"  q, ev = feed(q, 3, stream:sub(i, i), got)\n"
		"  if ev then eq(ev, 'data', 'one at a time') end\n"
		"end\n"
		"local want = {}\n"
		"for i, p in ipairs(packets) do want[i] = { 3, p } end\n"
		"check(got, want)\n");
}

static void test_header_split(void **state)
{
	(void)state;
	run_lua(
		"local body = bytes(258)\n"
		"local f = frame(body)\n"
		"local got = {}\n"
		"local q, ev = feed(nil, 9, f:sub(1, 1), got)\n"
		"eq(ev, nil, 'half header')\n"
		"q, ev = feed(q, 9, f:sub(2, 2), got)\n"
		"eq(ev, nil, 'header only')\n"
		"q, ev = feed(q, 9, f:sub(3), got)\n"
		"eq(ev, 'data') check(got, { { 9, body } })\n"
		/* split after one header byte, rest plus a full packet */
		"got = {}\n"
		"local two = frame('abc') .. frame('de')\n"
		"q = feed(q, 9, two:sub(1, 1), got)\n"
		"q, ev = feed(q, 9, two:sub(2), got)\n"
		"eq(ev, 'more') check(got, { { 9, 'abc' }, { 9, 'de' } })\n"
		/* a zero length packet whose header is split */
		"got = {}\n"
		"q = feed(q, 9, '\\0', got)\n"
		"q, ev = feed(q, 9, '\\0', got)\n"
		"eq(ev, 'data') check(got, { { 9, '' } })\n");
}

/* Random chunking of several sockets' streams, interleaved. */
static void test_interleaved_sockets(void **state)
{
	(void)state;
	run_lua(
		"math.randomseed(42)\n"
		"local fds, streams, want, pos = { 1, 65, 129, 2 }, {}, {}, {}\n"
		"for _, fd in ipairs(fds) do\n"
		"  local s = ''\n"
		"  want[fd] = {}\n"
		"  for i = 1, 40 do\n"
		"    local n = math.random(0, 3) == 0 and math.random(0, 65535) or math.random(0, 40)\n"
		"    local p = bytes(n, fd + i)\n"
		"    want[fd][i] = p\n"
		"    s = s .. frame(p)\n"
		"  end\n"
		"  streams[fd], pos[fd] = s, 1\n"
		"end\n"
		"local got, q = {}\n"
		"local left = #fds\n"
		"while left > 0 do\n"
		"  local fd = fds[math.random(#fds)]\n"
		"  local s, p = streams[fd], pos[fd]\n"
		"  if p <= #s then\n"
		"    local n = math.random(1, math.random(0, 1) == 0 and 5 or 70000)\n"
		"    q = feed(q, fd, s:sub(p, p + n - 1), got)\n"
		"    pos[fd] = p + n\n"
		"    if pos[fd] > #s then left = left - 1 end\n"
		"  end\n"
		"end\n"
		"local seen = {}\n"
		"for _, g in ipairs(got) do\n"
		"  local fd = g[1]\n"
		"  seen[fd] = (seen[fd] or 0) + 1\n"
		"  eq(g[2], want[fd][seen[fd]], 'packet ' .. seen[fd] .. ' of fd ' .. fd)\n"
		"end\n"
		"for _, fd in ipairs(fds) do eq(seen[fd], 40, 'count of fd ' .. fd) end\n");
}

static void test_events(void **state)
{
	(void)state;
	run_lua(
		"local r = event(nil, ACCEPT, 1, 12, '127.0.0.1:4000')\n"
		"local q = r[1]\n"
		"eq(r[2], 'open') eq(r[3], 12) eq(r[4], '127.0.0.1:4000') eq(r.n, 4)\n"
		"r = event(q, WARNING, 12, 1024)\n"
		"eq(r[2], 'warning') eq(r[3], 12) eq(r[4], 1024)\n"
		"r = event(q, CONNECT, 1, 0, 'start')\n"
		"eq(r.n, 1, 'connect ignored')\n"
		/* a partial packet is dropped on close; the fd starts afresh */
		"local got = {}\n"
		"feed(q, 12, string.sub(frame('abcdef'), 1, 4), got)\n"
		"r = event(q, CLOSE, 12)\n"
		"eq(r[2], 'close') eq(r[3], 12) eq(r.n, 3)\n"
		"feed(q, 12, frame('new'), got)\n"
		"check(got, { { 12, 'new' } })\n"
		"feed(q, 12, '\\1', got)\n"
		"r = event(q, ERROR, 12, 0, 'connection reset')\n"
		"eq(r[2], 'error') eq(r[3], 12) eq(r[4], 'connection reset')\n"
		"feed(q, 12, frame('again'), got)\n"
		"check(got, { { 12, 'new' }, { 12, 'again' } })\n");
}

/* clear and garbage collection free queued and partial packets. */
static void test_clear(void **state)
{
	(void)state;
	run_lua(
		"local q = event(nil, DATA, 1, nil, frame('a') .. frame('b') .. '\\0\\9abc')[1]\n"
		"event(q, DATA, 2, nil, '\\1')\n"
		"event(q, DATA, 3, nil, frame('c') .. '\\0')\n"
		"netpack.clear(q)\n"
		"eq(netpack.pop(q), nil, 'cleared')\n"
		"local got = {}\n"
		"feed(q, 1, frame('fresh'), got)\n"
		"check(got, { { 1, 'fresh' } })\n"
		"event(q, DATA, 1, nil, frame('x') .. frame('y') .. '\\0')\n"
		"q = nil\n"
		"collectgarbage()\n"
		"netpack.clear(nil)\n");
}

static void test_pack_and_tostring(void **state)
{
	(void)state;
	run_lua(
		"local m, sz = netpack.pack('abc')\n"
		"eq(sz, 5) eq(msgstring(m, sz), '\\0\\3abc') freemsg(m)\n"
		"m, sz = netpack.pack(bytes(65535))\n"
		"eq(sz, 65537) eq(msgstring(m, 2), '\\255\\255') freemsg(m)\n"
		"m, sz = netpack.pack('')\n"
		"eq(sz, 2) eq(msgstring(m, 2), '\\0\\0') freemsg(m)\n"
		"local ok, err = pcall(netpack.pack, bytes(65536))\n"
		"eq(ok, false) assert(err:find('too long'), err)\n"
		"local src = netpack.pack('hello')\n"
		"m, sz = netpack.pack(src, 7)\n"
		"eq(sz, 9) eq(msgstring(m, sz), '\\0\\7\\0\\5hello', 'from a message')\n"
		"eq(netpack.tostring(m, sz), '\\0\\7\\0\\5hello', 'tostring frees')\n"
		"eq(netpack.tostring(src, 7), '\\0\\5hello')\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_packet_per_read),
		cmocka_unit_test(test_many_packets_per_read),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_header_split),
		cmocka_unit_test(test_interleaved_sockets),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_pack_and_tostring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
