-- bench_cluster_client: node "a" of the cluster benchmarks.  Calls the
-- "target" of node "b" (bench_cluster_server) through skynet.cluster:
-- latency of one caller, calls/s of 64 callers, cluster.send counted at the
-- receiver, 1 MiB up with an integer reply, 100 KiB and 1 MiB echoed back.
-- Prints RESULT lines (see benchlib; MB = 10^6 bytes, payload counted once
-- per call), then aborts the node.
local skynet = require "skynet"
require "skynet.manager"
local cluster = require "skynet.cluster"
local benchlib = require "benchlib"

local function call(...) return cluster.call("b", "@target", ...) end
local function ping() call "ping" end

local function send_batch(n)
	for _ = 1, n do cluster.send("b", "@target", "count") end
end

local function payload_rate(name, size, cmd)
	local data = string.rep("x", size)
	local per_second = benchlib.rate(1, function() call(cmd, data) end)
	benchlib.result(name, per_second * size / 1e6)
end

skynet.start(function()
	ping()
	local lat = benchlib.samples(ping)
	benchlib.result("cluster_call_p50", benchlib.percentile(lat, 50) / 1e3)
	benchlib.result("cluster_call_p99", benchlib.percentile(lat, 99) / 1e3)
	benchlib.result("cluster_call_64co", benchlib.rate(64, ping))
	benchlib.result("cluster_send", benchlib.receiver_rate(send_batch, call))
	payload_rate("cluster_up_1m", 1 << 20, "size")
	payload_rate("cluster_echo_100k", 100 << 10, "echo")
	payload_rate("cluster_echo_1m", 1 << 20, "echo")
	skynet.abort()
end)
