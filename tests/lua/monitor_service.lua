-- monitor_service: an exit monitor (skynet.monitor).  It records the handle
-- of every service that exits; "lua" EXITS answers the list.

local skynet = require "skynet"

local exited = {}

skynet.register_protocol {
	name = "client",
	id = skynet.PTYPE_CLIENT,
	unpack = function() end,
	dispatch = function(_, source)
		exited[#exited + 1] = source
	end,
}

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd)
		assert(cmd == "EXITS")
		skynet.retpack(exited)
	end)
end)
