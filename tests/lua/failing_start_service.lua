-- failing_start_service: its start function raises, so newservice must fail.

local skynet = require "skynet"

skynet.start(function()
	error("failing_start_service fails on purpose")
end)
