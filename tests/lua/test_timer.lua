-- test_timer: tasks inside one service: sleep, timeout, fork, yield,
-- wait/wakeup, killthread, task counting.

local skynet = require "skynet"
local t = require "testlib"

local function test_sleep_and_timeout_order()
	local order = {}
	local me = coroutine.running()
	skynet.timeout(20, function() order[#order + 1] = "t20" end)
	skynet.timeout(5, function() order[#order + 1] = "t5" end)
	skynet.timeout(0, function() order[#order + 1] = "t0" end)
	skynet.fork(function()
		skynet.sleep(10)
		order[#order + 1] = "s10"
	end)
	skynet.timeout(30, function() skynet.wakeup(me) end)
	skynet.wait(me)
	t.eq(order, { "t0", "t5", "s10", "t20" }, "timeouts and sleeps fire in time order")
	local start = skynet.now()
	skynet.sleep(10)
	local elapsed = skynet.now() - start
	t.ok(elapsed >= 10 and elapsed < 100, "sleep(10) lasts about 10 centiseconds (" .. elapsed .. ")")
	t.eq(skynet.sleep(1), nil, "sleep returns nothing when it runs out")
end

local function test_fork_order()
	local order = {}
	skynet.fork(function(a, b) order[#order + 1] = "f1:" .. a .. b end, "x", "y")
	skynet.fork(function() order[#order + 1] = "f2" end)
	local co = skynet.fork(function() order[#order + 1] = "f3" end)
	t.ok(type(co) == "thread", "fork returns the task")
	order[#order + 1] = "main"
	t.eq(order, { "main" }, "forked tasks wait until the current task yields")
	skynet.yield()
	t.eq(order, { "main", "f1:xy", "f2", "f3" }, "forked tasks run in order with their arguments")
end

local function test_wait_wakeup()
	local token = {}
	local log = {}
	skynet.fork(function()
		log[#log + 1] = "waiting"
		skynet.wait(token)
		log[#log + 1] = "woken"
	end)
	skynet.yield()
	t.eq(log, { "waiting" }, "wait suspends")
	t.eq(skynet.wakeup(token), true, "wakeup of a waiting token returns true")
	t.eq(skynet.wakeup({}), false, "wakeup of an unknown token returns false")
	skynet.yield()
	t.eq(log, { "waiting", "woken" }, "wakeup resumes the waiting task")
	local sleeper
	local result = "unset"
	sleeper = skynet.fork(function()
		result = skynet.sleep(1000)
	end)
	skynet.yield()
	skynet.wakeup(sleeper)
	skynet.yield()
	t.eq(result, "BREAK", "sleep returns \"BREAK\" when woken early")
	local by_token = "unset"
	local sleep_token = {}
	skynet.fork(function() by_token = skynet.sleep(1000, sleep_token) end)
	skynet.yield()
	skynet.wakeup(sleep_token)
	skynet.yield()
	t.eq(by_token, "BREAK", "sleep with an explicit token is woken by it")
end

local function test_task_and_killthread()
	local before = skynet.task()
	local finished = false
	local co = skynet.fork(function()
		skynet.sleep(1000)
		finished = true
	end)
	skynet.yield()
	t.eq(skynet.task(), before + 1, "task() counts a sleeping task")
	local list = skynet.task({})
	local found = false
	for _, tb in pairs(list) do
		if tb:find("test_timer") then found = true end
	end
	t.ok(found, "task{} lists tracebacks of waiting tasks")
	t.eq(skynet.killthread(co), co, "killthread returns the killed task")
	t.eq(skynet.task(), before, "a killed task no longer counts")
	skynet.sleep(1)
	t.ok(not finished, "a killed task never resumes")
	t.eq(skynet.killthread(co), nil, "killthread of an unknown task returns nil")
end

local function test_timeout_error_is_contained()
	local after = false
	skynet.timeout(0, function() error("timeout callback fails on purpose") end)
	skynet.timeout(1, function() after = true end)
	skynet.sleep(3)
	t.ok(after, "an error in one timeout callback does not stop the others")
end

local function test_many_tasks_reuse()
	local count = 0
	for _ = 1, 2000 do
		skynet.fork(function() count = count + 1 end)
	end
	skynet.yield()
	t.eq(count, 2000, "2000 forked tasks all run")
	collectgarbage "collect"
	local kb = collectgarbage "count"
	for _ = 1, 2000 do
		skynet.fork(function() count = count + 1 end)
	end
	skynet.yield()
	collectgarbage "collect"
	t.ok(collectgarbage "count" < kb + 200, "finished tasks are reused, memory stays flat")
end

skynet.start(function()
	t.run {
		{ "sleep and timeout order", test_sleep_and_timeout_order },
		{ "fork order", test_fork_order },
		{ "wait and wakeup", test_wait_wakeup },
		{ "task and killthread", test_task_and_killthread },
		{ "timeout error", test_timeout_error_is_contained },
		{ "task reuse", test_many_tasks_reuse },
	}
end)
