-- shutdown_service: registers a shutdown hook that tells the service named
-- by its first argument (a handle in decimal) with a "lua" SHUTDOWN_RAN send.

local skynet = require "skynet"

local notify = tonumber((...))

skynet.start(function()
	skynet.onshutdown(function()
		skynet.send(notify, "lua", "SHUTDOWN_RAN", skynet.self())
	end)
end)
