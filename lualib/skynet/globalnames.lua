-- skynet/globalnames.lua: the table of global names kept by .cslave (both
-- service/cdummy.lua and service/cslave.lua): name -> handle, and the
-- QUERYNAME requests waiting for a name that is not known yet.

local skynet = require "skynet"

local globalnames = {}
local registry = {}
registry.__index = registry

-- A new empty table; handles is the plain name -> handle map.
function globalnames.new()
	return setmetatable({ handles = {}, waiters = {} }, registry)
end

-- Logs a name that REGISTER moves from one handle to another.
function registry:note_move(name, handle)
	local old = self.handles[name]
	if old and old ~= handle then
		skynet.error(string.format("global name %s moves from :%08x to :%08x", name, old, handle))
	end
end

-- name now points at handle (0: removed); answers whoever waits for it.
function registry:set(name, handle)
	if handle == 0 then
		self.handles[name] = nil
		return
	end
	self.handles[name] = handle
	local waiters = self.waiters[name]
	self.waiters[name] = nil
	for _, response in ipairs(waiters or {}) do
		response(true, handle)
	end
end

local function answer_nil_after(timeout, waiters, response)
	skynet.timeout(timeout, function()
		for i, r in ipairs(waiters) do
			if r == response then
				table.remove(waiters, i)
				response(true, nil)
				return
			end
		end
	end)
end

-- Serves QUERYNAME in the current request: a local ".name" or a known name
-- at once, otherwise when set() learns it, or nil after timeout centiseconds
-- (none: wait for ever).  on_first_wait(name) runs when the first request
-- starts waiting for name (may be nil).
function registry:query(name, timeout, on_first_wait)
	if name:sub(1, 1) == "." then
		return skynet.ret(skynet.pack(skynet.localname(name)))
	end
	if self.handles[name] then
		return skynet.ret(skynet.pack(self.handles[name]))
	end
	local response = skynet.response()
	local waiters = self.waiters[name]
	if waiters == nil then
		waiters = {}
		self.waiters[name] = waiters
		if on_first_wait then
			on_first_wait(name)
		end
	end
	table.insert(waiters, response)
	if timeout then
		answer_nil_after(timeout, waiters, response)
	end
end

return globalnames
