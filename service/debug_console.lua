-- debug_console: an operator's line console on a TCP port, speaking skynet's
-- console protocol.  Start it with skynet.newservice("debug_console", port
-- [, ip]) (ip defaults to 127.0.0.1; port 0 picks a free port, logged as
-- "debug_console listening on <ip>:<port>", and answered by the debug INFO
-- request as { ip = ip, port = port }).  Each line is a command and its
-- arguments separated by spaces; the answer is some lines followed by
-- "<CMD OK>", or an error text followed by "<CMD Error>".
--
-- Commands live in one table, one function each, registered with
-- define(name, help, fn): fn(args...) returns nil, a string or a table to
-- print.  Adding a command (e.g. a node's coordinator view) is one define().

local skynet = require "skynet"
local socket = require "skynet.socket"
local core = require "skynet.core"
require "skynet.manager"

local listen_port, listen_ip = ...
listen_ip = listen_ip or "127.0.0.1"

local CALL_TIMEOUT = 500 -- centiseconds a queried service has to answer

local commands = {} -- name -> { help = text, run = fn }

local function define(name, help, run)
	commands[name] = { help = help, run = run }
end

----------------------------------------------------------------------------
-- Helpers: addresses, bounded calls, output formatting
----------------------------------------------------------------------------

-- Accepts ":0000000a", "a" (hex, this node's harbor) and ".name".
local function parse_address(text)
	if text == nil then
		error("Need an address (:0000000a, a or .name)", 0)
	end
	local first = text:sub(1, 1)
	if first == "." then
		return skynet.localname(text) or error("No service named " .. text, 0)
	end
	local hex = first == ":" and text:sub(2) or text
	local handle = hex:match("^%x+$") and tonumber(hex, 16)
	if handle == nil then
		error("Invalid address " .. text, 0)
	end
	if first ~= ":" then
		handle = handle | (skynet.harbor(skynet.self()) << 24)
	end
	return handle
end

-- skynet.call that gives up after CALL_TIMEOUT; raises on error or timeout.
local function call(addr, typename, ...)
	local token = {}
	local result
	skynet.fork(function(...)
		result = table.pack(pcall(skynet.call, addr, typename, ...))
		skynet.wakeup(token)
	end, ...)
	skynet.timeout(CALL_TIMEOUT, function() skynet.wakeup(token) end)
	skynet.wait(token)
	if result == nil then
		error(string.format("%s did not answer within %d s",
			skynet.address(addr), CALL_TIMEOUT // 100), 0)
	end
	if not result[1] then
		error(tostring(result[2]), 0)
	end
	return table.unpack(result, 2, result.n)
end

local function sorted_keys(t)
	local keys = {}
	for k in pairs(t) do
		keys[#keys + 1] = k
	end
	table.sort(keys, function(a, b)
		local kind = type(a)
		if kind == type(b) and (kind == "number" or kind == "string") then
			return a < b
		end
		return tostring(a) < tostring(b)
	end)
	return keys
end

-- A value on one line: tables as "k=v k=v" (nested ones in braces).
local function inline(value)
	if type(value) ~= "table" then
		return tostring(value)
	end
	local parts = {}
	for _, k in ipairs(sorted_keys(value)) do
		local v = value[k]
		local text = type(v) == "table" and "{" .. inline(v) .. "}" or tostring(v)
		parts[#parts + 1] = tostring(k) .. "=" .. text
	end
	return table.concat(parts, " ")
end

-- The lines printing a command's result: a table gives "key\tvalue" lines.
local function result_lines(result)
	if result == nil then
		return {}
	end
	if type(result) ~= "table" then
		return { tostring(result) }
	end
	local lines = {}
	for _, k in ipairs(sorted_keys(result)) do
		lines[#lines + 1] = tostring(k) .. "\t" .. inline(result[k])
	end
	return lines
end

----------------------------------------------------------------------------
-- Commands
----------------------------------------------------------------------------

define("help", "This help message", function()
	local list = {}
	for name, entry in pairs(commands) do
		list[name] = entry.help
	end
	return list
end)

define("list", "List all the services", function()
	return call(".launcher", "lua", "LIST")
end)

define("stat", "Dump all stats", function()
	return call(".launcher", "lua", "STAT")
end)

define("mem", "Show memory status (Kb per service)", function()
	return call(".launcher", "lua", "MEM")
end)

define("gc", "Force every Lua service to collect garbage", function()
	return call(".launcher", "lua", "GC")
end)

define("service", "List the unique services", function()
	return call(".service", "lua", "LIST")
end)

define("start", "start <service> [args...]: launch a new Lua service", function(name, ...)
	if name == nil then
		error("Need a service name", 0)
	end
	local ok, addr = pcall(skynet.newservice, name, ...)
	if not ok or addr == nil then
		error("Failed to start " .. name .. (ok and "" or ": " .. tostring(addr)), 0)
	end
	return { [skynet.address(addr)] = table.concat({ name, ... }, " ") }
end)

define("kill", "kill <addr>: kill a service", function(addr)
	return call(".launcher", "lua", "KILL", parse_address(addr))
end)

define("exit", "exit <addr>: ask a service to exit", function(addr)
	local handle = parse_address(addr)
	if skynet.send(handle, "debug", "EXIT") == nil then
		error("No service at " .. skynet.address(handle), 0)
	end
end)

define("info", "info <addr> [args...]: the service's own info", function(addr, ...)
	return call(parse_address(addr), "debug", "INFO", ...)
end)

define("ping", "ping <addr>: round trip time in ms", function(addr)
	local handle = parse_address(addr)
	local started = skynet.hpc()
	call(handle, "debug", "PING")
	return string.format("%.3f ms", (skynet.hpc() - started) / 1e6)
end)

define("task", "task <addr>: the service's waiting tasks", function(addr)
	return call(parse_address(addr), "debug", "TASK")
end)

define("uniqtask", "uniqtask <addr>: the service's waiting tasks, grouped", function(addr)
	return call(parse_address(addr), "debug", "UNIQTASK")
end)

local function runtime_command(cmd, addr, param)
	local text = skynet.address(parse_address(addr))
	core.command(cmd, param and text .. " " .. param or text)
end

define("logon", "logon <addr>: log the service's messages to a file", function(addr)
	runtime_command("LOGON", addr)
end)

define("logoff", "logoff <addr>: stop logging the service", function(addr)
	runtime_command("LOGOFF", addr)
end)

define("signal", "signal <addr> [sig]: send a signal (0 breaks an endless loop)", function(addr, sig)
	if sig ~= nil and not sig:match("^%d+$") then
		error("Invalid signal " .. sig, 0)
	end
	runtime_command("SIGNAL", addr, sig or "0")
end)

define("netstat", "List the sockets of the node", function()
	local list = {}
	for _, s in ipairs(socket.info()) do
		list[string.format("%d", s.id)] = {
			type = s.type, address = s.address, owner = skynet.address(s.owner),
			read = s.read, write = s.write, wbuffer = s.wbuffer, paused = s.paused,
		}
	end
	return list
end)

define("coord", "This node's coordinator view: backend, master, lease, names, nodes", function()
	local ok, view = call(".coordd", "lua", "VIEW")
	if not ok then
		error("coordd: " .. tostring(view), 0)
	end
	return view
end)

----------------------------------------------------------------------------
-- The connection loop
----------------------------------------------------------------------------

local function split_words(line)
	local words = {}
	for word in line:gmatch("%S+") do
		words[#words + 1] = word
	end
	return words
end

-- Runs one command line; returns the answer lines, ending with the status.
local function execute(line)
	local words = split_words(line)
	local entry = commands[words[1]]
	if entry == nil then
		return { "Invalid command " .. words[1] .. ", type help for command list", "<CMD Error>" }
	end
	local ok, result = pcall(entry.run, table.unpack(words, 2))
	if not ok then
		return { tostring(result), "<CMD Error>" }
	end
	local lines = result_lines(result)
	lines[#lines + 1] = "<CMD OK>"
	return lines
end

local function serve(id, addr)
	if not socket.start(id) then
		return
	end
	skynet.error("debug_console: connection from " .. addr)
	socket.write(id, "Welcome to skynode console\n")
	while true do
		local line = socket.readline(id, "\n")
		if not line then
			break
		end
		line = line:gsub("\r$", "")
		if line:find("%S") then
			socket.write(id, table.concat(execute(line), "\n") .. "\n")
		end
	end
	socket.close(id)
end

skynet.start(function()
	local port = tonumber(listen_port)
	assert(port, "usage: skynet.newservice(\"debug_console\", port [, ip])")
	local listener, _, bound = socket.listen(listen_ip, port)
	skynet.error(string.format("debug_console listening on %s:%d", listen_ip, bound))
	skynet.info_func(function() return { ip = listen_ip, port = bound } end)
	socket.start(listener, function(id, addr)
		skynet.fork(serve, id, addr)
	end)
end)
