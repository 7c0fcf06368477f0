/*
 * test_seri.c: unit tests of the value serialization (node/lua_seri.c)
 * against the worked examples and edge cases of spec/serialization.md.
 *
 * Most checks are written in Lua, run in a fresh lua_State that has pack,
 * packstring and unpack as globals plus a few helpers (hex, unhex, same,
 * expect_error).  A failing check raises an error naming the case.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <lauxlib.h>
#include <lualib.h>

#include "lua_seri.h"
#include "skynet.h"

static const char prelude[] =
	"function hex(s)\n"
	"  return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end))\n"
	"end\n"
	"function unhex(h)\n"
	"  h = h:gsub('%s', '')\n"
	"  return (h:gsub('..', function(x) return string.char(tonumber(x, 16)) end))\n"
	"end\n"
	"function same(a, b)\n"
	"  if type(a) ~= type(b) then return false end\n"
	"  if type(a) == 'number' then\n"
	"    if math.type(a) ~= math.type(b) then return false end\n"
	"    if math.type(a) == 'integer' then return a == b end\n"
	"    return string.pack('<d', a) == string.pack('<d', b)\n"
	"  end\n"
	"  if type(a) ~= 'table' then return a == b end\n"
	"  for k, v in pairs(a) do if not same(v, rawget(b, k)) then return false end end\n"
	"  for k in pairs(b) do if rawget(a, k) == nil then return false end end\n"
	"  return true\n"
	"end\n"
	"function check(cond, fmt, ...)\n"
	"  if not cond then error(string.format(fmt, ...), 2) end\n"
	"end\n"
	"function expect_error(text, f, ...)\n"
	"  local ok, err = pcall(f, ...)\n"
	"  check(not ok, 'expected the error %q, got success', text)\n"
	"  check(type(err) == 'string' and err:find(text, 1, true),\n"
	"        'error %q does not contain %q', tostring(err), text)\n"
	"  return err\n"
	"end\n"
	"function packed(...)\n"
	"  local p, n = pack(...)\n"
	"  local s = bufstring(p, n)\n"
	"  trash(p)\n"
	"  return s\n"
	"end\n";

/* bufstring(ptr, size) -> the bytes as a string */
static int l_bufstring(lua_State *L)
{
	const char *p = lua_touserdata(L, 1);
	lua_Integer n = luaL_checkinteger(L, 2);
	lua_pushlstring(L, p ? p : "", (size_t)n);
	return 1;
}

static int l_trash(lua_State *L)
{
	skynet_free(lua_touserdata(L, 1));
	return 0;
}

/* lud(n) -> light userdata whose pointer value is n */
static int l_lud(lua_State *L)
{
	lua_pushlightuserdata(L, (void *)(uintptr_t)luaL_checkinteger(L, 1));
	return 1;
}

static int setup(void **state)
{
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	static const luaL_Reg funcs[] = {
		{"pack", luaseri_pack},       {"packstring", luaseri_packstring},
		{"unpack", luaseri_unpack},   {"bufstring", l_bufstring},
		{"trash", l_trash},           {"lud", l_lud},
		{NULL, NULL},
	};
	lua_pushglobaltable(L);
	luaL_setfuncs(L, funcs, 0);
	lua_pop(L, 1);
	if (luaL_dostring(L, prelude) != LUA_OK)
		fail_msg("prelude: %s", lua_tostring(L, -1));
	*state = L;
	return 0;
}

static int teardown(void **state)
{
	lua_close(*state);
	return 0;
}

static void run(void **state, const char *code)
{
	lua_State *L = *state;
	if (luaL_dostring(L, code) != LUA_OK)
		fail_msg("%s", lua_tostring(L, -1));
	lua_settop(L, 0);
}

/* Spec §9: each row packs to the exact bytes (packstring and pack) and the
 * bytes unpack to the same values. */
static void test_worked_examples(void **state)
{
	run(state,
	    "local function arr(n, v) local t = {} for i = 1, n do t[i] = v end return t end\n"
	    "_G.arr = arr\n"
	    "local rows = {\n"
	    "  {'nil', '00'}, {'false', '01'}, {'true', '09'}, {'0', '02'},\n"
	    "  {'1', '0a 01'}, {'255', '0a ff'}, {'256', '12 00 01'}, {'300', '12 2c 01'},\n"
	    "  {'65536', '22 00 00 01 00'}, {'70000', '22 70 11 01 00'},\n"
	    "  {'-1', '22 ff ff ff ff'}, {'-300', '22 d4 fe ff ff'},\n"
	    "  {'2147483647', '22 ff ff ff 7f'},\n"
	    "  {'2147483648', '32 00 00 00 80 00 00 00 00'},\n"
	    "  {'-2147483648', '22 00 00 00 80'}, {'0x0100000a', '22 0a 00 00 01'},\n"
	    "  {'3.5', '42 00 00 00 00 00 00 0c 40'}, {'3.0', '42 00 00 00 00 00 00 08 40'},\n"
	    "  {'\"\"', '04'}, {'\"hi\"', '14 68 69'},\n"
	    "  {'(\"a\"):rep(31)', 'fc' .. ('61'):rep(31)},\n"
	    "  {'(\"a\"):rep(32)', '15 20 00' .. ('61'):rep(32)},\n"
	    "  {'(\"a\"):rep(40)', '15 28 00' .. ('61'):rep(40)},\n"
	    "  {'(\"a\"):rep(65536)', '25 00 00 01 00' .. ('61'):rep(65536)},\n"
	    "  {'{}', '06 00'}, {'{1,2,x=3}', '16 0a 01 0a 02 0c 78 0a 03 00'},\n"
	    "  {'{a={}}', '06 0c 61 06 00 00'}, {'{{}}', '0e 06 00 00'},\n"
	    "  {'{[-1]=1}', '06 22 ff ff ff ff 0a 01 00'},\n"
	    "  {'arr(31, true)', 'fe 0a 1f' .. ('09'):rep(31) .. '00'},\n"
	    "  {'1, \"a\"', '0a 01 0c 61'}, {'', ''},\n"
	    "}\n"
	    "for _, row in ipairs(rows) do\n"
	    "  local expr, want = row[1], row[2]:gsub('%s', '')\n"
	    "  local values = load('return ' .. expr)\n"
	    "  local got = hex(packstring(values()))\n"
	    "  check(got == want, 'packstring(%s) = %s, want %s', expr, got:sub(1, 80), want:sub(1, 80))\n"
	    "  got = hex(packed(values()))\n"
	    "  check(got == want, 'pack(%s) = %s, want %s', expr, got:sub(1, 80), want:sub(1, 80))\n"
	    "  local back = table.pack(unpack(unhex(want)))\n"
	    "  check(same(back, table.pack(values())), 'unpack(%s) differs', expr)\n"
	    "end\n"
	    "check(hex(packstring(arr(300, 0))):sub(1, 8) == 'fe122c01', '300-element header')\n"
	    "check(#unpack(packstring(arr(300, 0))) == 300, '300-element round trip')\n");
}

static void test_integer_widths(void **state)
{
	run(state,
	    "local rows = {\n"
	    "  {0xffff, '12 ff ff'}, {0xffffffff, '32 ff ff ff ff 00 00 00 00'},\n"
	    "  {-2147483649, '32 ff ff ff 7f ff ff ff ff'},\n"
	    "  {math.mininteger, '32 00 00 00 00 00 00 00 80'},\n"
	    "  {math.maxinteger, '32 ff ff ff ff ff ff ff 7f'},\n"
	    "}\n"
	    "for _, r in ipairs(rows) do\n"
	    "  local want = r[2]:gsub('%s', '')\n"
	    "  check(hex(packstring(r[1])) == want, 'integer %d', r[1])\n"
	    "  check(math.type(unpack(unhex(want))) == 'integer' and unpack(unhex(want)) == r[1], 'decode %d', r[1])\n"
	    "end\n"
	    "check(unpack(unhex('0a ff')) == 255, 'BYTE is unsigned')\n"
	    "check(unpack(unhex('12 ff ff')) == 65535, 'WORD is unsigned')\n"
	    "check(unpack(unhex('22 ff ff ff ff')) == -1, 'DWORD is signed')\n"
	    "check(math.type(unpack(packstring(3.0))) == 'float', 'floats stay floats')\n"
	    "check(math.type(unpack(packstring(3))) == 'integer', 'integers stay integers')\n"
	    "expect_error('Invalid serialize stream', unpack, unhex('1a 00'))\n");
}

static void test_real_bits(void **state)
{
	run(state,
	    "local nan = packstring(0/0)\n"
	    "local bits = string.unpack('<I8', nan, 2)\n"
	    "check(nan:byte(1) == 0x42 and #nan == 9, 'NaN is a REAL')\n"
	    "check((bits >> 52) & 0x7ff == 0x7ff and bits & 0xfffffffffffff ~= 0, 'NaN bits')\n"
	    "check(packstring(unpack(nan)) == nan, 'NaN bits survive')\n"
	    "local payload = unhex('42 01 23 00 00 00 00 f8 7f')\n"
	    "check(packstring(unpack(payload)) == payload, 'NaN payload survives')\n"
	    "check(hex(packstring(-0.0)) == '420000000000000080', '-0.0 bytes')\n"
	    "check(1 / unpack(packstring(-0.0)) == -math.huge, '-0.0 decodes negative')\n"
	    "check(unpack(packstring(math.huge)) == math.huge, 'inf')\n");
}

static void test_strings(void **state)
{
	run(state,
	    "check(unpack(unhex('15 02 00 68 69')) == 'hi', 'non-canonical u16 length')\n"
	    "check(unpack(unhex('25 02 00 00 00 68 69')) == 'hi', 'non-canonical u32 length')\n"
	    "expect_error('Invalid serialize stream', unpack, unhex('1d 02 00 68 69'))\n"
	    "local bin = '\\0\\1\\255' .. ('x'):rep(70000)\n"
	    "check(unpack(packstring(bin)) == bin, 'binary long string')\n");
}

static void test_tables(void **state)
{
	run(state,
	    "local t = unpack(unhex('1e 0a 01 00 0a 03 00'))\n"
	    "check(t[1] == 1 and t[2] == nil and t[3] == 3, 'holes in the array part')\n"
	    "t = unpack(unhex('0e 0a 01 f8'))\n"
	    "check(t[1] == 1, 'any nil-type byte ends the hash part')\n"
	    "check(unpack(unhex('11')) == true, 'any non-zero boolean cookie is true')\n"
	    "check(select('#', unpack(unhex('08'))) == 1 and unpack(unhex('08')) == nil, 'nil cookie')\n"
	    "t = unpack(unhex('06 14 6b 6b 00 00'))\n"
	    "check(next(t) == nil, 'a nil value stores nothing')\n"
	    "t = unpack(packstring({[0] = 'z', [5] = 'f', 1, 2}))\n"
	    "check(t[0] == 'z' and t[5] == 'f' and t[2] == 2, 'integer keys outside the array')\n"
	    "local k = {}\n"
	    "t = unpack(packstring({[k] = 1}))\n"
	    "local key = next(t)\n"
	    "check(type(key) == 'table' and t[key] == 1, 'table keys')\n"
	    "t = unpack(unhex('fe 0a 02 0a 01 0a 02 00'))\n"
	    "check(#t == 2 and t[2] == 2, 'extended length, non-canonical')\n"
	    "check(next(unpack(unhex('fe 02 00'))) == nil, 'extended length zero')\n"
	    "local meta = setmetatable({1}, {__len = function() return 5 end})\n"
	    "check(hex(packstring(meta)) == '0e0a0100', '__len is ignored, metatable dropped')\n"
	    "expect_error('index is NaN', unpack, unhex('06 42 00 00 00 00 00 00 f8 ff 0a 01 00'))\n");
}

static void test_bad_table_lengths(void **state)
{
	run(state,
	    "for _, h in ipairs{\n"
	    "  'fe 22 ff ff ff ff 00',        -- negative\n"
	    "  'fe 32 00 00 00 00 00 00 00 80 00', -- very negative\n"
	    "  'fe 32 ff ff ff ff ff ff ff 7f 00', -- huge\n"
	    "  'fe 22 00 00 00 10 00',        -- more than the input\n"
	    "  'fe 0a 03 0a 01 0a 02',        -- 3 declared, 2 present\n"
	    "  'fe 42 00 00 00 00 00 00 08 40 00', -- a real\n"
	    "  'fe 04 00',                    -- not a number\n"
	    "  'fe 1a 00',                    -- bad number cookie\n"
	    "} do\n"
	    "  expect_error('Invalid serialize stream', unpack, unhex(h))\n"
	    "end\n");
}

static void test_pairs_metamethod(void **state)
{
	run(state,
	    "local function yields(list)\n"
	    "  return setmetatable({}, {__pairs = function(t)\n"
	    "    local i = 0\n"
	    "    return function() i = i + 1 if list[i] then return list[i][1], list[i][2] end end, t, nil\n"
	    "  end})\n"
	    "end\n"
	    "check(hex(packstring(yields{{1, 'a'}})) == '060a010c6100', '__pairs single pair')\n"
	    "local t = unpack(packstring(yields{{1, 'a'}, {2, 'b'}, {'k', true}}))\n"
	    "check(t[1] == 'a' and t[2] == 'b' and t.k == true, '__pairs pairs')\n"
	    "local arr = setmetatable({10, 20}, {__pairs = function(t) return next, t, nil end})\n"
	    "check(packstring(arr):byte(1) == 0x06, '__pairs writes array length 0')\n"
	    "check(same(unpack(packstring(arr)), {10, 20}), '__pairs array round trip')\n"
	    "local bad = setmetatable({}, {__pairs = function() error('boom in pairs') end})\n"
	    "expect_error('boom in pairs', packstring, ('x'):rep(1000), bad)\n"
	    "local badit = setmetatable({}, {__pairs = function(t)\n"
	    "  return function() error('boom in iterator') end, t, nil end})\n"
	    "expect_error('boom in iterator', pack, {('y'):rep(1000)}, badit)\n");
}

static void test_error_texts(void **state)
{
	run(state,
	    "local function exact(text, ...)\n"
	    "  local err = expect_error(text, packstring, ...)\n"
	    "  check(err == text, 'error %q, want exactly %q', err, text)\n"
	    "  expect_error(text, pack, ...)\n"
	    "end\n"
	    "exact('Unsupport type function to serialize', print)\n"
	    "exact('Unsupport type thread to serialize', coroutine.create(print))\n"
	    "exact('Unsupport type userdata to serialize', io.stdout)\n"
	    "exact('Unsupport type function to serialize', ('z'):rep(5000), {f = print})\n"
	    "local ok, err = pcall(function() return packstring(print) end)\n"
	    "check(err:match('^%[string .-%]:%d+: Unsupport type function'), 'position of caller: %s', err)\n"
	    "expect_error('deserialize null pointer', unpack, lud(0), 5)\n"
	    "expect_error('Invalid serialize stream', unpack, unhex('07'))\n"
	    "expect_error('Invalid serialize stream 3 (line:', unpack, unhex('15 05 00 61 62 63'))\n");
}

/* Builds levels nested tables; the innermost holds `inner` (or is empty). */
static void test_depth_limit(void **state)
{
	run(state,
	    "local function nest(levels, inner)\n"
	    "  local t = {inner}\n"
	    "  for _ = 2, levels do t = {t} end\n"
	    "  return t\n"
	    "end\n"
	    "local depth_err = 'serialize can\\'t pack too depth table'\n"
	    "local ok33 = packstring(nest(32, {}))\n"
	    "check(same(unpack(ok33), nest(32, {})), '33 levels, empty innermost')\n"
	    "expect_error(depth_err, packstring, nest(33, {}))\n"
	    "packstring(nest(32, 1))\n"
	    "expect_error(depth_err, packstring, nest(33, 1))\n"
	    "expect_error(depth_err, pack, nest(33, 1))\n"
	    "expect_error(depth_err, packstring, {[nest(32, 1)] = true})\n"
	    "local deep = unhex(('0e'):rep(33) .. '06 00' .. ('00'):rep(33))\n"
	    "expect_error('deserialize can\\'t unpack too depth table', unpack, deep)\n"
	    "local full33 = unhex(('0e'):rep(32) .. '0e 0a 01 00' .. ('00'):rep(32))\n"
	    "expect_error('deserialize can\\'t unpack too depth table', unpack, full33)\n"
	    "check(hex(ok33) == ('0e'):rep(32) .. '0600' .. ('00'):rep(32), '33 levels bytes')\n");
}

static void test_empty_and_truncated(void **state)
{
	run(state,
	    "check(select('#', unpack('')) == 0, 'empty string')\n"
	    "check(select('#', unpack(nil)) == 0, 'nil')\n"
	    "check(select('#', unpack()) == 0, 'no argument')\n"
	    "check(select('#', unpack(lud(0), 0)) == 0, 'NULL, 0')\n"
	    "local p, n = pack()\n"
	    "check(p == lud(0) and n == 0, 'pack() is NULL, 0')\n"
	    "check(packstring() == '', 'packstring() is empty')\n"
	    "check(select('#', unpack(unhex('0a 01 0a 02 00'))) == 3, '1, 2, nil')\n"
	    "local whole = packstring({1, 'two', {x = 3.5, y = ('l'):rep(40)}, [-7] = true})\n"
	    "for cut = 1, #whole - 1 do\n"
	    "  expect_error('Invalid serialize stream', unpack, whole:sub(1, cut))\n"
	    "end\n"
	    "expect_error('Invalid serialize stream', unpack, '\\10')\n"
	    "p, n = pack({1, 2, 3}, 'four')\n"
	    "local a, b = unpack(p, n)\n"
	    "trash(p)\n"
	    "check(a[3] == 3 and b == 'four', 'unpack(ptr, size)')\n");
}

static void test_lightuserdata(void **state)
{
	run(state,
	    "local p = lud(0x1234)\n"
	    "local s = packstring(p)\n"
	    "check(s:byte(1) == 3 and #s == 1 + string.packsize('T'), 'light userdata bytes')\n"
	    "check(s:sub(2) == string.pack('=T', 0x1234), 'pointer in host order')\n"
	    "check(unpack(s) == p, 'light userdata round trip')\n");
}

static void test_random_round_trip(void **state)
{
	run(state,
	    "math.randomseed(20240611)\n"
	    "local function scalar()\n"
	    "  local kind = math.random(8)\n"
	    "  if kind == 1 then return math.random(-2^40, 2^40) end\n"
	    "  if kind == 2 then return math.random() * 1e6 - 5e5 end\n"
	    "  if kind == 3 then return math.random(0, 1) == 1 end\n"
	    "  if kind == 5 and math.random(100) == 1 then return ('L'):rep(math.random(65530, 65540)) end\n"
	    "  if kind == 4 or kind == 5 then return ('s'):rep(math.random(0, 40)) end\n"
	    "  if kind == 6 then return math.random(-300, 70000) end\n"
	    "  if kind == 7 then return math.random(0, 0xffffffff) end\n"
	    "  return 'k' .. math.random(100)\n"
	    "end\n"
	    "local function value(depth)\n"
	    "  if depth > 3 or math.random(3) == 1 then return scalar() end\n"
	    "  local t = {}\n"
	    "  for i = 1, math.random(0, math.random(4) == 1 and 35 or 5) do t[i] = value(depth + 1) end\n"
	    "  for _ = 1, math.random(0, 6) do\n"
	    "    local k = scalar()\n"
	    "    if k == k then t[k] = value(depth + 1) end\n"
	    "  end\n"
	    "  return t\n"
	    "end\n"
	    "for round = 1, 60 do\n"
	    "  local v = table.pack(value(0), value(0), value(0))\n"
	    "  local back = table.pack(unpack(packstring(table.unpack(v, 1, v.n))))\n"
	    "  check(same(back, v), 'round %d via packstring', round)\n"
	    "  local p, n = pack(table.unpack(v, 1, v.n))\n"
	    "  back = table.pack(unpack(p, n))\n"
	    "  trash(p)\n"
	    "  check(same(back, v), 'round %d via pack', round)\n"
	    "end\n");
}

/* The C entries pack stack slots and push decoded values. */
static void test_c_entries(void **state)
{
	lua_State *L = *state;
	lua_pushinteger(L, 1);
	lua_pushstring(L, "a");
	lua_pushboolean(L, 1);
	size_t sz;
	uint8_t *buf = seri_pack_range(L, 2, -1, &sz);
	static const uint8_t want[] = {0x0c, 'a', 0x09};
	assert_int_equal(sz, sizeof want);
	assert_memory_equal(buf, want, sizeof want);
	lua_settop(L, 0);
	assert_int_equal(seri_unpack_buffer(L, buf, sz), 2);
	assert_string_equal(lua_tostring(L, 1), "a");
	assert_true(lua_toboolean(L, 2));
	skynet_free(buf);
	assert_null(seri_pack_range(L, 3, 2, &sz));
	assert_int_equal(sz, 0);
	lua_settop(L, 0);
	assert_null(seri_pack_range(L, 1, lua_gettop(L), &sz));
	assert_int_equal(sz, 0);
	assert_int_equal(seri_unpack_buffer(L, NULL, 0), 0);
	lua_settop(L, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_worked_examples, setup, teardown),
		cmocka_unit_test_setup_teardown(test_integer_widths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_table_lengths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pairs_metamethod, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_texts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depth_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lightuserdata, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_c_entries, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
