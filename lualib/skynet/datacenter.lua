-- skynet/datacenter.lua: a node-wide tree of values kept by the datacenterd
-- service (global name DATACENTER).  Keys form a path:
--   datacenter.set("a", "b", value)   datacenter.get("a", "b")
--   datacenter.wait("a", "b")  blocks until the path has a value.

local skynet = require "skynet"

local datacenter = {}
local service   -- handle of DATACENTER, resolved once through .cslave

local function call(cmd, ...)
	if service == nil then
		service = skynet.call(".cslave", "lua", "QUERYNAME", "DATACENTER")
	end
	return skynet.call(service, "lua", cmd, ...)
end

function datacenter.get(...)
	return call("QUERY", ...)
end

-- The last argument is the value; returns the value it replaced.
function datacenter.set(...)
	return call("UPDATE", ...)
end

function datacenter.wait(...)
	return call("WAIT", ...)
end

return datacenter
