-- test_debug: the debug protocol every Lua service answers, and the
-- launcher's LIST / STAT / MEM / GC / KILL / QUERY commands.

local skynet = require "skynet"
require "skynet.manager"
local debug_proto = require "skynet.debug"
local t = require "testlib"

local function test_debug_commands()
	local e = skynet.newservice "echo_service"
	local kb = skynet.call(e, "debug", "MEM")
	t.ok(type(kb) == "number" and kb > 0, "MEM answers the Lua heap in Kb")
	t.ok(type(skynet.call(e, "debug", "GC")) == "number", "GC answers")
	local stat = skynet.call(e, "debug", "STAT")
	t.ok(type(stat) == "table" and stat.task ~= nil and stat.mqlen ~= nil and stat.message ~= nil,
		"STAT answers task, mqlen, cpu, message")
	t.eq({ skynet.call(e, "debug", "PING") }, {}, "PING answers")
	t.eq({ skynet.call(e, "debug", "INFO", 7) }, { "echo info", 7 }, "INFO calls info_func")
	t.eq(skynet.call(e, "debug", "SUPPORT", "lua"), true, "SUPPORT lua")
	t.eq(skynet.call(e, "debug", "SUPPORT", "client"), false, "SUPPORT of an unknown protocol")
	t.eq(skynet.call(e, "debug", "TASK"), {}, "TASK of an idle service is empty")
	t.eq({ skynet.call(e, "debug", "RUN", "print('hi', 1 + 1)", "inject") }, { true, "hi\t2" },
		"RUN runs code and returns its output")
	t.raises(function() skynet.call(e, "debug", "NO_SUCH") end, "call failed",
		"an unknown debug command raises in the caller")
	skynet.kill(e)
end

local function test_reg_debugcmd()
	debug_proto.reg_debugcmd("HELLO", function(name) skynet.retpack("hello " .. name) end)
	t.eq(skynet.call(skynet.self(), "debug", "HELLO", "world"), "hello world", "reg_debugcmd adds a command")
end

local function test_launcher()
	local e = skynet.newservice("echo_service", "tag1")
	local list = skynet.call(".launcher", "lua", "LIST")
	t.eq(list[skynet.address(e)], "snlua echo_service tag1", "LIST names the service and its args")
	local mem = skynet.call(".launcher", "lua", "MEM")
	t.ok(tostring(mem[skynet.address(e)]):find("Kb") ~= nil, "MEM lists each service")
	local stat = skynet.call(".launcher", "lua", "STAT")
	t.ok(type(stat[skynet.address(e)]) == "table", "STAT lists each service")
	t.ok(type(skynet.call(".launcher", "lua", "GC")) == "table", "GC answers the memory list")
	local killed = skynet.call(".launcher", "lua", "KILL", e)
	t.eq(killed, { [skynet.address(e)] = "snlua echo_service tag1" }, "KILL answers what it killed")
	t.eq(skynet.call(".launcher", "lua", "LIST")[skynet.address(e)], nil, "a killed service leaves LIST")
	t.raises(function() skynet.call(e, "lua", "ECHO") end, "invalid address", "KILL stopped it")
	t.eq(skynet.call(".launcher", "lua", "QUERY", -1), nil, "QUERY of an unknown session")
end

local function test_exit_leaves_list()
	local e = skynet.newservice "echo_service"
	skynet.send(e, "lua", "EXIT")
	skynet.sleep(5)
	t.eq(skynet.call(".launcher", "lua", "LIST")[skynet.address(e)], nil,
		"a service that exits leaves LIST")
end

skynet.start(function()
	t.run {
		{ "debug commands", test_debug_commands },
		{ "reg_debugcmd", test_reg_debugcmd },
		{ "launcher", test_launcher },
		{ "exit leaves list", test_exit_leaves_list },
	}
end)
