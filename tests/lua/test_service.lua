-- test_service: starting and finding services: newservice (and its
-- failures), uniqueservice, queryservice, the exit monitor, datacenter,
-- memlimit and the shutdown hook.

local skynet = require "skynet"
require "skynet.manager"
local core = require "skynet.core"
local datacenter = require "skynet.datacenter"
local t = require "testlib"

local function test_newservice_failures()
	t.raises(function() skynet.newservice "no_such_service_file" end, "call failed",
		"newservice of a missing file raises")
	t.raises(function() skynet.newservice "failing_start_service" end, "call failed",
		"newservice of a service whose start fails raises")
	t.eq(skynet.newservice "exit_in_start_service", nil,
		"newservice of a service that exits in its start returns nil")
end

local function test_uniqueservice()
	local a = skynet.uniqueservice "echo_service"
	local b = skynet.uniqueservice "echo_service"
	t.ok(type(a) == "number" and a == b, "uniqueservice returns the same address twice")
	t.eq(skynet.queryservice "echo_service", a, "queryservice finds it")
	local got = {}
	local me = coroutine.running()
	for i = 1, 3 do
		skynet.fork(function()
			got[i] = skynet.uniqueservice("idle_service")
			if #got == 3 then skynet.wakeup(me) end
		end)
	end
	skynet.wait(me)
	t.ok(got[1] == got[2] and got[2] == got[3], "concurrent uniqueservice starts one service")
	local queried
	skynet.fork(function() queried = skynet.queryservice "memlimit_service" end)
	skynet.yield()
	t.eq(queried, nil, "queryservice waits for a service nobody started")
	local started = skynet.uniqueservice("memlimit_service", 100000000)
	for _ = 1, 100 do -- the answer crosses service_mgr: wait for it, bounded
		if queried ~= nil then break end
		skynet.sleep(1)
	end
	t.eq(queried, started, "the waiting queryservice gets it once it starts")
	t.raises(function() skynet.uniqueservice "no_such_service_file" end, "call failed",
		"uniqueservice of a missing file raises")
	local g = skynet.uniqueservice(true, "echo_service")
	t.ok(type(g) == "number" and g ~= a, "global uniqueservice is separate from the local one")
	t.eq(skynet.uniqueservice(true, "echo_service"), g, "global uniqueservice twice")
	t.eq(skynet.queryservice(true, "echo_service"), g, "global queryservice")
end

local function test_monitor()
	local m = skynet.monitor "monitor_service"
	local e = skynet.newservice "echo_service"
	skynet.send(e, "lua", "EXIT")
	skynet.sleep(5)
	local seen = false
	for _, h in ipairs(skynet.call(m, "lua", "EXITS")) do
		if h == e then seen = true end
	end
	t.ok(seen, "the exit monitor hears of an exiting service")
end

local function test_datacenter()
	t.eq(datacenter.get("nothing"), nil, "get of an unset key")
	datacenter.set("a", "b", 42)
	t.eq(datacenter.get("a", "b"), 42, "set then get a path")
	t.eq(datacenter.get("a"), { b = 42 }, "get of a branch")
	t.eq(datacenter.set("a", "b", 43), 42, "set returns the value it replaced")
	local waited
	skynet.fork(function() waited = datacenter.wait("later", "x") end)
	skynet.sleep(2)
	t.eq(waited, nil, "wait blocks on an unset path")
	datacenter.set("later", "x", "here")
	skynet.sleep(2)
	t.eq(waited, "here", "wait returns once the path is set")
	t.eq(datacenter.wait("a", "b"), 43, "wait on a set path returns at once")
end

local function test_memlimit()
	local m = skynet.newservice("memlimit_service", 4 * 1024 * 1024)
	t.eq(skynet.call(m, "lua", "ALLOC", 64 * 1024), true, "a small allocation fits the limit")
	t.raises(function() skynet.call(m, "lua", "ALLOC", 16 * 1024 * 1024) end, "call failed",
		"going over memlimit fails the request")
	skynet.kill(m)
end

local function test_onshutdown()
	local ran = {}
	skynet.dispatch("lua", function(_, _, cmd, who)
		if cmd == "SHUTDOWN_RAN" then ran[#ran + 1] = who end
	end)
	local s = skynet.newservice("shutdown_service", skynet.self())
	core.send(s, skynet.PTYPE_SYSTEM, 0, "SHUTDOWN")
	skynet.sleep(5)
	t.eq(ran, { s }, "the shutdown hook runs on the SHUTDOWN system message")
	skynet.kill(s)
end

skynet.start(function()
	t.run {
		{ "newservice failures", test_newservice_failures },
		{ "uniqueservice", test_uniqueservice },
		{ "monitor", test_monitor },
		{ "datacenter", test_datacenter },
		{ "memlimit", test_memlimit },
		{ "onshutdown", test_onshutdown },
	}
end)
