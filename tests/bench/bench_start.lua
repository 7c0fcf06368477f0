-- bench_start: the start service of the start-up / exit benchmark.  Prints
-- "STARTED" as soon as it runs, then "ABORT <hpc>" (CLOCK_MONOTONIC, ns)
-- just before skynet.abort(); the parent times both against its own clock.
local skynet = require "skynet"
require "skynet.manager"

skynet.start(function()
	io.stdout:write("STARTED\n")
	io.stdout:flush()
	skynet.sleep(10)
	io.stdout:write("ABORT " .. skynet.hpc() .. "\n")
	io.stdout:flush()
	skynet.abort()
end)
