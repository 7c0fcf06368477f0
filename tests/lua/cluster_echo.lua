-- cluster_echo: a service for cluster tests.  Lua requests:
--   "echo", ... -> ...            "size", str -> #str
--   "push", key, value            records a push (no reply)
--   "pushes", key -> list of the values pushed under key, in order
--   "sleep", cs -> true after cs centiseconds
--   "fail" raises an error
local skynet = require "skynet"

local pushed = {}
local command = {}

function command.echo(...) return ... end
function command.size(s) return #s end
function command.push(key, value)
	local list = pushed[key] or {}
	pushed[key] = list
	list[#list + 1] = value
end
function command.pushes(key) return pushed[key] or {} end
function command.sleep(cs)
	skynet.sleep(cs)
	return true
end
function command.fail() error("cluster_echo: asked to fail") end

skynet.start(function()
	skynet.dispatch("lua", function(session, _, cmd, ...)
		local f = assert(command[cmd], cmd)
		if session == 0 then
			f(...)
		else
			skynet.retpack(f(...))
		end
	end)
end)
