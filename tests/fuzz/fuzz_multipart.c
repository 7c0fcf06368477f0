/*
 * fuzz_multipart.c: libFuzzer target for multi-part messages
 * (node/lua_cluster.c: packrequest/packpush/packresponse pieces, append,
 * concat).  An input starting with an even byte is a sequence of framed
 * request packets that an agent (spec §6.1) reassembles: every join that
 * succeeds must give exactly the collected pieces, every refusal must be
 * justified.  An odd first byte describes a large body, address, session
 * and push flag: the body is packed as a request and as a response, then
 * decoded and joined again, and must come back unchanged.
 */
#include "lua_checker.h"

#include <lauxlib.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int luaopen_skynet_cluster_core(lua_State *L);

/* newmsg(str) -> msg, sz (malloc copy); take(msg, sz) -> string, frees. */
static int lnewmsg(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	void *msg = malloc(len ? len : 1);
	memcpy(msg, s, len);
	lua_pushlightuserdata(L, msg);
	lua_pushinteger(L, (lua_Integer)len);
	return 2;
}

static int ltake(lua_State *L)
{
	void *msg = lua_touserdata(L, 1);
	lua_pushlstring(L, msg, (size_t)luaL_checkinteger(L, 2));
	free(msg);
	return 1;
}

static const char checker[] =
	"local cluster = require 'skynet.cluster.core'\n"
	"local newmsg, take = ...\n"
	/* would concat have accepted req? */
	"local function joinable(req)\n"
	"  if math.type(req[1]) ~= 'integer' then return false end\n"
	"  local sum = 0\n"
	"  for i = 2, #req do\n"
	"    if type(req[i]) ~= 'string' then return false end\n"
	"    sum = sum + #req[i]\n"
	"  end\n"
	"  return sum == req[1]\n"
	"end\n"
	"local function join(req)\n"
	"  local m, n = cluster.concat(req)\n"
	"  assert((m ~= nil) == joinable(req), 'concat verdict')\n"
	"  if m == nil then return nil end\n"
	"  local s = take(m, n)\n"
	"  assert(s == table.concat(req, '', 2), 'joined bytes')\n"
	"  return s\n"
	"end\n"
	"local function agent(stream)\n"
	"  local large, pos = {}, 2\n"
	"  while pos + 1 <= #stream do\n"
	"    local len = string.unpack('>I2', stream, pos)\n"
	"    local payload = stream:sub(pos + 2, pos + 1 + len)\n"
	"    pos = pos + 2 + len\n"
	"    local ok, addr, session, msg, sz, padding, push = pcall(cluster.unpackrequest, payload)\n"
	"    if ok and session ~= nil then\n"
	"      local req = large[session]\n"
	"      if padding then\n"
	"        req = req or { addr = addr, push = push }\n"
	"        large[session] = req\n"
	"        cluster.append(req, msg, sz)\n"
	"      elseif req then\n"
	"        large[session] = nil\n"
	"        cluster.append(req, msg, sz)\n"
	"        join(req)\n"
	"      end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"local function collect(packets, unpack)\n"
	"  local is_request = unpack == cluster.unpackrequest\n"
	"  local req = {}\n"
	"  for i, p in ipairs(packets) do\n"
	"    assert(string.unpack('>I2', p) == #p - 2, 'length header')\n"
	"    local r = table.pack(unpack(p:sub(3)))\n"
	"    local padding = r[4]\n"
	"    if is_request then padding = r[5] end\n"
	"    assert(padding == (i < #packets), 'padding flag')\n"
	"    if is_request then cluster.append(req, r[3], r[4]) else req[i] = r[3] end\n"
	"  end\n"
	"  return req\n"
	"end\n"
	"local function roundtrip(input)\n"
	"  local a, b, c, flags = input:byte(2, 5)\n"
	"  if not flags then return end\n"
	"  local seed = input:sub(6)\n"
	"  if #seed == 0 then seed = 'x' end\n"
	"  local size = 0x8000 + ((a << 16 | b << 8 | c) % 0x28000)\n"
	"  local body = string.rep(seed, size // #seed + 1):sub(1, size)\n"
	"  local addr = flags & 1 == 1 and seed:sub(1, 255) or a << 8 | c\n"
	"  local session = (b << 8 | c) % 0x7fffffff + 1\n"
	"  local pack = flags & 2 == 2 and cluster.packpush or cluster.packrequest\n"
	"  local head, nxt, parts = pack(addr, session, newmsg(body))\n"
	"  assert(nxt == (session == 0x7fffffff and 1 or session + 1), 'next session')\n"
	"  table.insert(parts, 1, head)\n"
	"  local req = collect(parts, cluster.unpackrequest)\n"
	"  assert(join(req) == body, 'request body')\n"
	"  local m, n = newmsg(body)\n"
	"  local packets = cluster.packresponse(session, true, m, n)\n"
	"  assert(take(m, n) == body, 'response body changed')\n"
	"  if size == 0x8000 then\n"
	"    assert(select(3, cluster.unpackresponse(packets:sub(3))) == body, 'single response')\n"
	"  else\n"
	"    assert(join(collect(packets, cluster.unpackresponse)) == body, 'response join')\n"
	"  end\n"
	"end\n"
	"return function(input)\n"
	"  if input:byte(1) % 2 == 0 then agent(input) else roundtrip(input) end\n"
	"end\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > 0x40000)
		return 0;
	static const lua_CFunction helpers[] = {lnewmsg, ltake};
	lua_State *L = checker_state("skynet.cluster.core", luaopen_skynet_cluster_core,
	                             checker, helpers, 2);
	lua_pushlstring(L, (const char *)data, size);
	checker_call(L, 1);
	return 0;
}
