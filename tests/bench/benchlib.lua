-- benchlib: what the Lua benchmark drivers share: timed loops run by one or
-- many coroutines, percentiles, the receiver-side message rate, and the
-- RESULT lines tests/bench/run.sh collects ("RESULT <name> <value>").
local skynet = require "skynet"

local benchlib = {}

-- Seconds each measured loop runs (config key bench_seconds, default 1).
benchlib.seconds = tonumber(skynet.getenv "bench_seconds" or 1)

function benchlib.result(name, value)
	io.stdout:write(string.format("RESULT %s %.6g\n", name, value))
	io.stdout:flush()
end

-- Runs step() in `workers` coroutines until the time is up; returns the
-- number of steps per second.  One unmeasured warm-up step per worker.
function benchlib.rate(workers, step)
	local done, total, running = false, 0, workers
	local me = coroutine.running()
	for _ = 1, workers do
		skynet.fork(function()
			step()
			while not done do
				step()
				total = total + 1
			end
			running = running - 1
			if running == 0 then skynet.wakeup(me) end
		end)
	end
	skynet.sleep(0)
	local start = skynet.hpc()
	local start_total = total
	skynet.sleep(math.floor(benchlib.seconds * 100))
	local steps = total - start_total
	local elapsed = skynet.hpc() - start
	done = true
	skynet.wait(me)
	return steps / (elapsed / 1e9)
end

-- Durations (ns) of step() run again and again for the time given.
function benchlib.samples(step)
	step()
	local list = {}
	local stop = skynet.hpc() + benchlib.seconds * 1e9
	repeat
		local t0 = skynet.hpc()
		step()
		local t1 = skynet.hpc()
		list[#list + 1] = t1 - t0
	until t1 >= stop
	table.sort(list)
	return list
end

-- The p-th percentile (0 < p <= 100) of a sorted list.
function benchlib.percentile(sorted, p)
	local i = math.max(1, math.ceil(#sorted * p / 100))
	return sorted[i]
end

-- Messages per second seen by a bench_target: `send_batch(n)` pushes n
-- "count" messages, `call(...)` calls the target.  Batches go out until
-- the time is up, each followed by a call that returns once the target has
-- taken them all (so the queue never grows without bound).
function benchlib.receiver_rate(send_batch, call)
	local batch = 10000
	call("reset")
	local stop = skynet.hpc() + benchlib.seconds * 1e9
	repeat
		send_batch(batch)
		call("ping")
	until skynet.hpc() >= stop
	local count, first_ns, last_ns = call("tally")
	return (count - 1) / ((last_ns - first_ns) / 1e9)
end

return benchlib
