-- bench_target: the receiving end of the call and send benchmarks (local and
-- cluster).  Lua requests:
--   "ping"        -> 0
--   "size", str   -> #str
--   "echo", str   -> str
--   "count"       (a push, no reply) counts one message, noting the time of
--                 the first and the last (skynet.hpc)
--   "tally"       -> count, first_ns, last_ns of the pushes so far
--   "reset"       forgets the pushes counted so far
local skynet = require "skynet"

local count, first_ns, last_ns = 0, 0, 0
local command = {}

function command.ping() return 0 end
function command.size(s) return #s end
function command.echo(s) return s end

function command.count()
	last_ns = skynet.hpc()
	if count == 0 then first_ns = last_ns end
	count = count + 1
end

function command.tally() return count, first_ns, last_ns end

function command.reset()
	count, first_ns, last_ns = 0, 0, 0
	return true
end

skynet.start(function()
	skynet.dispatch("lua", function(session, _, cmd, ...)
		local f = command[cmd]
		if f == nil then
			error("bench_target: unknown command " .. tostring(cmd))
		end
		if session == 0 then
			f(...)
		else
			skynet.ret(skynet.pack(f(...)))
		end
	end)
end)
