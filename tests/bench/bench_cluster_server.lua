-- bench_cluster_server: node "b" of the cluster benchmarks.  Registers a
-- bench_target as "target", listens, then prints READY.
local skynet = require "skynet"
local cluster = require "skynet.cluster"

skynet.start(function()
	cluster.register("target", skynet.newservice "bench_target")
	cluster.open "b"
	io.stdout:write("READY\n")
	io.stdout:flush()
end)
