-- lobby: the demo's cluster-wide singleton.  It runs on the master node only
-- (demo_node starts it when its node gains the master role) and is reached
-- through the global name "lobby".  "enter" answers who served the caller.

local skynet = require "skynet"
local coord = require "skynet.coord"

local node = skynet.getenv "nodename"

skynet.start(function()
	skynet.dispatch("lua", function(_, _, request)
		assert(request == "enter", "lobby: unknown request")
		local _, epoch = coord.is_master()
		skynet.retpack(string.format("welcome, from %s (master, epoch %s)", node,
			tostring(epoch or "none")))
	end)
end)
