/*
 * test_cluster_codec.c: unit tests of the cluster codec (skynet.cluster.core,
 * node/lua_cluster.c) against the worked examples and edge cases of
 * spec/cluster-protocol.md.  Each test runs a Lua chunk in a fresh state
 * where `cluster` is the module and a few helpers build heap messages.
 * A large message is packed into one heap buffer: frames() cuts its bytes
 * back into packets.
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
#include <unistd.h>

#include "lua_fixture.h"
#include "skynet.h"

int luaopen_skynet_cluster_core(lua_State *L);

/* newmsg(str) -> msg, sz: a heap copy of str, as the runtime would give. */
static int lnewmsg(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	void *msg = skynet_malloc(len);
	memcpy(msg, s, len);
	lua_pushlightuserdata(L, msg);
	lua_pushinteger(L, (lua_Integer)len);
	return 2;
}

static const char prelude[] =
	"function hex(s)\n"
	"  return (s:gsub('.', function(c) return string.format('%02x ', c:byte()) end):sub(1, -2))\n"
	"end\n"
	"function unhex(h)\n"
	"  return (h:gsub('[^%x]', ''):gsub('..', function(x) return string.char(tonumber(x, 16)) end))\n"
	"end\n"
	"function eq(got, want, what)\n"
	"  if got ~= want then\n"
	"    error(string.format('%s: want %s, got %s', what or '?', tostring(want), tostring(got)), 2)\n"
	"  end\n"
	"end\n"
	"function raises(pattern, f, ...)\n"
	"  local ok, err = pcall(f, ...)\n"
	"  if ok then error('no error, wanted ' .. pattern, 2) end\n"
	"  if not tostring(err):find(pattern, 1, true) then error('wrong error: ' .. tostring(err), 2) end\n"
	"end\n"
	"function bytes(n, seed) local t = {} for i = 1, n do t[i] = string.char((i * 7 + (seed or 0)) % 251) end return table.concat(t) end\n"
	"function frames(m, size)\n"
	"  local s = msgstring(m, size) freemsg(m)\n"
	"  local list, pos = {}, 1\n"
	"  while pos <= #s do\n"
	"    local len = string.unpack('>I2', s, pos)\n"
	"    list[#list + 1] = s:sub(pos, pos + 1 + len)\n"
	"    pos = pos + 2 + len\n"
	"  end\n"
	"  return list\n"
	"end\n";

static void run_lua(const char *chunk)
{
	static const luaL_Reg helpers[] = {
		{"newmsg", lnewmsg},
		{NULL, NULL},
	};
	lua_fixture_run("cluster", luaopen_skynet_cluster_core, helpers, prelude, chunk);
}

/* Example A, both as a string body and as a heap message. */
static void test_call_by_name(void **state)
{
	(void)state;
	run_lua(
		"local body = unhex'1c 47 45 54 0c 61'\n"
		"local want = '00 10 80 04 40 73 64 62 01 00 00 00 1c 47 45 54 0c 61'\n"
		"local p, nxt, parts = cluster.packrequest('@sdb', 1, body)\n"
		"eq(hex(p), want, 'string body') eq(nxt, 2, 'next') eq(parts, nil, 'parts')\n"
		"p, nxt, parts = cluster.packrequest('@sdb', 1, newmsg(body))\n"
		"eq(hex(p), want, 'msg body') eq(nxt, 2, 'next')\n"
		"local addr, session, msg, sz, padding, push = cluster.unpackrequest(p:sub(3))\n"
		"eq(addr, '@sdb', 'addr') eq(session, 1, 'session') eq(msg, body, 'body')\n"
		"eq(sz, 6, 'size') eq(padding, false, 'padding') eq(push, false, 'push')\n");
}

/* Examples B and C: pushes carry session 0 and use no session. */
static void test_push(void **state)
{
	(void)state;
	run_lua(
		"local p, nxt = cluster.packpush('@sdb', 9, unhex'24 50 49 4e 47 0c 78')\n"
		"eq(hex(p), '00 11 80 04 40 73 64 62 00 00 00 00 24 50 49 4e 47 0c 78', 'B')\n"
		"eq(nxt, 9, 'single push keeps the session')\n"
		"local addr, session, msg, sz, padding, push = cluster.unpackrequest(p:sub(3))\n"
		"eq(addr, '@sdb') eq(session, 0) eq(sz, 7) eq(padding, false) eq(push, true, 'is_push')\n"
		"p = cluster.packpush(8, 1, newmsg(unhex'0a 01'))\n"
		"eq(hex(p), '00 0b 00 08 00 00 00 00 00 00 00 0a 01', 'C')\n"
		"addr, session, msg, sz, padding, push = cluster.unpackrequest(p:sub(3))\n"
		"eq(addr, 8) eq(session, 0) eq(hex(msg), '0a 01') eq(push, true)\n");
}

/* Examples D and G (request side). */
static void test_call_by_number(void **state)
{
	(void)state;
	run_lua(
		"local p, nxt = cluster.packrequest(0x0100000a, 7, unhex'24 70 69 6e 67')\n"
		"eq(hex(p), '00 0e 00 0a 00 00 01 07 00 00 00 24 70 69 6e 67', 'D') eq(nxt, 8)\n"
		"local addr, session, msg, sz, padding, push = cluster.unpackrequest(p:sub(3))\n"
		"eq(addr, 0x0100000a) eq(session, 7) eq(hex(msg), '24 70 69 6e 67') eq(sz, 5)\n"
		"eq(padding, false) eq(push, false)\n"
		"p = cluster.packrequest(0, 2, unhex'1c 73 64 62')\n"
		"eq(hex(p), '00 0d 00 00 00 00 00 02 00 00 00 1c 73 64 62', 'G request')\n"
		"local m, s = newmsg(p:sub(3))\n"
		"addr, session, msg = cluster.unpackrequest(m, s)\n"
		"freemsg(m)\n"
		"eq(addr, 0) eq(session, 2) eq(hex(msg), '1c 73 64 62')\n");
}

/* Examples E, F and G (response side). */
static void test_single_responses(void **state)
{
	(void)state;
	run_lua(
		"local p = cluster.packresponse(1, true, unhex'34 66 6f 6f 62 61 72')\n"
		"eq(hex(p), '00 0c 01 00 00 00 01 34 66 6f 6f 62 61 72', 'E')\n"
		"local session, ok, data, padding = cluster.unpackresponse(p:sub(3))\n"
		"eq(session, 1) eq(ok, true) eq(hex(data), '34 66 6f 6f 62 61 72') eq(padding, false)\n"
		"p = cluster.packresponse(1, false, 'Invalid name')\n"
		"eq(hex(p), '00 11 01 00 00 00 00 49 6e 76 61 6c 69 64 20 6e 61 6d 65', 'F')\n"
		"session, ok, data, padding = cluster.unpackresponse(p:sub(3))\n"
		"eq(session, 1) eq(ok, false) eq(data, 'Invalid name') eq(padding, false)\n"
		"local m, sz = newmsg(unhex'0a 10')\n"
		"p = cluster.packresponse(2, true, m, sz)\n"
		"eq(msgstring(m, sz), unhex'0a 10', 'msg untouched') freemsg(m)\n"
		"eq(hex(p), '00 07 02 00 00 00 01 0a 10', 'G response')\n"
		"p = cluster.packresponse(3, false, {})\n"
		"eq(p:sub(8, 13), 'table:', 'non-string error uses tostring')\n"
		"p = cluster.packresponse(4, true)\n"
		"eq(hex(p), '00 05 04 00 00 00 01', 'empty ok')\n");
}

/* Example H: a 64 KiB call in two pieces, then reassembled; the pieces
 * of a heap payload point into it. */
static void test_multi_call(void **state)
{
	(void)state;
	run_lua(
		"local body = bytes(65536)\n"
		"local m, nxt, size = cluster.packrequest(0x10, 3, newmsg(body))\n"
		"eq(type(m), 'userdata', 'one heap buffer') eq(nxt, 4) eq(size, 15 + 2 * 32775)\n"
		"local f = frames(m, size)\n"
		"eq(#f, 3, 'header and two pieces')\n"
		"eq(hex(f[1]), '00 0d 01 10 00 00 00 03 00 00 00 00 00 01 00', 'header')\n"
		"eq(hex(f[2]:sub(1, 7)), '80 05 02 03 00 00 00', 'piece 1 head') eq(#f[2], 32775)\n"
		"eq(hex(f[3]:sub(1, 7)), '80 05 03 03 00 00 00', 'piece 2 head') eq(#f[3], 32775)\n"
		"eq(f[2]:sub(8) .. f[3]:sub(8), body, 'piece data')\n"
		"local addr, session, msg, sz, padding, push = cluster.unpackrequest(f[1]:sub(3))\n"
		"eq(addr, 0x10) eq(session, 3) eq(msg, nil) eq(sz, 65536) eq(padding, true) eq(push, false)\n"
		"local req = cluster.collect(sz)\n"
		"for i = 2, 3 do\n"
		"  local pm, ps = newmsg(f[i]:sub(3))\n"
		"  local a, s, piece, n, pad, pu = cluster.unpackrequest(pm, ps)\n"
		"  eq(a, false) eq(s, 3) eq(n, 32768) eq(pad, i == 2, 'padding') eq(pu, false)\n"
		"  eq(type(piece), 'userdata', 'a piece of a heap payload points into it')\n"
		"  eq(cluster.append(req, piece, n), true, 'appended')\n"
		"  freemsg(pm)\n"
		"end\n"
		"local j, n = cluster.concat(req)\n"
		"eq(n, 65536, 'joined size') eq(msgstring(j, n), body, 'joined') freemsg(j)\n"
		"eq(cluster.concat(req), nil, 'taken once')\n"
		"local _, _, piece = cluster.unpackrequest(f[3]:sub(3))\n"
		"eq(piece, body:sub(32769), 'a piece of a string payload is a string')\n");
}

/* Example I: a body of exactly 0x8000 bytes goes multi-part. */
static void test_multi_push_by_name(void **state)
{
	(void)state;
	run_lua(
		"local body = bytes(0x8000, 3)\n"
		"local m, nxt, size = cluster.packpush('@sdb', 4, body)\n"
		"eq(nxt, 5) local f = frames(m, size)\n"
		"eq(hex(f[1]), '00 0e c1 04 40 73 64 62 04 00 00 00 00 80 00 00', 'header')\n"
		"eq(#f, 2) eq(hex(f[2]:sub(1, 7)), '80 05 03 04 00 00 00') eq(f[2]:sub(8), body)\n"
		"local addr, session, msg, sz, padding, push = cluster.unpackrequest(f[1]:sub(3))\n"
		"eq(addr, '@sdb') eq(session, 4) eq(sz, 0x8000) eq(padding, true) eq(push, true)\n"
		"local p, parts\n"
		"p, nxt, parts = cluster.packrequest(1, 1, bytes(0x7fff))\n"
		"eq(#p, 0x800a, 'largest numeric single') eq(hex(p:sub(1, 3)), '80 08 00') eq(parts, nil)\n"
		"p, nxt, parts = cluster.packrequest(string.rep('n', 255), 1, newmsg(bytes(0x7fff)))\n"
		"eq(hex(p:sub(1, 4)), '81 04 80 ff', 'largest named single') eq(parts, nil)\n"
		"eq(#p, 263 + 0x7fff) eq(p:sub(264), bytes(0x7fff))\n");
}

/* Example J, plus the single/cut limits of responses. */
static void test_multi_response(void **state)
{
	(void)state;
	run_lua(
		"local body = bytes(40000, 5)\n"
		"local m, sz = newmsg(body)\n"
		"local t, size = cluster.packresponse(5, true, m, sz)\n"
		"eq(msgstring(m, sz), body, 'msg restored') freemsg(m)\n"
		"local f = frames(t, size)\n"
		"eq(#f, 3) eq(hex(f[1]), '00 09 05 00 00 00 02 40 9c 00 00', 'begin')\n"
		"eq(hex(f[2]:sub(1, 7)), '80 05 05 00 00 00 03', 'part') eq(#f[2], 0x8007)\n"
		"eq(hex(f[3]:sub(1, 7)), '1c 45 05 00 00 00 04', 'end') eq(#f[3], 7232 + 7)\n"
		"local session, ok, total, padding, n = cluster.unpackresponse(f[1]:sub(3))\n"
		"eq(session, 5) eq(ok, true) eq(total, 40000, 'begin carries the total') eq(padding, true) eq(n, nil)\n"
		"local c = cluster.collect(total)\n"
		"for i = 2, 3 do\n"
		"  local pm, ps = newmsg(f[i]:sub(3))\n"
		"  local s, o, data, pad, len = cluster.unpackresponse(pm, ps)\n"
		"  eq(s, 5) eq(o, true) eq(pad, i < 3, 'padding') eq(type(data), 'userdata')\n"
		"  eq(cluster.append(c, data, len), true)\n"
		"  freemsg(pm)\n"
		"end\n"
		"local j, jn = cluster.concat(c)\n"
		"eq(jn, 40000) eq(msgstring(j, jn), body) freemsg(j)\n"
		"local _, _, data, _, len = cluster.unpackresponse(f[3]:sub(3))\n"
		"eq(data, body:sub(32769), 'a part of a string payload') eq(len, 7232)\n"
		"local p = cluster.packresponse(6, true, bytes(0x8000))\n"
		"eq(type(p), 'string', '0x8000 ok is single') eq(hex(p:sub(1, 7)), '80 05 06 00 00 00 01')\n"
		"p = cluster.packresponse(7, false, string.rep('e', 0x9000))\n"
		"eq(#p, 0x8007, 'error cut') eq(hex(p:sub(1, 7)), '80 05 07 00 00 00 00')\n"
		"f = frames(cluster.packresponse(8, true, bytes(0x8001)))\n"
		"eq(#f, 3) eq(#f[3], 8, 'one-byte end part')\n");
}

/* Example K and the tag limit. */
static void test_trace(void **state)
{
	(void)state;
	run_lua(
		"local p = cluster.packtrace(':0000000b-1')\n"
		"eq(hex(p), '00 0c 04 3a 30 30 30 30 30 30 30 62 2d 31', 'K')\n"
		"local tag, session = cluster.unpackrequest(p:sub(3))\n"
		"eq(tag, ':0000000b-1') eq(session, nil)\n"
		"eq(#cluster.packtrace(string.rep('t', 0x8000)), 0x8003)\n"
		"raises('trace tag is too long', cluster.packtrace, string.rep('t', 0x8001))\n");
}

/* Example L and invalid sessions. */
static void test_sessions(void **state)
{
	(void)state;
	run_lua(
		"local p, nxt = cluster.packrequest(1, 0x7fffffff, 'x')\n"
		"eq(hex(p:sub(8, 11)), 'ff ff ff 7f', 'L') eq(nxt, 1, 'wrap')\n"
		"local m, nxt2, size = cluster.packpush(1, 0x7fffffff, bytes(0x8000))\n"
		"eq(nxt2, 1, 'multi push wraps too') eq(#frames(m, size), 2)\n"
		"raises('Invalid request session 0', cluster.packrequest, 1, 0, 'x')\n"
		"raises('Invalid request session -1', cluster.packpush, 1, -1, 'x')\n"
		"raises('Invalid request session', cluster.packrequest, 1, 0x80000000, 'x')\n"
		"raises('Invalid request session 0', cluster.packrequest, 1, 0, newmsg('leak?'))\n");
}

static void test_names(void **state)
{
	(void)state;
	run_lua(
		"local p = cluster.packrequest(string.rep('a', 255), 1, 'x')\n"
		"eq(#p, 2 + 6 + 255 + 1) eq(p:byte(4), 255)\n"
		"raises('1..255', cluster.packrequest, string.rep('a', 256), 1, 'x')\n"
		"raises('1..255', cluster.packpush, '', 1, newmsg('x'))\n"
		"raises('Invalid cluster address', cluster.packrequest, {}, 1, 'x')\n"
		"eq(cluster.isname('@sdb'), true) eq(cluster.isname('.sdb'), false)\n"
		"eq(cluster.isname(10), false) eq(cluster.isname(''), false)\n"
		"eq(cluster.packrequest(2.5, 1, ''):sub(4, 7), '\\0\\0\\0\\0', 'non-integer address is 0')\n");
}

static void test_nodename(void **state)
{
	(void)state;
	char host[256] = {0};
	char want[300];
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	for (char *c = host; *c; c++) {
		if ((unsigned char)*c <= 0x20)
			*c = '_';
	}
	snprintf(want, sizeof(want), "eq(cluster.nodename(), '%s%d')", host,
	         (int)getpid());
	run_lua(want);
}

/* Malformed requests raise; the agent drops them without answer. */
static void test_invalid_requests(void **state)
{
	(void)state;
	run_lua(
		"raises('size == 0', cluster.unpackrequest, '')\n"
		"raises('size == 0', cluster.unpackrequest, nil, 0)\n"
		"raises('Invalid req package type 5', cluster.unpackrequest, '\\5abc')\n"
		"raises('Invalid req package type 66', cluster.unpackrequest, 'B')\n"
		"raises('Invalid cluster message size 8', cluster.unpackrequest, unhex'00 01 00 00 00 01 00 00')\n"
		"raises('must be 13', cluster.unpackrequest, unhex'01 10 00 00 00 03 00 00 00 00 00 01 00 00')\n"
		"raises('must be 13', cluster.unpackrequest, unhex'41 10 00 00 00 03 00 00 00 00 00 01')\n"
		"raises('Invalid cluster message size', cluster.unpackrequest, unhex'80 04 40 73 64 62 01 00 00')\n"
		"raises('Invalid cluster message size', cluster.unpackrequest, unhex'80')\n"
		"raises('Invalid cluster message size', cluster.unpackrequest, unhex'81 01 41 01 00 00 00 00 00 01')\n"
		"raises('multi part', cluster.unpackrequest, unhex'02 01 00 00')\n"
		"local a, s, m, n, pad, push = cluster.unpackrequest(unhex'c1 01 41 07 00 00 00 00 00 01 00 ff ff')\n"
		"eq(a, 'A', 'trailing bytes accepted') eq(s, 7) eq(n, 65536) eq(pad, true) eq(push, true)\n"
		"a, s, m, n = cluster.unpackrequest(unhex'80 00 05 00 00 00')\n"
		"eq(a, '', 'empty name decodes') eq(s, 5) eq(n, 0)\n"
		"a, s, m, n, pad = cluster.unpackrequest(unhex'03 09 00 00 00')\n"
		"eq(a, false) eq(s, 9) eq(m, '') eq(n, 0) eq(pad, false)\n");
}

static void test_invalid_responses(void **state)
{
	(void)state;
	run_lua(
		"eq(select('#', cluster.unpackresponse(unhex'01 00 00 00')), 0, 'short')\n"
		"eq(cluster.unpackresponse(''), nil)\n"
		"eq(cluster.unpackresponse(unhex'01 00 00 00 05 aa'), nil, 'type 5')\n"
		"eq(cluster.unpackresponse(unhex'01 00 00 00 02 00 01 00'), nil, 'begin of 8')\n"
		"eq(cluster.unpackresponse(unhex'01 00 00 00 02 00 01 00 00 00'), nil, 'begin of 10')\n"
		"local s, ok, data, pad = cluster.unpackresponse(unhex'01 00 00 00 03')\n"
		"eq(s, 1) eq(ok, true) eq(data, '') eq(pad, true)\n"
		"s, ok, data, pad = cluster.unpackresponse(unhex'ff ff ff ff 00 45')\n"
		"eq(s, 0xffffffff) eq(ok, false) eq(data, 'E') eq(pad, false)\n");
}

/* A collector takes pieces up to its total and gives the message once. */
static void test_reassembly(void **state)
{
	(void)state;
	run_lua(
		"local c = cluster.collect(4)\n"
		"eq(cluster.concat(c), nil, 'nothing yet')\n"
		"eq(cluster.append(c, 'ab'), true)\n"
		"local m, n = newmsg('cd') eq(cluster.append(c, m, n), true) freemsg(m)\n"
		"eq(cluster.append(c, 'x'), false, 'longer than its total')\n"
		"local j, sz = cluster.concat(c)\n"
		"eq(sz, 4) eq(msgstring(j, sz), 'abcd') freemsg(j)\n"
		"eq(cluster.concat(c), nil, 'taken')\n"
		"eq(cluster.append(c, ''), false, 'nothing is added after concat')\n"
		"j, sz = cluster.concat(cluster.collect(0))\n"
		"eq(sz, 0, 'empty body joins') freemsg(j)\n"
		"c = cluster.collect(3) cluster.append(c, 'ab')\n"
		"eq(cluster.concat(c), nil, 'short')\n"
		"cluster.collect(100) collectgarbage()\n"
		"raises('cluster.append', cluster.append, cluster.collect(1), {})\n"
		"raises('Invalid large message size', cluster.collect, -1)\n"
		"raises('Invalid large message size', cluster.collect, 0x100000000)\n"
		"local big, chunk = cluster.collect(20 << 20), bytes(1 << 20, 1)\n"
		"for i = 1, 20 do eq(cluster.append(big, chunk), true, 'grows past what it had at once') end\n"
		"j, sz = cluster.concat(big)\n"
		"eq(sz, 20 << 20) eq(msgstring(j, sz):sub(-(1 << 20)), chunk) freemsg(j)\n");
}

/* A large heap body: pieces must cover it exactly, in order. */
static void test_large_body_pieces(void **state)
{
	(void)state;
	run_lua(
		"local body = bytes(1048576 + 123, 11)\n"
		"local packed, _, size = cluster.packrequest('.svc', 100, newmsg(body))\n"
		"local f = frames(packed, size)\n"
		"eq(#f, 34) eq(hex(f[1]:sub(1, 3)), '00 0e 81')\n"
		"local _, _, _, total = cluster.unpackrequest(f[1]:sub(3))\n"
		"local req = cluster.collect(total)\n"
		"for i = 2, #f do\n"
		"  eq(#f[i], i < 34 and 0x8007 or 123 + 7, 'piece size')\n"
		"  eq(cluster.append(req, select(3, cluster.unpackrequest(f[i]:sub(3)))), true)\n"
		"end\n"
		"local m, n = cluster.concat(req)\n"
		"eq(msgstring(m, n), body, 'round trip') freemsg(m)\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_call_by_name),
		cmocka_unit_test(test_push),
		cmocka_unit_test(test_call_by_number),
		cmocka_unit_test(test_single_responses),
		cmocka_unit_test(test_multi_call),
		cmocka_unit_test(test_multi_push_by_name),
		cmocka_unit_test(test_multi_response),
		cmocka_unit_test(test_trace),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_nodename),
		cmocka_unit_test(test_invalid_requests),
		cmocka_unit_test(test_invalid_responses),
		cmocka_unit_test(test_reassembly),
		cmocka_unit_test(test_large_body_pieces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
