-- cdummy (.cslave when harbor = 0): keeps global names inside this one
-- process.  It launches the C harbor service with every remote harbor DOWN
-- (messages to remote handles fail at once).  REGISTER stores a name and
-- tells the harbor service, which delivers messages sent to it; QUERYNAME
-- answers at once if the name is known, otherwise when it gets registered
-- (or with nil after the optional timeout).  There are no other harbors:
-- LINK returns at once, CONNECT and LINKMASTER never do.

local skynet = require "skynet"
require "skynet.manager"

local names = {}          -- global name -> handle
local name_waiters = {}   -- global name -> response closures
local harbor_service

local command = {}

function command.REGISTER(name, handle)
	if names[name] and names[name] ~= handle then
		skynet.error(string.format("global name %s moves from :%08x to :%08x", name, names[name], handle))
	end
	names[name] = handle
	local waiters = name_waiters[name]
	name_waiters[name] = nil
	for _, response in ipairs(waiters or {}) do
		response(true, handle)
	end
	skynet.redirect(harbor_service, handle, "harbor", 0, "N " .. name)
end

function command.QUERYNAME(name, timeout)
	if name:sub(1, 1) == "." then
		return skynet.ret(skynet.pack(skynet.localname(name)))
	end
	if names[name] then
		return skynet.ret(skynet.pack(names[name]))
	end
	local response = skynet.response()
	local waiters = name_waiters[name] or {}
	name_waiters[name] = waiters
	table.insert(waiters, response)
	if timeout then
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
end

function command.LINK()
	skynet.ret()
end

function command.CONNECT(id)
	skynet.error("Can't connect to harbor " .. tostring(id) .. " in single node mode (harbor = 0)")
	skynet.response()
end

function command.LINKMASTER()
	skynet.response()
end

function command.PEERS()
	skynet.ret(skynet.pack({}))
end

function command.NAMES()
	skynet.ret(skynet.pack(names))
end

skynet.register_protocol {
	name = "harbor",
	id = skynet.PTYPE_HARBOR,
	pack = function(...) return ... end,
	unpack = skynet.tostring,
}

-- The harbor service asks "Q name" for names it does not know; in one
-- process every name comes from REGISTER, so there is nothing to answer.
skynet.register_protocol {
	name = "text",
	id = skynet.PTYPE_TEXT,
	unpack = skynet.tostring,
	dispatch = function() end,
}

skynet.start(function()
	local harbor_id = tonumber(skynet.getenv "harbor" or 0)
	assert(harbor_id == 0, "cdummy runs only with harbor = 0")
	harbor_service = assert(skynet.launch("harbor", harbor_id, skynet.self()),
		"cdummy: can't launch the C harbor service")
	skynet.dispatch("lua", function(_, _, cmd, ...)
		local f = command[cmd]
		if f == nil then
			error("cdummy: unknown command " .. tostring(cmd))
		end
		f(...)
	end)
end)
