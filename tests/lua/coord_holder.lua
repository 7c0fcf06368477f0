-- coord_holder: a helper for the coordinator tests.  It answers "lua"
-- requests: REGISTER name (registers itself under a global name), ECHO ...
-- (returns its arguments), WHERE (its node name), EXIT (exits), and counts
-- SEND messages (COUNT).

local skynet = require "skynet"
local coord = require "skynet.coord"

local sent = 0
local command = {}

function command.REGISTER(name)
	return coord.register(name)
end

function command.ECHO(...)
	return ...
end

function command.WHERE()
	return skynet.getenv "nodename" or "local"
end

function command.SEND()
	sent = sent + 1
end

function command.COUNT()
	return sent
end

function command.EXIT()
	skynet.exit()
end

skynet.start(function()
	skynet.dispatch("lua", function(session, _, cmd, ...)
		local f = assert(command[cmd], "coord_holder: unknown command")
		if session == 0 then
			f(...)
		else
			skynet.retpack(f(...))
		end
	end)
end)
