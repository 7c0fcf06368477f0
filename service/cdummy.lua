-- cdummy (.cslave when harbor = 0): keeps global names inside this one
-- process.  It launches the C harbor service with every remote harbor DOWN
-- (messages to remote handles fail at once).  REGISTER stores a name and
-- tells the harbor service, which delivers messages sent to it; QUERYNAME
-- answers at once if the name is known, otherwise when it gets registered
-- (or with nil after the optional timeout).  There are no other harbors:
-- LINK returns at once, CONNECT and LINKMASTER never do.

local skynet = require "skynet"
require "skynet.manager"

local globalnames = require "skynet.globalnames"

local names = globalnames.new()
local harbor_service

local command = {}

function command.REGISTER(name, handle)
	names:note_move(name, handle)
	names:set(name, handle)
	skynet.redirect(harbor_service, handle, "harbor", 0, "N " .. name)
end

function command.QUERYNAME(name, timeout)
	names:query(name, timeout)
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
	skynet.ret(skynet.pack(names.handles))
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
