-- forward_service: a proxy built with skynet.forward_type.  Every "lua"
-- message it gets is passed on untouched (same source and session) to the
-- service whose handle is the first argument, so the answer goes straight
-- back to the original caller.

local skynet = require "skynet"
require "skynet.manager"

local target = tonumber((...))

skynet.register_protocol {
	name = "client",
	id = skynet.PTYPE_CLIENT,
	unpack = function(msg, sz) return msg, sz end,
	dispatch = function(session, source, msg, sz)
		skynet.ignoreret() -- the target answers, not us
		skynet.redirect(target, source, "lua", session, msg, sz)
	end,
}

skynet.forward_type({ [skynet.PTYPE_LUA] = skynet.PTYPE_CLIENT }, function() end)
