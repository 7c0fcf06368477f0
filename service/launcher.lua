-- launcher: starts services for skynet.newservice and keeps the list of
-- running ones.  A LAUNCH request is answered when the new service reports
-- LAUNCHOK (its start function returned) or ERROR (it failed).
-- Commands (lua protocol): LAUNCH, LOGLAUNCH, LIST, STAT, MEM, GC, KILL,
-- REMOVE, LAUNCHOK, ERROR, QUERY.  C services report through the text
-- protocol ("" = started, "ERROR").

local skynet = require "skynet"
require "skynet.manager"
local core = require "skynet.core"

local services = {}       -- handle -> "module args"
local launching = {}      -- handle -> response closure of the LAUNCH request
local launch_session = {} -- handle -> session of the LAUNCH request
local NORET = {}

local command = {}

local function service_list()
	local list = {}
	for handle, desc in pairs(services) do
		list[skynet.address(handle)] = desc
	end
	return list
end

-- Ask every service the debug command cmd at once; format(answer, desc) makes
-- each entry.  A service that does not answer within timeout (centiseconds)
-- is listed as such.
local function ask_all(cmd, format, timeout)
	local list = {}
	local pending = 0
	local me = coroutine.running()
	local finished = false
	for handle, desc in pairs(services) do
		pending = pending + 1
		local addr = skynet.address(handle)
		list[addr] = "no answer"
		skynet.fork(function()
			local ok, answer = pcall(skynet.call, handle, "debug", cmd)
			list[addr] = ok and format(answer, desc) or ("error: " .. desc)
			pending = pending - 1
			if pending == 0 and not finished then
				skynet.wakeup(me)
			end
		end)
	end
	if pending > 0 then
		skynet.timeout(timeout or 100, function()
			if not finished then
				skynet.wakeup(me)
			end
		end)
		skynet.wait(me)
	end
	finished = true
	return list
end

function command.LIST()
	return service_list()
end

function command.STAT()
	return ask_all("STAT", function(stat) return stat end)
end

function command.MEM()
	return ask_all("MEM", function(kb, desc)
		return string.format("%.2f Kb (%s)", kb, desc)
	end)
end

function command.GC()
	for handle in pairs(services) do
		skynet.send(handle, "debug", "GC")
	end
	return command.MEM()
end

function command.KILL(_, handle)
	if type(handle) == "string" then
		handle = skynet.localname(handle) or tonumber(handle:match("^:(%x+)$") or "", 16)
	end
	local desc = handle and services[handle]
	if handle then
		skynet.kill(handle)
		services[handle] = nil
	end
	return { [skynet.address(handle)] = tostring(desc) }
end

-- A service left (skynet.exit: kill = false) or was killed (kill = true).
-- If it was still starting, its newservice caller gets nil (exit) or an
-- error (killed).
function command.REMOVE(_, handle, kill)
	services[handle] = nil
	local response = launching[handle]
	if response then
		launching[handle] = nil
		launch_session[handle] = nil
		response(not kill)
	end
	return NORET
end

-- Start module with args; the request is answered later by LAUNCHOK, ERROR
-- or REMOVE.  Returns the new handle, or nil (answered with an error now).
local function launch(module, ...)
	local handle = skynet.launch(module, ...)
	local session = skynet.context()
	local response = skynet.response()
	if handle == nil then
		response(false)
		return nil
	end
	services[handle] = table.concat({ module, ... }, " ")
	launching[handle] = response
	launch_session[handle] = session
	return handle
end

function command.LAUNCH(_, module, ...)
	launch(module, ...)
	return NORET
end

-- LAUNCH, with the new service's log going to its own file.
function command.LOGLAUNCH(_, module, ...)
	local handle = launch(module, ...)
	if handle then
		core.command("LOGON", skynet.address(handle))
	end
	return NORET
end

function command.LAUNCHOK(handle)
	local response = launching[handle]
	if response then
		response(true, handle)
		launching[handle] = nil
		launch_session[handle] = nil
	end
	return NORET
end

function command.ERROR(handle)
	local response = launching[handle]
	if response then
		response(false)
		launching[handle] = nil
		launch_session[handle] = nil
	end
	services[handle] = nil
	return NORET
end

-- Which service is being started by the LAUNCH request with this session?
function command.QUERY(_, session)
	for handle, s in pairs(launch_session) do
		if s == session then
			return handle
		end
	end
end

skynet.register_protocol {
	name = "text",
	id = skynet.PTYPE_TEXT,
	unpack = skynet.tostring,
	dispatch = function(_, source, text)
		if text == "" then
			command.LAUNCHOK(source)
		elseif text == "ERROR" then
			command.ERROR(source)
		else
			error("launcher: invalid text command " .. text)
		end
	end,
}

-- Installed before the start function runs: requests (bootstrap's first
-- LAUNCH) may arrive before the start timer fires.
skynet.dispatch("lua", function(_, source, cmd, ...)
	local f = command[string.upper(cmd)]
	if f == nil then
		skynet.retpack { "Unknown command" }
		return
	end
	local result = f(source, ...)
	if result ~= NORET then
		skynet.retpack(result)
	end
end)

skynet.start(function() end)
