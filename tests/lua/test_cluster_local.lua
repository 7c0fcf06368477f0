-- test_cluster_local: the cluster services inside one node, which calls
-- itself through a real TCP connection (node "self" = 127.0.0.1:<port>).
local skynet = require "skynet"
require "skynet.manager"
local cluster = require "skynet.cluster"
local t = require "testlib"

local echo
local self_address

local function test_open()
	local addr, port = cluster.open(0)
	t.ok(math.type(port) == "integer" and port > 0, "cluster.open(0) listens on a free port")
	self_address = "127.0.0.1:" .. port
	cluster.reload { self = self_address, down = false, __nowaiting = true }
	echo = skynet.newservice("cluster_echo")
	skynet.name(".echo", echo)
	cluster.register("echo", echo)
	t.ok(addr ~= nil, "open returns an address")
end

local function test_calls()
	t.eq({ cluster.call("self", "@echo", "echo", 1, "two", { 3 }) }, { 1, "two", { 3 } }, "call by @name")
	t.eq(cluster.call("self", echo, "echo", "x"), "x", "call by handle")
	t.eq(cluster.call("self", ".echo", "echo", "y"), "y", "call by local name")
	t.eq(cluster.query("self", "echo"), echo, "query returns the registered handle")
	t.raises(function() cluster.query("self", "nobody") end, "call failed", "query of an unknown name raises")
	t.raises(function() cluster.call("self", "@nobody", "echo") end, "call failed", "call to an unknown @name raises")
	t.raises(function() cluster.call("self", "@echo", "fail") end, "call failed", "a remote error raises")
	t.raises(function() cluster.call("down", "@echo", "echo") end, "down", "a node set to false refuses")
	t.raises(function() cluster.call("nowhere", "@echo", "echo") end, "absent", "an unknown node fails with __nowaiting")
end

local function test_sizes()
	for _, n in ipairs { 0, 32767, 32768, 40000, 1024 * 1024, 10 * 1024 * 1024 } do
		local s = string.rep("z", n)
		local r = cluster.call("self", "@echo", "echo", s)
		t.ok(r == s, string.format("echo of %d bytes", n))
	end
end

local function test_pushes()
	for i = 1, 500 do
		cluster.send("self", "@echo", "push", "k", i)
	end
	local big = string.rep("b", 100000)
	cluster.send("self", echo, "push", "big", big)
	local got = cluster.call("self", "@echo", "pushes", "k")
	local want = {}
	for i = 1, 500 do want[i] = i end
	t.eq(got, want, "500 pushes arrive in order")
	local bigs
	for _ = 1, 100 do
		bigs = cluster.call("self", "@echo", "pushes", "big")
		if #bigs > 0 then break end
		skynet.sleep(1)
	end
	t.ok(bigs[1] == big, "a multi-part push arrives")
end

local function test_concurrent()
	local done, bad = 0, 0
	local start = skynet.hpc()
	local per = 200
	for c = 1, 64 do
		skynet.fork(function()
			for i = 1, per do
				if cluster.call("self", "@echo", "echo", c, i) ~= c then bad = bad + 1 end
			end
			done = done + 1
		end)
	end
	for _ = 1, 3000 do
		if done == 64 then break end
		skynet.sleep(1)
	end
	local secs = (skynet.hpc() - start) / 1e9
	t.eq({ done, bad }, { 64, 0 }, "64 coroutines x 200 calls all answered right")
	print(string.format("# 64 coroutines: %.0f calls/s", 64 * per / secs))
	local n = 2000
	start = skynet.hpc()
	for i = 1, n do cluster.call("self", echo, "echo", i) end
	print(string.format("# 1 coroutine: %.1f us per call", (skynet.hpc() - start) / n / 1000))
end

local function test_proxy()
	local p = cluster.proxy("self@echo")
	t.eq(skynet.call(p, "lua", "echo", "via proxy"), "via proxy", "a proxy forwards calls")
	t.eq(cluster.proxy("self", "@echo"), p, "one proxy per node and name")
	skynet.send(p, "lua", "push", "proxy", 1)
	t.eq(skynet.call(p, "lua", "pushes", "proxy"), { 1 }, "a proxy forwards sends")
end

local function wait_for(cond)
	for _ = 1, 300 do
		if cond() then return true end
		skynet.sleep(1)
	end
	return false
end

local function test_reload()
	local first = select(2, cluster.open(0))
	local second = select(2, cluster.open(0))
	cluster.reload { moving = "127.0.0.1:" .. first }
	t.eq(cluster.call("moving", "@echo", "echo", 1), 1, "a node added by reload answers")
	cluster.reload { moving = "127.0.0.1:" .. second }
	t.ok(wait_for(function() return pcall(cluster.call, "moving", "@echo", "echo", 2) end),
		"after its address changed the node answers on the new one")
	cluster.reload { moving = false }
	t.raises(function() cluster.call("moving", "@echo", "echo", 3) end, "call failed",
		"a node set to false refuses calls through its existing sender")
	cluster.reload { moving = "127.0.0.1:" .. first }
	t.ok(wait_for(function() return pcall(cluster.call, "moving", "@echo", "echo", 4) end),
		"given an address again it answers")
	t.raises(function() cluster.reload { bad = 12 } end, "call failed", "a reload with a bad value raises")
end

local function test_waiting()
	cluster.reload { __nowaiting = false }
	local result
	skynet.fork(function()
		result = { pcall(cluster.call, "later", "@echo", "echo", "late") }
	end)
	skynet.sleep(10)
	t.eq(result, nil, "a call to an undefined node waits")
	cluster.reload { later = cluster.call("self", "@echo", "echo", self_address) }
	t.ok(wait_for(function() return result ~= nil end), "a reload defining the node wakes it")
	t.eq(result, { true, "late" }, "and the call goes through")
	cluster.reload { __nowaiting = true }
end

local resolved = {}

local function test_resolver()
	local clusterd = skynet.uniqueservice("clusterd")
	resolved.dyn = self_address
	skynet.call(clusterd, "lua", "resolver", skynet.self())
	t.eq(cluster.call("dyn", "@echo", "echo", "d"), "d", "a node the resolver knows is reachable")
	skynet.send(clusterd, "lua", "update", "dyn", false)
	t.ok(wait_for(function() return not pcall(cluster.call, "dyn", "@echo", "echo", 1) end),
		"an update to false makes it refuse")
	skynet.send(clusterd, "lua", "update", "dyn", self_address)
	t.ok(wait_for(function() return pcall(cluster.call, "dyn", "@echo", "echo", 1) end),
		"an update with an address brings it back")
	skynet.send(clusterd, "lua", "update", "self", false)
	skynet.sleep(5)
	t.eq(cluster.call("self", "@echo", "echo", "s"), "s", "the static table wins over updates")
	t.raises(function() cluster.call("unknown", "@echo", "echo") end, "absent",
		"a node the resolver does not know is absent")
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, node)
		assert(cmd == "resolve")
		skynet.retpack(resolved[node])
	end)
	t.run {
		{ "open", test_open },
		{ "calls", test_calls },
		{ "sizes", test_sizes },
		{ "pushes", test_pushes },
		{ "concurrent", test_concurrent },
		{ "proxy", test_proxy },
		{ "reload", test_reload },
		{ "waiting", test_waiting },
		{ "resolver", test_resolver },
	}
end)
