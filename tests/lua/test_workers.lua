-- test_workers: how the node's two workers share the services.  A message
-- a service sends goes to its worker's "next" slot; when the sender then
-- keeps its worker busy, the other worker must take the receiver over and
-- run it meanwhile, whether it was spinning, asleep while the sender's
-- worker was awake, or asleep with every other worker.  And many pairs of
-- services calling each other at once all get their answers.

local skynet = require "skynet"
require "skynet.manager"
local t = require "testlib"

local BUSY_MS = 400
local WITHIN_MS = 100

local function echo()
	return skynet.newservice("echo_service")
end

local function test_receiver_runs_while_sender_is_busy()
	local sender, receiver = echo(), echo()
	-- idle before: 0 (workers spinning), 1 cs (sleeping, one awake),
	-- 50 cs (every worker asleep)
	for _, idle in ipairs { 0, 1, 50 } do
		skynet.sleep(idle)
		local sent = skynet.call(sender, "lua", "STAMP_THEN_BUSY", receiver, BUSY_MS)
		local stamps = skynet.call(receiver, "lua", "NOTES")
		local waited_ms = (stamps[#stamps] - sent) / 1e6
		t.ok(waited_ms < WITHIN_MS, string.format(
			"after %d cs idle, a message sent before %d ms of work arrives in %.1f ms",
			idle, BUSY_MS, waited_ms))
	end
	skynet.kill(sender)
	skynet.kill(receiver)
end

local function test_many_pairs_calling()
	local PAIRS, CALLS = 8, 2000
	local pending = PAIRS
	local answered = 0
	local me = coroutine.running()
	for _ = 1, PAIRS do
		skynet.fork(function()
			local e = echo()
			for i = 1, CALLS do
				if skynet.call(e, "lua", "ECHO", i) == i then
					answered = answered + 1
				end
			end
			skynet.kill(e)
			pending = pending - 1
			if pending == 0 then skynet.wakeup(me) end
		end)
	end
	skynet.wait(me)
	t.eq(answered, PAIRS * CALLS, "8 callers x 2000 calls, every answer right")
end

skynet.start(function()
	t.run {
		{ "receiver runs while sender is busy", test_receiver_runs_while_sender_is_busy },
		{ "many pairs calling", test_many_pairs_calling },
	}
end)
