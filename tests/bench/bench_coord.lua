-- bench_coord: the start service of every node in the coordinator
-- benchmarks.  What it does depends on the config key bench_role:
--   member    nothing (the master role and membership run in coordd)
--   names     registers bench_names global names, then idles
--   watch     prints "SEEN <name> <hpc>" for every name registered anywhere
--   register  once bench_peer is a member, registers bench_names names
--             10 ms apart, printing "REG <name> <hpc>" just before each
--   join      prints "ALL <hpc>" once coord.nodes() lists bench_expect nodes
-- It always prints "READY" when its role is set up.  Times are skynet.hpc()
-- (CLOCK_MONOTONIC, ns), the clock the runner and the other nodes use.
local skynet = require "skynet"
local coord = require "skynet.coord"

local function say(...)
	io.stdout:write(table.concat({ ... }, " ") .. "\n")
	io.stdout:flush()
end

local node = skynet.getenv "nodename"
local name_count = tonumber(skynet.getenv "bench_names" or 0)

local function node_count()
	local n = 0
	for _ in pairs(coord.nodes()) do n = n + 1 end
	return n
end

local roles = {}

function roles.member() end

function roles.names()
	for i = 1, name_count do
		coord.register(node .. "." .. i)
	end
end

function roles.watch()
	coord.watch(function(kind, what, name)
		if kind == "name" and what == "registered" then
			say("SEEN", name, skynet.hpc())
		end
	end)
end

function roles.register()
	local peer = assert(skynet.getenv "bench_peer", "bench_role register needs bench_peer")
	skynet.fork(function()
		while coord.nodes()[peer] == nil do skynet.sleep(1) end
		skynet.sleep(20)
		for i = 1, name_count do
			local name = node .. "." .. i
			say("REG", name, skynet.hpc())
			coord.register(name)
			skynet.sleep(1)
		end
		say("REGISTERED")
	end)
end

function roles.join()
	local expect = tonumber(skynet.getenv "bench_expect")
	skynet.fork(function()
		while node_count() < expect do skynet.sleep(1) end
		say("ALL", skynet.hpc())
	end)
end

skynet.start(function()
	local role = skynet.getenv "bench_role" or "member"
	local setup = assert(roles[role], "bench_coord: unknown bench_role " .. role)
	setup()
	say("READY")
end)
