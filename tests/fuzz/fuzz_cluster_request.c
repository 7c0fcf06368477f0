/*
 * fuzz_cluster_request.c: libFuzzer target for the cluster request decoder
 * (cluster.unpackrequest, node/lua_cluster.c).  The input is one payload
 * (a packet without its length header), handed over as an exact-size heap
 * message.  Decoding may reject it with an error; when it is accepted, the
 * fields must agree with the bytes, and single requests and trace packets
 * must encode back to exactly the same packet.
 */
#include "lua_checker.h"

#include <stdint.h>

int luaopen_skynet_cluster_core(lua_State *L);

static const char checker[] =
	"local cluster = require 'skynet.cluster.core'\n"
	"local function frame(s) return string.pack('>s2', s) end\n"
	"local function check_single(payload, addr, session, body, size)\n"
	"  assert(size == #body, 'size')\n"
	"  if (type(addr) == 'string' and #addr == 0) or #body >= 0x8000 then return end\n"
	"  local packet\n"
	"  if session == 0 then packet = cluster.packpush(addr, 1, body)\n"
	"  elseif session <= 0x7fffffff then packet = cluster.packrequest(addr, session, body)\n"
	"  else return end\n"
	"  assert(packet == frame(payload), 'single request does not encode back')\n"
	"end\n"
	"local function check_header(payload, addr, session, body, size, padding)\n"
	"  assert(body == nil and padding == true and math.type(size) == 'integer', 'header fields')\n"
	"  if type(addr) == 'number' then assert(#payload == 13, 'numeric header size') end\n"
	"end\n"
	"return function(msg, sz, payload)\n"
	"  local ok, addr, session, body, size, padding, push = pcall(cluster.unpackrequest, msg, sz)\n"
	"  if not ok then return end\n"
	"  local kind = payload:byte(1)\n"
	"  if kind == 4 then\n"
	"    assert(addr == payload:sub(2) and session == nil, 'trace tag')\n"
	"    if #addr <= 0x8000 then assert(cluster.packtrace(addr) == frame(payload), 'trace encode') end\n"
	"  elseif kind == 0 or kind == 0x80 then\n"
	"    assert(padding == false and push == (session == 0), 'single flags')\n"
	"    check_single(payload, addr, session, body, size)\n"
	"  elseif kind == 2 or kind == 3 then\n"
	"    assert(addr == false and padding == (kind == 2) and push == false, 'piece flags')\n"
	"    assert(type(body) == 'userdata' and size == #payload - 5, 'piece points into the message')\n"
	"    assert(peek(body, size) == payload:sub(6), 'piece data')\n"
	"  else\n"
	"    assert(kind & 0x3f == 1, 'accepted an invalid type')\n"
	"    assert(push == (kind & 0x40 ~= 0), 'push bit')\n"
	"    check_header(payload, addr, session, body, size, padding)\n"
	"  end\n"
	"end\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0xFFFF)
		return 0;
	lua_State *L = checker_state("skynet.cluster.core", luaopen_skynet_cluster_core,
	                             checker, NULL, 0);
	checker_call_message(L, data, size);
	return 0;
}
