-- cluster_node_a: the calling node of tests/cluster/test_cluster_*.sh.
-- Prints "ok - ..." / "not ok - ..." lines and "# done".  Phases that need
-- the script (garbage sender, kill, restart) are synchronised through
-- files in the folder given by the `test_dir` setting: this node prints
-- "PHASE <name>" and waits (bounded) for the file <name>.done.
local skynet = require "skynet"
local cluster = require "skynet.cluster"
local t = require "testlib"

local dir = assert(skynet.getenv "test_dir", "test_dir is not set")

local function file_exists(name)
	local f = io.open(dir .. "/" .. name)
	if f then f:close() end
	return f ~= nil
end

-- Announce a phase and wait (at most 20 s) for the script to finish it.
local function phase(name)
	print("PHASE " .. name)
	for _ = 1, 2000 do
		if file_exists(name .. ".done") then return true end
		skynet.sleep(1)
	end
	error("the script did not finish phase " .. name)
end

local function test_call_and_send()
	t.eq(cluster.call("b", "@echo", "echo", "hi", 2), "hi", "call by @name")
	local handle = cluster.query("b", "echo")
	t.ok(math.type(handle) == "integer", "query returns a handle")
	t.eq({ cluster.call("b", handle, "echo", 1, 2, 3) }, { 1, 2, 3 }, "call by address")
	t.eq(cluster.call("b", ".echo", "echo", "local"), "local", "call by local name")
	for i = 1, 1000 do
		cluster.send("b", "@echo", "push", "byname", i)
		cluster.send("b", handle, "push", "byaddr", i)
	end
	local want = {}
	for i = 1, 1000 do want[i] = i end
	t.eq(cluster.call("b", "@echo", "pushes", "byname"), want, "1000 pushes by name arrive in order")
	t.eq(cluster.call("b", handle, "pushes", "byaddr"), want, "1000 pushes by address arrive in order")
	t.raises(function() cluster.call("b", "@echo", "fail") end, "call failed", "a remote error raises")
end

local function test_payloads()
	for _, n in ipairs { 0, 32767, 32768, 1024 * 1024, 10 * 1024 * 1024 } do
		local s = {}
		for i = 1, n // 16 + 1 do s[i] = string.format("%015d|", i) end
		s = table.concat(s):sub(1, n)
		local r = cluster.call("b", "@echo", "echo", s)
		t.ok(r == s, string.format("a payload of %d bytes is echoed intact", n))
	end
end

local function test_concurrent()
	local done, bad = 0, 0
	for c = 1, 64 do
		skynet.fork(function()
			for i = 1, 50 do
				local ok, a, b = pcall(cluster.call, "b", "@echo", "echo", c, i)
				if not ok or a ~= c or b ~= i then bad = bad + 1 end
			end
			done = done + 1
		end)
	end
	for _ = 1, 2000 do
		if done == 64 then break end
		skynet.sleep(1)
	end
	t.eq({ done, bad }, { 64, 0 }, "64 coroutines x 50 calls, every answer right")
end

-- While the script sends garbage to b on raw sockets, keep calling.
local function test_garbage()
	local calls, failures, running = 0, 0, true
	skynet.fork(function()
		while running do
			local ok, r = pcall(cluster.call, "b", "@echo", "echo", calls)
			if not ok or r ~= calls then failures = failures + 1 end
			calls = calls + 1
			skynet.sleep(1)
		end
	end)
	phase("garbage")
	running = false
	skynet.sleep(2)
	t.ok(calls > 0 and failures == 0,
		string.format("calls go on while garbage connections are closed (%d calls, %d failed)", calls, failures))
	t.eq(cluster.call("b", "@echo", "echo", "after"), "after", "b still serves after the garbage")
end

local function test_kill_and_restart()
	local outcome
	skynet.fork(function()
		local start = skynet.now()
		local ok, err = pcall(cluster.call, "b", "@echo", "sleep", 1000)
		outcome = { ok = ok, err = tostring(err), took = skynet.now() - start }
	end)
	skynet.sleep(20)
	phase("kill") -- the script SIGKILLs b, after this call started
	for _ = 1, 300 do
		if outcome then break end
		skynet.sleep(1)
	end
	t.ok(outcome and not outcome.ok, "the call in flight fails when b is killed")
	t.ok(outcome and outcome.took < 150,
		"it fails within a second of the kill (" .. tostring(outcome and outcome.took) .. " cs after it began)")
	t.ok(outcome and outcome.err:find("[b]", 1, true), "the error names the node (" .. tostring(outcome and outcome.err) .. ")")
	t.raises(function() cluster.call("b", "@echo", "echo", 1) end, "call failed", "a call while b is down fails")
	phase("restart")
	local ok, r = pcall(cluster.call, "b", "@echo", "echo", "back")
	t.eq({ ok, r }, { true, "back" }, "after b restarts the next call works")
end

skynet.start(function()
	t.run {
		{ "call and send", test_call_and_send },
		{ "payloads", test_payloads },
		{ "concurrent", test_concurrent },
		{ "garbage", test_garbage },
		{ "kill and restart", test_kill_and_restart },
	}
end)
