-- test_call: requests and answers between services: call, send, rawcall,
-- rawsend, ret, retpack, response, and every way a call can fail.

local skynet = require "skynet"
require "skynet.manager"
local t = require "testlib"

local function echo(...)
	return skynet.newservice("echo_service", ...)
end

local function test_call_and_send()
	local e = echo()
	t.eq({ skynet.call(e, "lua", "ECHO", 1, "two", { three = 3 }) }, { 1, "two", { three = 3 } },
		"call returns every value")
	t.eq({ skynet.call(e, "lua", "ECHO") }, {}, "call with no values")
	t.ok(skynet.send(e, "lua", "NOTE", "a") ~= nil, "send returns a session")
	skynet.send(e, "lua", "NOTE", "b")
	t.eq(skynet.call(e, "lua", "NOTES"), { "a", "b" }, "sends arrive in order before a later call")
	local msg, sz = skynet.pack("NOTE", "c")
	skynet.rawsend(e, "lua", msg, sz)
	local rmsg, rsz = skynet.rawcall(e, "lua", skynet.pack("ECHO", "raw"))
	t.eq({ skynet.unpack(rmsg, rsz) }, { "raw" }, "rawcall returns the packed answer")
	t.eq(skynet.call(e, "lua", "NOTES"), { "a", "b", "c" }, "rawsend delivers")
	t.eq({ skynet.call(skynet.address(e), "lua", "ECHO", "by name") }, { "by name" },
		"call by \":%08x\" string address")
	skynet.name(".test_echo", e)
	t.eq({ skynet.call(".test_echo", "lua", "ECHO", "local") }, { "local" }, "call by local name")
	t.eq({ skynet.call(e, "lua", "SLEEP", 5, "late") }, { "late" }, "call answered after a sleep")
	t.eq({ skynet.call(e, "lua", "RESPONSE_LATER", 5, "later") }, { "later" },
		"skynet.response answered from a forked task")
	local session, source = skynet.call(e, "lua", "CONTEXT")
	t.ok(session > 0 and source == skynet.self(), "skynet.context gives session and caller")
	t.eq(skynet.call(e, "lua", "ARGS"), nil, "service without args")
	local e2 = echo("x", "y")
	t.eq({ skynet.call(e2, "lua", "ARGS") }, { "x", "y" }, "newservice passes arguments")
	skynet.kill(e)
	skynet.kill(e2)
end

local function test_invalid_address()
	t.raises(function() skynet.call(0x00ffff00, "lua", "ECHO") end,
		"call to invalid address", "call to an unknown handle raises at once")
	t.raises(function() skynet.call(".no_such_name", "lua", "ECHO") end,
		"call to invalid address", "call to an unknown local name raises at once")
	local e = echo()
	skynet.call(e, "lua", "ECHO")
	skynet.kill(e)
	t.raises(function() skynet.call(e, "lua", "ECHO") end,
		"call to invalid address", "call to a killed service raises")
	t.eq(skynet.send(e, "lua", "NOTE", 1), nil, "send to a killed service returns nil")
	t.raises(function() skynet.call(e, "no_such_protocol") end,
		"unknown protocol", "call with an unknown protocol name raises")
end

local function test_callee_fails()
	local e = echo()
	t.raises(function() skynet.call(e, "lua", "FAIL", "boom") end, "call failed",
		"an error in the callee raises in the caller")
	t.eq({ skynet.call(e, "lua", "ECHO", "alive") }, { "alive" }, "callee survives its error")
	t.raises(function() skynet.call(e, "lua", "RESPONSE_ERROR") end, "call failed",
		"response(false) raises in the caller")
	t.raises(function() skynet.call(e, "lua", "NO_SUCH_COMMAND") end, "call failed",
		"unknown command in the callee raises in the caller")
	t.eq({ skynet.call(e, "lua", "RET_TWICE") }, { "first" }, "first ret is delivered")
	t.ok(tostring(skynet.call(e, "lua", "LAST_ERROR")):find("No session") ~= nil,
		"a second ret raises \"No session\"")
	t.eq({ skynet.call(e, "lua", "RESPONSE_TWICE") }, { "first" }, "first response is delivered")
	t.ok(tostring(skynet.call(e, "lua", "LAST_ERROR")):find("more than once") ~= nil,
		"a second response call raises")
	skynet.kill(e)
end

local function test_callee_exits_mid_call()
	local e = echo()
	local results = {}
	local done = 0
	local me = coroutine.running()
	for i = 1, 3 do
		skynet.fork(function()
			results[i] = { pcall(skynet.call, e, "lua", i == 3 and "HOLD_SLEEPING" or "HOLD") }
			done = done + 1
			if done == 3 then skynet.wakeup(me) end
		end)
	end
	skynet.sleep(5)
	skynet.send(e, "lua", "EXIT")
	skynet.wait(me)
	for i = 1, 3 do
		t.ok(results[i][1] == false and tostring(results[i][2]):find("call failed") ~= nil,
			"pending call " .. i .. " raises when the callee exits")
	end
	t.raises(function() skynet.call(e, "lua", "ECHO") end, "call to invalid address",
		"call after the callee exited raises")
end

local function test_callee_killed_mid_call()
	local e = echo()
	local result
	local me = coroutine.running()
	skynet.fork(function()
		result = { pcall(skynet.call, e, "lua", "HOLD") }
		skynet.wakeup(me)
	end)
	skynet.sleep(2)
	skynet.kill(e)
	skynet.wait(me)
	t.ok(result[1] == false and tostring(result[2]):find("call failed") ~= nil,
		"a pending call raises when the callee is killed")
end

local function test_exit_with_queued_calls()
	local e = echo()
	local results = {}
	local done = 0
	local me = coroutine.running()
	-- The callee is busy, so the calls queue up behind EXIT and must fail.
	skynet.send(e, "lua", "BUSY", 100)
	skynet.send(e, "lua", "EXIT")
	for i = 1, 5 do
		skynet.fork(function()
			results[i] = { pcall(skynet.call, e, "lua", "ECHO", i) }
			done = done + 1
			if done == 5 then skynet.wakeup(me) end
		end)
	end
	skynet.wait(me)
	local failed = 0
	for i = 1, 5 do
		if results[i][1] == false then failed = failed + 1 end
	end
	t.eq(failed, 5, "calls queued behind skynet.exit all raise")
end

local function test_self_call()
	skynet.dispatch("lua", function(_, _, cmd, ...)
		if cmd == "ECHO" then
			skynet.retpack(...)
		end
	end)
	t.eq({ skynet.call(skynet.self(), "lua", "ECHO", 42) }, { 42 }, "a service can call itself")
end

local function test_unknown_protocol_message()
	local e = echo()
	skynet.register_protocol { name = "client", id = skynet.PTYPE_CLIENT, pack = skynet.pack, unpack = skynet.unpack }
	t.raises(function() skynet.call(e, "client", "hello") end, "call failed",
		"a request of a protocol the callee lacks raises in the caller")
	t.eq({ skynet.call(e, "lua", "ECHO", "still") }, { "still" }, "callee survives an unknown protocol")
	skynet.kill(e)
end

skynet.start(function()
	t.run {
		{ "call and send", test_call_and_send },
		{ "invalid address", test_invalid_address },
		{ "callee fails", test_callee_fails },
		{ "callee exits mid-call", test_callee_exits_mid_call },
		{ "callee killed mid-call", test_callee_killed_mid_call },
		{ "exit with queued calls", test_exit_with_queued_calls },
		{ "self call", test_self_call },
		{ "unknown protocol", test_unknown_protocol_message },
	}
end)
