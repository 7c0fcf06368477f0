-- cluster_node_b: the serving node of tests/cluster/test_cluster_*.sh.
-- Listens as node "b" of the cluster config, registers a cluster_echo
-- service as "echo" (and as the local name ".echo"), then prints READY.
local skynet = require "skynet"
require "skynet.manager"
local cluster = require "skynet.cluster"

skynet.start(function()
	local echo = skynet.newservice("cluster_echo")
	skynet.name(".echo", echo)
	cluster.register("echo", echo)
	cluster.open("b")
	print("READY b " .. skynet.address(echo))
end)
