-- test_queue: skynet.queue runs critical sections one at a time, in arrival
-- order, lets the owner re-enter, and survives errors inside a section.

local skynet = require "skynet"
local queue = require "skynet.queue"
local t = require "testlib"

local function test_order()
	local cs = queue()
	local log = {}
	local done = 0
	local me = coroutine.running()
	for i = 1, 5 do
		skynet.fork(function()
			cs(function()
				log[#log + 1] = "in" .. i
				skynet.sleep(6 - i)
				log[#log + 1] = "out" .. i
			end)
			done = done + 1
			if done == 5 then skynet.wakeup(me) end
		end)
	end
	skynet.wait(me)
	t.eq(log, { "in1", "out1", "in2", "out2", "in3", "out3", "in4", "out4", "in5", "out5" },
		"sections never overlap and run in arrival order")
end

local function test_reentry_and_results()
	local cs = queue()
	local inner = cs(function()
		return cs(function() return "nested", 2 end)
	end)
	t.eq(inner, "nested", "the owner can enter again")
	t.eq({ cs(function(a, b) return b, a end, 1, 2) }, { 2, 1 }, "arguments and results pass through")
end

local function test_error_releases()
	local cs = queue()
	t.raises(function() cs(function() error("section fails") end) end, "section fails",
		"an error inside a section propagates")
	local ran = false
	skynet.fork(function() cs(function() ran = true end) end)
	skynet.yield()
	t.ok(ran, "the section is free again after an error")
end

skynet.start(function()
	t.run {
		{ "order", test_order },
		{ "reentry", test_reentry_and_results },
		{ "error", test_error_releases },
	}
end)
