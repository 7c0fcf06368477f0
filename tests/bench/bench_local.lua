-- bench_local: the start service of the local benchmarks.  Starts a
-- bench_target in the same node and measures skynet.call with 1 and 16
-- coroutines and skynet.send counted at the receiver, then aborts the node.
-- Prints RESULT lines (see benchlib).
local skynet = require "skynet"
require "skynet.manager"
local benchlib = require "benchlib"

skynet.start(function()
	local target = skynet.newservice "bench_target"
	local function call(...) return skynet.call(target, "lua", ...) end
	local function ping() call "ping" end
	local function send_batch(n)
		for _ = 1, n do skynet.send(target, "lua", "count") end
	end
	benchlib.result("local_call_1co", benchlib.rate(1, ping))
	benchlib.result("local_call_16co", benchlib.rate(16, ping))
	benchlib.result("local_send", benchlib.receiver_rate(send_batch, call))
	skynet.abort()
end)
