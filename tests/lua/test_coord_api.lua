-- test_coord_api: the whole skynet.coord API on one node.  It runs against
-- the backend the config names (`coordinator`, default local); the only
-- difference it allows for is that a non-local backend may need a moment to
-- elect this node master.

local skynet = require "skynet"
require "skynet.manager"
local coord = require "skynet.coord"
local t = require "testlib"

local backend = skynet.getenv "coordinator" or "local"
local node = skynet.getenv "nodename" or "local"

-- Wait (at most ms) until cond() is true.
local function eventually(cond, ms)
	local deadline = skynet.now() + ms // 10
	while not cond() do
		if skynet.now() >= deadline then return false end
		skynet.sleep(1)
	end
	return true
end

local seen = {}

local function saw(...)
	local want = table.pack(...)
	for _, event in ipairs(seen) do
		local same = true
		for i = 1, want.n do
			if event[i] ~= want[i] then same = false break end
		end
		if same then return true end
	end
	return false
end

local function test_master()
	t.ok(eventually(function() return (coord.is_master()) end, 5000), "this node becomes master")
	local is, epoch = coord.is_master()
	t.ok(is == true and math.type(epoch) == "integer" and epoch >= 1, "is_master gives true and an epoch")
	local m, e = coord.master()
	t.eq({ m, e }, { node, epoch }, "master() names this node and the same epoch")
	t.eq(coord.fence(), epoch, "fence() is the master's epoch")
	if backend == "local" then
		t.eq(epoch, 1, "the local backend's epoch is 1")
	end
	t.ok(coord.nodes()[node] ~= nil, "nodes() lists this node")
end

local function test_register_query()
	local a = skynet.newservice "coord_holder"
	local b = skynet.newservice "coord_holder"
	t.eq(skynet.call(a, "lua", "REGISTER", "svc.a"), true, "register a name")
	local n, addr = coord.query("svc.a")
	t.eq({ n, addr }, { node, a }, "query gives the owner's node and address")
	t.raises(function() skynet.call(b, "lua", "REGISTER", "svc.a") end, "call failed",
		"a second owner's register raises in its service")
	t.raises(function() coord.register("svc.a", b) end,
		'"svc.a" is held by node ' .. node .. " %(" .. skynet.address(a) .. "%)",
		"the conflict error names the owner")
	t.eq(skynet.call(a, "lua", "REGISTER", "svc.a"), true, "the owner may register again")
	t.eq(coord.query("no.such.name"), nil, "query of an unknown name is nil")
	t.raises(function() coord.register("bad name") end, "invalid global name", "a name with a space is refused")
	skynet.kill(b)
	return a
end

local function test_call_send(a)
	t.eq(table.pack(coord.call("svc.a", "ECHO", 1, "two")), table.pack(1, "two"), "call by name")
	coord.send("svc.a", "SEND")
	coord.send("svc.a", "SEND")
	t.eq(coord.call("svc.a", "COUNT"), 2, "send by name")
	t.raises(function() coord.call("no.such.name", "ECHO") end, 'no service is registered as "no.such.name"',
		"call of an unknown name raises")
	t.eq(skynet.call(a, "lua", "COUNT"), 2, "same service by handle")
end

local function test_unregister_and_events(a)
	coord.watch(function(...) seen[#seen + 1] = table.pack(...) end)
	coord.register("svc.watched", a)
	t.ok(eventually(function() return saw("name", "registered", "svc.watched", node, a) end, 1000),
		"watch sees name registered")
	t.eq(coord.unregister("svc.watched"), true, "unregister")
	t.eq(coord.query("svc.watched"), nil, "query after unregister is nil")
	t.ok(eventually(function() return saw("name", "dropped", "svc.watched", node, a) end, 1000),
		"watch sees name dropped")
	t.eq(coord.unregister("svc.watched"), false, "unregister of a name nobody holds is false")
end

local function test_exit_drops_names(a)
	skynet.send(a, "lua", "EXIT")
	t.ok(eventually(function() return coord.query("svc.a") == nil end, 1000),
		"a name goes when its service exits")
	t.ok(saw("name", "dropped", "svc.a", node, a), "watch sees the exit drop")
	local k = skynet.newservice "coord_holder"
	skynet.call(k, "lua", "REGISTER", "svc.killed")
	skynet.kill(k)
	t.ok(eventually(function() return coord.query("svc.killed") == nil end, 1000),
		"a name goes when its service is killed")
	local c = skynet.newservice "coord_holder"
	t.eq(skynet.call(c, "lua", "REGISTER", "svc.a"), true, "the name is free again for another service")
	skynet.kill(c)
end

local function test_uniqueservice()
	local got = {}
	local me = coroutine.running()
	for i = 1, 3 do
		skynet.fork(function()
			got[i] = skynet.uniqueservice(true, "coord_holder")
			if got[1] and got[2] and got[3] then skynet.wakeup(me) end
		end)
	end
	skynet.wait(me)
	t.ok(math.type(got[1]) == "integer" and got[1] == got[2] and got[2] == got[3],
		"concurrent global uniqueservice starts one instance")
	t.eq(skynet.queryservice(true, "coord_holder"), got[1], "global queryservice finds it")
	t.eq({ coord.query("@coord_holder") }, { node, got[1] }, "it is the global name @coord_holder")
	local queried
	skynet.fork(function() queried = skynet.queryservice(true, "idle_service") end)
	skynet.sleep(2)
	t.eq(queried, nil, "global queryservice waits for a service nobody started")
	local started = skynet.uniqueservice(true, "idle_service")
	t.ok(eventually(function() return queried == started end, 1000), "and gets it once it starts")
	t.ok(skynet.uniqueservice "coord_holder" ~= got[1], "the local uniqueservice is separate")
end

skynet.start(function()
	t.run {
		{ "master", test_master },
		{ "register and query", function()
			local a = test_register_query()
			test_call_send(a)
			test_unregister_and_events(a)
			test_exit_drops_names(a)
		end },
		{ "uniqueservice", test_uniqueservice },
	}
end)
