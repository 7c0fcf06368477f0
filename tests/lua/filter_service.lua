-- filter_service: built with skynet.filter.  The filter counts every
-- message before normal dispatch; "lua" COUNT answers the count.

local skynet = require "skynet"
require "skynet.manager"

local seen = 0

skynet.filter(function(...)
	seen = seen + 1
	return ...
end, function()
	skynet.dispatch("lua", function(_, _, cmd)
		assert(cmd == "COUNT")
		skynet.retpack(seen)
	end)
end)
