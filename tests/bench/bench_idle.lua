-- bench_idle: the start service of the idle-node benchmark: prints READY
-- and does nothing more.
local skynet = require "skynet"

skynet.start(function()
	io.stdout:write("READY\n")
	io.stdout:flush()
end)
