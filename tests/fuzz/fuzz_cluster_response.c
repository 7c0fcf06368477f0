/*
 * fuzz_cluster_response.c: libFuzzer target for the cluster response
 * decoder (cluster.unpackresponse, node/lua_cluster.c).  The input is one
 * payload, given as an exact-size heap message.  The decoder must never
 * raise: it returns nothing for exactly the invalid packets of spec §5,
 * fields that match the bytes otherwise, and single responses must encode
 * back to the same packet.
 */
#include "lua_checker.h"

#include <stdint.h>

int luaopen_skynet_cluster_core(lua_State *L);

static const char checker[] =
	"local cluster = require 'skynet.cluster.core'\n"
	"return function(msg, sz, payload)\n"
	"  local session, ok, data, padding, size = cluster.unpackresponse(msg, sz)\n"
	"  local kind = payload:byte(5)\n"
	"  if session == nil then\n"
	"    assert(#payload < 5 or kind > 4 or (kind == 2 and #payload ~= 9), 'valid packet refused')\n"
	"    return\n"
	"  end\n"
	"  assert(#payload >= 5 and kind <= 4, 'invalid packet accepted')\n"
	"  assert(session == string.unpack('<I4', payload), 'session')\n"
	"  assert(ok == (kind ~= 0) and padding == (kind == 2 or kind == 3), 'flags')\n"
	"  if kind == 2 then\n"
	"    assert(#payload == 9 and data == string.unpack('<I4', payload, 6), 'begin total')\n"
	"    return\n"
	"  end\n"
	"  if kind >= 3 then\n"
	"    assert(type(data) == 'userdata' and size == #payload - 5, 'part points into the message')\n"
	"    data = peek(data, size)\n"
	"  end\n"
	"  assert(data == payload:sub(6), 'data')\n"
	"  if kind <= 1 and #data <= 0x8000 then\n"
	"    local packet = cluster.packresponse(session, ok, data)\n"
	"    assert(packet == string.pack('>s2', payload), 'response does not encode back')\n"
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
