-- main: the start service of the example configs in deploy/config/.  It
-- registers this node's greeter under the global name "hello.<nodename>",
-- logs every coordinator event, and says hello to every other node's greeter
-- when that node comes up.  Replace it with your own start service.

local skynet = require "skynet"
local coord = require "skynet.coord"

local node = skynet.getenv "nodename" or "local"
local role = ...

local function greeter()
	skynet.dispatch("lua", function(_, _, who)
		skynet.retpack("hello " .. tostring(who) .. ", from " .. node)
	end)
end

skynet.start(function()
	if role == "greeter" then
		return greeter()
	end
	local ok, cluster = pcall(require, "skynet.cluster")
	if ok and (skynet.getenv "cluster_address" or "") ~= "" then
		cluster.open(node)
	end
	coord.watch(function(kind, what, name, ...)
		skynet.error("coord event:", kind, what, name, ...)
		if kind == "node" and what == "up" and name ~= node then
			local said, answer = pcall(coord.call, "hello." .. name, node)
			skynet.error(said and answer or ("no greeter on " .. name .. " yet"))
		end
	end)
	coord.register("hello." .. node, skynet.newservice("main", "greeter"))
	skynet.error("node " .. node .. " ready; master: " .. tostring((coord.master())))
end)
