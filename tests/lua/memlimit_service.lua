-- memlimit_service: limits its own memory to the first argument (bytes);
-- ALLOC n builds n bytes of strings and answers true.

local skynet = require "skynet"

local limit = tonumber((...))
skynet.memlimit(limit)

local keep = {}

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, n)
		assert(cmd == "ALLOC")
		for i = 1, n // 1024 do
			keep[#keep + 1] = string.rep(string.char(i % 256), 1024)
		end
		skynet.retpack(true)
	end)
end)
