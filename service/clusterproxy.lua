-- clusterproxy: a local stand-in for one service on a remote cluster node
-- (cluster.proxy).  Started by clusterd with the node name and the remote
-- address (a name such as "@sdb" / ".db", or a numeric string for a
-- handle).  lua and snax messages sent to it become cluster pushes, calls
-- become cluster calls whose reply body is passed back unchanged; on the
-- remote side they all arrive as lua messages.

local skynet = require "skynet"

local node, address = ...
address = math.tointeger(tonumber(address)) or address

local sender

local function forward(session, _, body)
	if session == 0 then
		skynet.send(sender, "lua", "push", address, body)
		return
	end
	local msg, sz = skynet.rawcall(sender, "lua", skynet.pack("req", address, body))
	skynet.ret(skynet.tostring(msg, sz))
end

local function raw(msg, sz)
	return skynet.tostring(msg, sz)
end

skynet.register_protocol {
	name = "snax",
	id = skynet.PTYPE_SNAX,
	unpack = raw,
	dispatch = forward,
}

-- lua messages arrive unpacked (skynet.lua's lua protocol): pack them again.
local function forward_lua(session, source, ...)
	return forward(session, source, skynet.packstring(...))
end

skynet.start(function()
	local err
	sender, err = skynet.call(skynet.uniqueservice("clusterd"), "lua", "sender", node)
	assert(sender, err)
	skynet.dispatch("lua", forward_lua)
end)
