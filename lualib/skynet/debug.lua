-- skynet/debug.lua: the debug protocol (PTYPE_DEBUG) every Lua service
-- answers: memory, GC, statistics, pending tasks, info, ping, code injection.
-- skynet.lua installs it with init(); services add commands with
-- reg_debugcmd(name, fn) and an INFO answer with skynet.info_func(fn).

local M = {}

local extra_commands = {}

function M.reg_debugcmd(name, fn)
	extra_commands[name] = fn
end

-- Run source in an environment whose print collects lines; returns ok and
-- the collected output.
local function run_source(source, filename, ...)
	local lines = {}
	local env = setmetatable({
		print = function(...)
			local parts = table.pack(...)
			for i = 1, parts.n do
				parts[i] = tostring(parts[i])
			end
			lines[#lines + 1] = table.concat(parts, "\t", 1, parts.n)
		end,
	}, { __index = _ENV })
	local chunk, err = load(source, "@" .. tostring(filename), "t", env)
	if not chunk then
		return false, err
	end
	local ok, result = xpcall(chunk, debug.traceback, ...)
	if not ok then
		lines[#lines + 1] = tostring(result)
	end
	return ok, table.concat(lines, "\n")
end

local function debug_commands(skynet)
	local info_func
	local cmd = {}

	function skynet.info_func(fn)
		info_func = fn
	end

	function cmd.MEM()
		skynet.retpack(collectgarbage "count")
	end

	function cmd.GC()
		collectgarbage "collect"
		skynet.retpack(collectgarbage "count")
	end

	function cmd.STAT()
		skynet.retpack {
			task = skynet.task(),
			mqlen = skynet.stat "mqlen",
			cpu = skynet.stat "cpu",
			message = skynet.stat "message",
		}
	end

	function cmd.TASK(session)
		if session then
			skynet.retpack(skynet.task(session))
		else
			skynet.retpack(skynet.task {})
		end
	end

	function cmd.UNIQTASK()
		skynet.retpack(skynet.uniqtask())
	end

	function cmd.KILLTASK(thread)
		skynet.retpack(skynet.killthread(thread) ~= nil)
	end

	function cmd.INFO(...)
		if info_func then
			skynet.retpack(info_func(...))
		else
			skynet.retpack(nil)
		end
	end

	function cmd.PING()
		skynet.ret()
	end

	-- Answered only when this service exits: lets a caller watch it.
	function cmd.LINK()
		skynet.response()
	end

	function cmd.EXIT()
		skynet.exit()
	end

	function cmd.TERM(addr)
		skynet.term(addr)
	end

	function cmd.RUN(source, filename, ...)
		skynet.retpack(run_source(source, filename or "=(debug)", ...))
	end

	function cmd.SUPPORT(typename)
		skynet.retpack(skynet.dispatch(typename) ~= nil)
	end

	function cmd.TRACELOG(typename, flag)
		if type(typename) ~= "string" then
			typename, flag = "lua", typename
		end
		skynet.error(string.format("Turn trace log %s for %s", tostring(flag), typename))
		skynet.traceproto(typename, flag)
		skynet.ret()
	end

	return cmd
end

function M.init(skynet)
	local cmd = debug_commands(skynet)
	skynet.register_protocol {
		name = "debug",
		id = skynet.PTYPE_DEBUG,
		pack = skynet.pack,
		unpack = skynet.unpack,
		dispatch = function(_, _, name, ...)
			local f = cmd[name] or extra_commands[name]
			if f == nil then
				error("unknown debug command " .. tostring(name))
			end
			f(...)
		end,
	}
end

return M
