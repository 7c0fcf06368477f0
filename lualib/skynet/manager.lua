-- skynet/manager.lua: service management added to the skynet table:
-- launching and killing services, naming them, aborting the node, custom
-- message routing (forward_type, filter) and the exit monitor.

local skynet = require "skynet"
local c = require "skynet.core"

-- Start a service of any module ("snlua name args", or a C service); returns
-- its handle, or nil if it failed to start.
function skynet.launch(...)
	local addr = c.command("LAUNCH", table.concat({ ... }, " "))
	if addr then
		return tonumber(addr:sub(2), 16)
	end
end

function skynet.kill(name)
	if type(name) == "number" then
		skynet.send(".launcher", "lua", "REMOVE", name, true)
		name = skynet.address(name)
	end
	c.command("KILL", name)
end

function skynet.abort()
	c.command "ABORT"
end

-- Global names (no leading "." or ":") go to the harbor layer; false means
-- the name is local.
local function register_global(name, handle)
	local first = name:sub(1, 1)
	assert(first ~= ":", "a service name can't start with ':'")
	if first == "." then
		return false
	end
	assert(#name < 16, "a global name must be shorter than 16 bytes")
	assert(tonumber(name) == nil, "a global name can't be a number")
	skynet.send(".cslave", "lua", "REGISTER", name, handle)
	return true
end

function skynet.register(name)
	if not register_global(name, skynet.self()) then
		c.command("REG", name)
	end
end

function skynet.name(name, handle)
	if not register_global(name, handle) then
		c.command("NAME", name .. " " .. skynet.address(handle))
	end
end

-- Deliver the message types in map (type -> protocol id) without freeing them:
-- their dispatch functions own the message (skynet.redirect or skynet.trash).
function skynet.forward_type(map, start)
	c.callback(function(ptype, msg, sz, ...)
		local as = map[ptype]
		if as then
			skynet.dispatch_message(as, msg, sz, ...)
		else
			skynet.dispatch_message(ptype, msg, sz, ...)
			c.trash(msg, sz)
		end
	end, true)
	skynet.timeout(0, function()
		skynet.init_service(start)
	end)
end

-- f(type, msg, sz, session, source) rewrites every message before dispatch.
function skynet.filter(f, start)
	c.callback(function(...)
		skynet.dispatch_message(f(...))
	end)
	skynet.timeout(0, function()
		skynet.init_service(start)
	end)
end

-- Make the global unique service named service this node's exit monitor.
function skynet.monitor(service, query)
	local monitor
	if query then
		monitor = skynet.queryservice(true, service)
	else
		monitor = skynet.uniqueservice(true, service)
	end
	assert(monitor, "Monitor launch failed")
	c.command("MONITOR", string.format(":%08x", monitor))
	return monitor
end

return skynet
