-- rt_looper: loops forever on LOOP (until signal 0 breaks it), answers PING.
local skynet = require "skynet"

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd)
		if cmd == "LOOP" then
			local n = 0
			while true do n = n + 1 end
		end
		skynet.ret(skynet.pack("alive"))
	end)
end)
