-- test_gate: service/gate.lua and snax.gateserver inside a node.  This
-- service is both the gate's watchdog and the agent clients are forwarded
-- to: it records every "socket" event and every "client" packet.

local skynet = require "skynet"
local socket = require "skynet.socket"
local t = require "testlib"

local events = {}      -- { kind, fd, arg } from the gate
local packets = {}     -- fd -> list of packet strings
local waiter

local function wake()
	if waiter then
		skynet.wakeup(waiter)
	end
end

skynet.register_protocol {
	name = "client",
	id = skynet.PTYPE_CLIENT,
	unpack = skynet.tostring,
	dispatch = function(fd, _, data)
		skynet.ignoreret()
		local list = packets[fd] or {}
		packets[fd] = list
		list[#list + 1] = data
		wake()
	end,
}

-- Wait (at most 3 s) until cond() holds.
local function wait_until(cond)
	for _ = 1, 300 do
		if cond() then
			return true
		end
		waiter = coroutine.running()
		skynet.timeout(1, wake)
		skynet.wait(waiter)
		waiter = nil
	end
	return cond()
end

local function find_event(kind, fd)
	for _, e in ipairs(events) do
		if e[1] == kind and (fd == nil or e[2] == fd) then
			return e
		end
	end
end

local function frame(data)
	return string.pack(">s2", data)
end

local gate, port

-- Connect a client; returns its socket and the gate-side fd (forwarded to
-- this service unless keep is true).
local function connect(keep)
	local before = #events
	local id = assert(socket.open("127.0.0.1", port))
	local opened = wait_until(function()
		for i = before + 1, #events do
			if events[i][1] == "open" then return true end
		end
	end)
	assert(opened, "the gate reported no open event")
	local fd
	for i = before + 1, #events do
		if events[i][1] == "open" then fd = events[i][2] end
	end
	if not keep then
		skynet.call(gate, "lua", "forward", fd)
	end
	return id, fd
end

local function received(fd, n)
	wait_until(function() return packets[fd] and #packets[fd] >= n end)
	return packets[fd] or {}
end

local function test_open()
	gate = skynet.newservice("gate")
	local address
	address, port = skynet.call(gate, "lua", "open",
		{ address = "127.0.0.1", port = 0, maxclient = 4, nodelay = true })
	t.eq(address, "127.0.0.1", "open returns the address")
	t.ok(math.type(port) == "integer" and port > 0, "open on port 0 returns the chosen port")
end

local function test_byte_at_a_time()
	local id, fd = connect()
	socket.nodelay(id)
	local bytes = frame("hello") .. frame("x")
	for i = 1, #bytes do
		socket.write(id, bytes:sub(i, i))
		skynet.sleep(1)
	end
	t.eq(received(fd, 2), { "hello", "x" }, "packets sent one byte per write are reassembled")
	socket.close(id)
	t.ok(wait_until(function() return find_event("close", fd) end), "closing the client tells the watchdog")
end

local function test_many_per_read()
	local id, fd = connect()
	local parts, want = {}, {}
	for i = 1, 200 do
		want[i] = "packet " .. i
		parts[i] = frame(want[i])
	end
	socket.write(id, table.concat(parts))
	t.eq(received(fd, 200), want, "200 packets in one write arrive in order")
	socket.close(id)
end

local function test_sizes()
	local id, fd = connect()
	local big = string.rep("abcdefghijklmnopqrstuvwxyz", 2521):sub(1, 65535)
	socket.write(id, frame("") .. frame(big) .. frame("after"))
	local got = received(fd, 3)
	t.eq(got[1], "", "a packet of length 0 arrives empty")
	t.ok(got[2] == big, "a packet of length 65535 arrives whole")
	t.eq(got[3], "after", "the packet after them is intact")
	socket.close(id)
end

local function test_watchdog_data()
	local id, fd = connect(true)
	skynet.call(gate, "lua", "accept", fd)
	socket.write(id, frame("to watchdog"))
	t.ok(wait_until(function() return find_event("data", fd) end), "an unforwarded client's packet reaches the watchdog")
	local e = find_event("data", fd)
	t.eq(e and e[3], "to watchdog", "the watchdog gets the packet's bytes")
	socket.close(id)
end

local function test_kick()
	local id, fd = connect()
	skynet.call(gate, "lua", "kick", fd)
	local data = socket.read(id, 1)
	t.eq(data, false, "a kicked client's connection is closed")
	t.ok(wait_until(function() return find_event("close", fd) end), "kick tells the watchdog")
	socket.close(id)
end

local function test_maxclient()
	local a = connect()
	local b = connect()
	local c = connect()
	local before = #events
	local d = assert(socket.open("127.0.0.1", port))
	t.eq(socket.read(d, 1), false, "the 4th client is refused with maxclient = 4")
	t.eq(#events, before, "a refused client makes no event")
	socket.close(d)
	socket.close(c)
	local e = wait_until(function() return #events > before end)
	t.ok(e, "closing one client is reported")
	local d2 = connect()
	t.ok(d2 ~= nil, "after one closed, a new client is accepted")
	for _, id in ipairs { a, b, d2 } do
		socket.close(id)
	end
end

local function test_close_listener()
	skynet.call(gate, "lua", "close")
	local id = socket.open("127.0.0.1", port)
	t.ok(id == nil, "after close the gate no longer accepts")
	if id then socket.close(id) end
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, what, kind, fd, arg)
		assert(what == "socket")
		events[#events + 1] = { kind, fd, arg }
		wake()
	end)
	t.run {
		{ "open", test_open },
		{ "byte at a time", test_byte_at_a_time },
		{ "many per read", test_many_per_read },
		{ "sizes", test_sizes },
		{ "watchdog data", test_watchdog_data },
		{ "kick", test_kick },
		{ "maxclient", test_maxclient },
		{ "close listener", test_close_listener },
	}
end)
