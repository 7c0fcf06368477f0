-- skynet/queue.lua: a critical section for tasks of one service.
--   local cs = queue()   cs(f, ...) runs f(...) when no other task is inside
-- the section, in arrival order; a task already inside may enter again.

local skynet = require "skynet"

return function()
	local owner          -- task inside the section
	local depth = 0      -- how many times owner entered
	local waiting = {}   -- tasks in arrival order

	local function leave(ok, ...)
		depth = depth - 1
		if depth == 0 then
			owner = table.remove(waiting, 1)
			if owner then
				skynet.wakeup(owner)
			end
		end
		if not ok then
			error((...), 0)
		end
		return ...
	end

	return function(f, ...)
		local task = coroutine.running()
		if owner and owner ~= task then
			table.insert(waiting, task)
			skynet.wait(task)
			assert(owner == task and depth == 0, "queue handed over out of order")
		end
		owner = task
		depth = depth + 1
		return leave(xpcall(f, debug.traceback, ...))
	end
end
