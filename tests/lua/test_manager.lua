-- test_manager: skynet.manager (launch, kill, redirect, forward_type,
-- filter) and the rarer task tools: term, ignoreret, unknown-message hooks.

local skynet = require "skynet"
require "skynet.manager"
local t = require "testlib"

local function test_launch_and_kill()
	local h = skynet.launch("snlua", "echo_service", "a")
	t.ok(math.type(h) == "integer", "launch returns a handle")
	skynet.sleep(1)
	t.eq({ skynet.call(h, "lua", "ARGS") }, { "a" }, "a launched service runs with its arguments")
	t.eq(skynet.launch("no_such_module"), nil, "launch of an unknown module returns nil")
	skynet.kill(h)
	t.raises(function() skynet.call(h, "lua", "ECHO") end, "invalid address", "kill by handle")
	local named = skynet.newservice "echo_service"
	skynet.name(".test_manager_victim", named)
	skynet.kill ".test_manager_victim"
	skynet.sleep(1)
	t.eq(skynet.localname ".test_manager_victim", nil, "kill by name")
end

local function test_forward_type()
	local e = skynet.newservice "echo_service"
	local proxy = skynet.newservice("forward_service", e)
	for i = 1, 20 do
		local got = skynet.call(proxy, "lua", "ECHO", i, string.rep("x", i * 100))
		if got ~= i then
			t.eq(got, i, "forwarded call " .. i)
			return
		end
	end
	t.ok(true, "calls through a forward_type proxy reach the target and answer the caller")
	t.eq({ skynet.call(proxy, "debug", "PING") }, {}, "types the proxy does not forward are dispatched")
	skynet.register_protocol {
		name = "text",
		id = skynet.PTYPE_TEXT,
		pack = function(text) return text end,
		unpack = skynet.tostring,
	}
	t.raises(function() skynet.call(proxy, "text", "hello") end, "call failed",
		"a type the proxy neither forwards nor handles fails")
	skynet.kill(proxy)
	skynet.kill(e)
end

local function test_filter()
	local f = skynet.newservice "filter_service"
	skynet.send(f, "debug", "GC")
	local n = skynet.call(f, "lua", "COUNT")
	t.ok(n >= 2, "the filter sees every message (" .. n .. ")")
	skynet.kill(f)
end

local function test_term()
	local e = skynet.newservice "echo_service"
	local result
	skynet.fork(function() result = { pcall(skynet.call, e, "lua", "HOLD") } end)
	skynet.sleep(1)
	skynet.term(e)
	skynet.yield()
	t.ok(result and result[1] == false, "term fails the calls waiting on a service")
	skynet.kill(e)
end

local function test_unknown_hooks()
	local me = coroutine.running()
	local seen
	local previous = skynet.dispatch_unknown_request(function(session, source, msg, sz, prototype)
		seen = prototype
		skynet.wakeup(me)
	end)
	t.ok(type(previous) == "function", "dispatch_unknown_request returns the previous hook")
	require("skynet.core").send(skynet.self(), skynet.PTYPE_CLIENT, 0, "x")
	skynet.wait(me)
	t.eq(seen, skynet.PTYPE_CLIENT, "an unregistered message type reaches the hook")
	skynet.dispatch_unknown_request(previous)
end

local function test_ignoreret()
	local answered
	skynet.dispatch("lua", function(_, _, cmd)
		if cmd == "QUIET" then
			skynet.ignoreret()
			answered = "no"
		end
	end)
	skynet.send(skynet.self(), "lua", "QUIET")
	skynet.yield()
	t.eq(answered, "no", "ignoreret drops the pending answer")
end

skynet.start(function()
	t.run {
		{ "launch and kill", test_launch_and_kill },
		{ "forward_type", test_forward_type },
		{ "filter", test_filter },
		{ "term", test_term },
		{ "unknown hooks", test_unknown_hooks },
		{ "ignoreret", test_ignoreret },
	}
end)
