-- service_mgr (.service): unique services for skynet.uniqueservice and
-- skynet.queryservice.  The first LAUNCH of a name starts the service; every
-- other LAUNCH or QUERY of that name waits for it and gets the same handle
-- (or the same error, if it failed to start).  Global names ("@name") live
-- here on the node that has `standalone` set (always true with harbor = 0);
-- other harbor nodes ask that node's SERVICE.

local skynet = require "skynet"
require "skynet.manager"

-- name -> handle once started, error text if it failed, or while starting a
-- table { launching = bool, waiters = { task... } }
local services = {}

local function pending(name)
	local entry = services[name]
	if entry == nil then
		entry = { launching = false, waiters = {} }
		services[name] = entry
	end
	return entry
end

local function settle(name, ok, result)
	local entry = services[name]
	services[name] = ok and result or tostring(result)
	for _, task in ipairs(entry.waiters) do
		skynet.wakeup(task)
	end
end

local function outcome(name)
	local state = services[name]
	if type(state) == "string" then
		error(state, 0)
	end
	return state
end

-- Wait until name is settled; if start is given and nobody is starting it
-- yet, start it with start(...) ourselves.
local function obtain(name, start, ...)
	local state = services[name]
	if type(state) ~= "table" and state ~= nil then
		return outcome(name)
	end
	local entry = pending(name)
	if start and not entry.launching then
		entry.launching = true
		local ok, result = pcall(start, ...)
		if ok and result == nil then
			ok, result = false, "service " .. name .. " exited during its start"
		end
		settle(name, ok, result)
		return outcome(name)
	end
	local task = coroutine.running()
	table.insert(entry.waiters, task)
	skynet.wait(task)
	return outcome(name)
end

local function real_name(name)
	return (name:gsub("^@", ""))
end

local command = {}

function command.LAUNCH(name, ...)
	return obtain(name, skynet.newservice, real_name(name), ...)
end

function command.QUERY(name)
	return obtain(name)
end

function command.LIST()
	local list = {}
	for name, state in pairs(services) do
		if type(state) == "number" then
			list[name] = skynet.address(state)
		elseif type(state) == "string" then
			list[name] = "error: " .. state
		else
			list[name] = "starting"
		end
	end
	return list
end

-- On the node that owns global names they are plain entries under "@name".
local function serve_globals()
	function command.GLAUNCH(name, ...)
		return command.LAUNCH("@" .. name, ...)
	end

	function command.GQUERY(name)
		return command.QUERY("@" .. name)
	end
end

-- Elsewhere, ask the owning node's SERVICE once per name and cache the answer.
local function forward_globals()
	local owner
	local function ask_owner(...)
		owner = owner or skynet.call(".cslave", "lua", "QUERYNAME", "SERVICE")
		return skynet.call(owner, "lua", ...)
	end

	local function remote(cmd, name, ...)
		return obtain("@" .. name, ask_owner, cmd, "@" .. name, ...)
	end

	function command.GLAUNCH(name, ...)
		return remote("LAUNCH", name, ...)
	end

	function command.GQUERY(name)
		return remote("QUERY", name)
	end
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, ...)
		local f = command[cmd]
		if f == nil then
			skynet.retpack(nil, "Invalid command " .. tostring(cmd))
			return
		end
		local ok, result = pcall(f, ...)
		if ok then
			skynet.retpack(result)
		else
			skynet.retpack(nil, tostring(result))
		end
	end)
	local existing = skynet.localname ".service"
	if existing then
		skynet.error(".service is already registered by " .. skynet.address(existing))
		skynet.exit()
		return
	end
	skynet.register ".service"
	if skynet.getenv "standalone" then
		skynet.register "SERVICE"
		serve_globals()
	else
		forward_globals()
	end
	skynet.info_func(command.LIST)
end)
