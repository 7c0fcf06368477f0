-- test_coord_console: the debug console's `coord` command on one node with
-- the local backend (backend, node, master and epoch, lease, the names this
-- node holds, the known nodes), and coord.resign() refused by a backend
-- without an election.

local skynet = require "skynet"
local socket = require "skynet.socket"
local coord = require "skynet.coord"
local t = require "testlib"

local WATCHDOG = 1000 -- centiseconds the whole test may take

-- Sends one command line; returns the "key\tvalue" answer lines as a table
-- and the status line.
local function run(id, line)
	socket.write(id, line .. "\n")
	local map = {}
	while true do
		local got = socket.readline(id)
		if not got or got == "<CMD OK>" or got == "<CMD Error>" then
			return map, got or "closed"
		end
		local k, v = got:match("^([^\t]*)\t(.*)$")
		if k then map[k] = v end
	end
end

local function test_view(id)
	local holder = skynet.newservice "coord_holder"
	skynet.call(holder, "lua", "REGISTER", "console.svc")
	local view, status = run(id, "coord")
	t.eq(status, "<CMD OK>", "coord answers <CMD OK>")
	t.eq(view.backend, "local", "coord shows the backend")
	t.eq(view.node, "local", "coord shows the node name")
	t.eq(view.master, "local 1", "coord shows the master and its epoch")
	t.eq(view.lease_left_ms, "unlimited", "coord shows the lease left (unlimited for local)")
	t.eq(view.names, "console.svc=" .. skynet.address(holder), "coord shows the names this node holds")
	t.eq(view.nodes, "local=", "coord shows the known nodes and their addresses")
	local help = run(id, "help")
	t.ok(help.coord ~= nil, "help lists coord")
	skynet.send(holder, "lua", "EXIT")
end

local function test_resign()
	t.raises(function() coord.resign() end, "coordinator local has no election",
		"coord.resign() on the local backend raises, naming the backend")
	t.ok((coord.is_master()), "the local node is still the master")
end

skynet.start(function()
	skynet.timeout(WATCHDOG, function()
		print("not ok - the test did not finish within " .. WATCHDOG // 100 .. " s")
		t.done()
	end)
	local console = skynet.newservice("debug_console", 0)
	local port = skynet.call(console, "debug", "INFO").port
	local id = assert(socket.open("127.0.0.1", port))
	socket.readline(id) -- the welcome line
	test_view(id)
	test_resign()
	socket.close(id)
	t.done()
end)
