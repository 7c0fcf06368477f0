-- test_debug_console: starts the debug console on port 0, connects to it
-- with skynet.socket and checks every command's answer: help, list, stat,
-- mem, gc, service, start, info, ping, task, uniqtask, kill, exit, logon,
-- logoff, signal, netstat, address forms and the error answers.

local skynet = require "skynet"
local socket = require "skynet.socket"
local t = require "testlib"

local WATCHDOG = 3000 -- centiseconds the whole test may take

-- The console's port, from its answer to the debug INFO request.
local function console_port(console)
	local info = skynet.call(console, "debug", "INFO")
	t.eq(info.ip, "127.0.0.1", "the console listens on 127.0.0.1 by default")
	return info.port
end

-- Sends one command line; returns the answer lines and the status line.
local function run(id, line)
	socket.write(id, line .. "\n")
	local lines = {}
	while true do
		local got = socket.readline(id)
		if not got then
			return lines, "closed"
		end
		if got == "<CMD OK>" or got == "<CMD Error>" then
			return lines, got
		end
		lines[#lines + 1] = got
	end
end

-- "key\tvalue" answer lines as a table.
local function as_table(lines)
	local map = {}
	for _, line in ipairs(lines) do
		local k, v = line:match("^([^\t]*)\t(.*)$")
		if k then
			map[k] = v
		end
	end
	return map
end

local function ok_table(id, line)
	local lines, status = run(id, line)
	t.eq(status, "<CMD OK>", line .. " answers <CMD OK>")
	return as_table(lines), lines
end

local function test_help(id)
	local help = ok_table(id, "help")
	for _, name in ipairs { "help", "list", "stat", "mem", "gc", "info", "kill", "exit",
		"ping", "task", "logon", "logoff", "signal", "start", "service", "netstat" } do
		t.ok(help[name] ~= nil and help[name] ~= "", "help lists " .. name)
	end
end

local function test_list(id, console)
	local list = ok_table(id, "list")
	t.eq(list[skynet.address(console)], "snlua debug_console 0", "list shows the console")
	t.eq(list[skynet.address(skynet.self())], "snlua test_debug_console", "list shows the test service")
end

local function test_mem_stat_gc(id, console)
	local me = skynet.address(console)
	local mem = ok_table(id, "mem")
	t.ok(mem[me] and mem[me]:match("^[%d.]+ Kb %(snlua debug_console 0%)$") ~= nil,
		"mem shows the console's memory (" .. tostring(mem[me]) .. ")")
	local gc = ok_table(id, "gc")
	t.ok(gc[me] and gc[me]:find("Kb") ~= nil, "gc answers with the memory after collection")
	local stat = ok_table(id, "stat")
	t.ok(stat[me] and stat[me]:find("mqlen=") and stat[me]:find("task=") ~= nil,
		"stat shows mqlen and task (" .. tostring(stat[me]) .. ")")
end

local function test_service(id)
	local list = ok_table(id, "service")
	t.ok(type(list) == "table", "service lists the unique services")
	skynet.uniqueservice("idle_service")
	list = ok_table(id, "service")
	t.ok(list.idle_service and list.idle_service:match("^:%x+$") ~= nil,
		"service shows a started unique service")
end

-- Starts an idle service through the console; returns its address text.
local function start_idle(id)
	local started = ok_table(id, "start idle_service x y")
	local addr, desc = next(started)
	t.eq(desc, "idle_service x y", "start answers the address and the command line")
	return addr
end

local function test_ping_info_task(id)
	local addr = start_idle(id)
	local lines, status = run(id, "ping " .. addr)
	t.ok(status == "<CMD OK>" and lines[1] and lines[1]:match("^[%d.]+ ms$") ~= nil,
		"ping answers with the round trip (" .. tostring(lines[1]) .. ")")
	local short = string.format("%x", tonumber(addr:sub(2), 16))
	_, status = run(id, "ping " .. short)
	t.eq(status, "<CMD OK>", "ping accepts the short hex form " .. short)
	_, status = run(id, "info " .. addr)
	t.eq(status, "<CMD OK>", "info answers for a service without info_func")
	local info = ok_table(id, "info .service")
	t.ok(info.idle_service ~= nil, "info .service shows service_mgr's list")
	lines, status = run(id, "task " .. addr)
	t.eq({ lines, status }, { {}, "<CMD OK>" }, "task of an idle service is empty")
	_, status = run(id, "uniqtask " .. addr)
	t.eq(status, "<CMD OK>", "uniqtask answers")
	local task = ok_table(id, "task .launcher")
	t.ok(type(task) == "table", "task of the launcher answers")
	return addr
end

local function test_kill(id, addr)
	t.ok(ok_table(id, "list")[addr] ~= nil, "the started service is listed")
	local killed = ok_table(id, "kill " .. addr)
	t.eq(killed[addr], "snlua idle_service x y", "kill answers the killed service")
	t.eq(ok_table(id, "list")[addr], nil, "a killed service is no longer listed")
	local lines, status = run(id, "ping " .. addr)
	t.eq(status, "<CMD Error>", "ping of a killed service is an error (" .. tostring(lines[1]) .. ")")
end

local function test_exit(id)
	local addr = start_idle(id)
	local _, status = run(id, "exit " .. addr)
	t.eq(status, "<CMD OK>", "exit answers")
	local gone = false
	for _ = 1, 100 do
		if as_table(run(id, "list"))[addr] == nil then
			gone = true
			break
		end
		skynet.sleep(1)
	end
	t.ok(gone, "a service told to exit leaves the list")
	local lines
	lines, status = run(id, "exit " .. addr)
	t.eq({ lines, status }, { { "No service at " .. addr }, "<CMD Error>" }, "exit of a gone service is an error")
end

local function test_runtime_commands(id)
	local addr = start_idle(id)
	local _, status = run(id, "logon " .. addr)
	t.eq(status, "<CMD OK>", "logon answers")
	_, status = run(id, "logoff " .. addr)
	t.eq(status, "<CMD OK>", "logoff answers")
	_, status = run(id, "signal " .. addr)
	t.eq(status, "<CMD OK>", "signal with the default signal answers")
	_, status = run(id, "signal " .. addr .. " 0")
	t.eq(status, "<CMD OK>", "signal 0 answers")
	local lines
	lines, status = run(id, "signal " .. addr .. " x")
	t.eq({ lines, status }, { { "Invalid signal x" }, "<CMD Error>" }, "a bad signal is an error")
	run(id, "kill " .. addr)
end

local function test_netstat(id, console)
	local list = ok_table(id, "netstat")
	local found
	for _, entry in pairs(list) do
		if entry:find("type=listen", 1, true)
			and entry:find("owner=" .. skynet.address(console), 1, true) then
			found = true
		end
	end
	t.ok(found, "netstat lists the console's listening socket")
end

local function test_errors(id)
	local lines, status = run(id, "nosuch 1 2")
	t.eq({ lines, status }, { { "Invalid command nosuch, type help for command list" }, "<CMD Error>" },
		"an unknown command is an error")
	lines, status = run(id, "ping")
	t.eq(status, "<CMD Error>", "a missing address is an error (" .. tostring(lines[1]) .. ")")
	lines, status = run(id, "kill zz")
	t.eq({ lines, status }, { { "Invalid address zz" }, "<CMD Error>" }, "a bad address is an error")
	lines, status = run(id, "info .nosuchname")
	t.eq({ lines, status }, { { "No service named .nosuchname" }, "<CMD Error>" }, "an unknown name is an error")
	lines, status = run(id, "start no_such_service_file")
	t.eq(status, "<CMD Error>", "start of a missing service is an error (" .. tostring(lines[1]) .. ")")
	-- a blank line gets no answer: the next command's answer comes first
	lines, status = run(id, "  \nping .launcher")
	t.ok(status == "<CMD OK>" and #lines == 1, "a blank line is ignored")
end

local function test_two_clients(port)
	local a = assert(socket.open("127.0.0.1", port))
	local b = assert(socket.open("127.0.0.1", port))
	socket.readline(a)
	socket.readline(b)
	local _, sa = run(a, "help")
	local _, sb = run(b, "help")
	t.eq({ sa, sb }, { "<CMD OK>", "<CMD OK>" }, "two consoles at once both answer")
	socket.close(a)
	socket.close(b)
end

skynet.start(function()
	skynet.timeout(WATCHDOG, function()
		print("not ok - the test did not finish within " .. WATCHDOG // 100 .. " s")
		t.done()
	end)
	local console = skynet.newservice("debug_console", 0)
	local port = console_port(console)
	t.ok(port and port > 0, "the console listens on a chosen port (" .. tostring(port) .. ")")
	local id = assert(socket.open("127.0.0.1", port))
	t.ok((socket.readline(id) or ""):find("console") ~= nil, "the console greets")
	t.run {
		{ "help", function() test_help(id) end },
		{ "list", function() test_list(id, console) end },
		{ "mem stat gc", function() test_mem_stat_gc(id, console) end },
		{ "service", function() test_service(id) end },
		{ "ping info task, kill", function() test_kill(id, test_ping_info_task(id)) end },
		{ "exit", function() test_exit(id) end },
		{ "logon logoff signal", function() test_runtime_commands(id) end },
		{ "netstat", function() test_netstat(id, console) end },
		{ "errors", function() test_errors(id) end },
		{ "two clients", function() test_two_clients(port) end },
	}
end)
