/*
 * fuzz_multipart.c: libFuzzer target for multi-part messages
 * (node/lua_cluster.c: packrequest/packpush/packresponse of large bodies,
 * collect, append, concat).  An input starting with an even byte is a
 * sequence of framed request packets that an agent (spec §6.1)
 * reassembles: every append and join must give exactly the collected
 * pieces, every refusal must be justified.  An odd first byte describes a large body, address, session
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
	/* the packets of a packed large message (a heap buffer, freed here) */
	"local function frames(m, size)\n"
	"  local s, list, pos = take(m, size), {}, 1\n"
	"  while pos <= #s do\n"
	"    local len = string.unpack('>I2', s, pos)\n"
	"    list[#list + 1] = s:sub(pos, pos + 1 + len)\n"
	"    pos = pos + 2 + len\n"
	"  end\n"
	"  assert(pos == #s + 1, 'frames cover the buffer')\n"
	"  return list\n"
	"end\n"
	/* unpack a payload given as a heap message, as the services do */
	"local function unpack_heap(unpack, payload)\n"
	"  local m, n = newmsg(payload)\n"
	"  local r = table.pack(pcall(unpack, m, n))\n"
	"  if r[1] and r[4] ~= nil and type(r[4]) == 'userdata' then\n"
	"    local size = r[6]\n"
	"    if unpack == cluster.unpackrequest then size = r[5] end\n"
	"    r.piece = peek(r[4], size)\n"
	"  end\n"
	"  take(m, n)\n"
	"  return r\n"
	"end\n"
	/* an agent (spec 6.1): each header opens a collector, pieces fill it */
	"local function agent(stream)\n"
	"  local large, pos = {}, 2\n"
	"  while pos + 1 <= #stream do\n"
	"    local len = string.unpack('>I2', stream, pos)\n"
	"    local payload = stream:sub(pos + 2, pos + 1 + len)\n"
	"    pos = pos + 2 + len\n"
	"    local m, n = newmsg(payload)\n"
	"    local ok, addr, session, body, size, padding = pcall(cluster.unpackrequest, m, n)\n"
	"    if ok and session ~= nil and (addr == false or padding) then\n"
	"      local req = large[session]\n"
	"      if body == nil then\n"
	"        large[session] = { c = cluster.collect(size), total = size, got = {}, filled = 0 }\n"
	"      elseif req then\n"
	"        local fits = req.filled + size <= req.total\n"
	"        assert(cluster.append(req.c, body, size) == fits, 'append verdict')\n"
	"        if fits then\n"
	"          req.got[#req.got + 1] = peek(body, size)\n"
	"          req.filled = req.filled + size\n"
	"        end\n"
	"        if not fits then\n"
	"          large[session] = nil\n"
	"        elseif not padding then\n"
	"          large[session] = nil\n"
	"          local jm, jn = cluster.concat(req.c)\n"
	"          assert((jm ~= nil) == (req.filled == req.total), 'concat verdict')\n"
	"          if jm then assert(take(jm, jn) == table.concat(req.got), 'joined bytes') end\n"
	"        end\n"
	"      end\n"
	"    end\n"
	"    take(m, n)\n"
	"  end\n"
	"end\n"
	/* the header or begin packet, then pieces joined in a collector */
	"local function rejoin(packets, unpack)\n"
	"  local is_request = unpack == cluster.unpackrequest\n"
	"  local first = unpack_heap(unpack, packets[1]:sub(3))\n"
	"  local total = first[4]\n"
	"  if is_request then total = first[5] end\n"
	"  local c = cluster.collect(total)\n"
	"  for i = 2, #packets do\n"
	"    local p = packets[i]\n"
	"    assert(string.unpack('>I2', p) == #p - 2, 'length header')\n"
	"    local r = unpack_heap(unpack, p:sub(3))\n"
	"    local padding = r[5]\n"
	"    if is_request then padding = r[6] end\n"
	"    assert(padding == (i < #packets), 'padding flag')\n"
	"    assert(cluster.append(c, r.piece), 'piece fits')\n"
	"  end\n"
	"  local m, n = cluster.concat(c)\n"
	"  return m and take(m, n)\n"
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
	"  local packed, nxt, packed_size = pack(addr, session, newmsg(body))\n"
	"  assert(nxt == (session == 0x7fffffff and 1 or session + 1), 'next session')\n"
	"  assert(rejoin(frames(packed, packed_size), cluster.unpackrequest) == body, 'request body')\n"
	"  local m, n = newmsg(body)\n"
	"  local response, response_size = cluster.packresponse(session, true, m, n)\n"
	"  assert(take(m, n) == body, 'response body changed')\n"
	"  if size == 0x8000 then\n"
	"    assert(select(3, cluster.unpackresponse(response:sub(3))) == body, 'single response')\n"
	"  else\n"
	"    assert(rejoin(frames(response, response_size), cluster.unpackresponse) == body, 'response join')\n"
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
