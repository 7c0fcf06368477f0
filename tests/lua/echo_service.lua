-- echo_service: a helper the Lua tests start.  Its "lua" commands exercise
-- answering a request in every way skynet allows, and failing to.

local skynet = require "skynet"

local args = { ... }
local held = {}          -- response closures of HOLD requests
local last_error         -- what the last RET_TWICE / RESPONSE_TWICE raised
local notes = {}         -- NOTE values, in arrival order

local command = {}

function command.ECHO(...)
	skynet.retpack(...)
end

function command.ARGS()
	skynet.retpack(table.unpack(args))
end

function command.SLEEP(ti, ...)
	skynet.sleep(ti)
	skynet.retpack(...)
end

function command.FAIL(text)
	error(text or "echo_service failure")
end

-- Never answered until EXIT: the caller waits.
function command.HOLD()
	held[#held + 1] = skynet.response()
end

-- Waits in skynet.sleep without answering (the caller waits).
function command.HOLD_SLEEPING()
	skynet.sleep(100000)
end

-- Keeps the worker busy for ms milliseconds (no yield).
function command.BUSY(ms)
	local stop = skynet.hpc() + ms * 1000000
	while skynet.hpc() < stop do end
end

-- Notes when this message arrived (skynet.hpc); NOTES gives the list.
function command.STAMP()
	notes[#notes + 1] = skynet.hpc()
end

-- Sends STAMP to addr, then keeps the worker busy for ms milliseconds;
-- answers when it sent.
function command.STAMP_THEN_BUSY(addr, ms)
	local sent = skynet.hpc()
	skynet.send(addr, "lua", "STAMP")
	command.BUSY(ms)
	skynet.retpack(sent)
end

function command.EXIT()
	skynet.exit()
end

function command.RET_TWICE()
	skynet.retpack "first"
	local ok, err = pcall(skynet.ret, skynet.pack "second")
	last_error = ok and "no error" or tostring(err)
end

function command.RESPONSE_TWICE()
	local response = skynet.response()
	response(true, "first")
	local ok, err = pcall(response, true, "second")
	last_error = ok and "no error" or tostring(err)
end

function command.RESPONSE_LATER(ti, value)
	local response = skynet.response()
	skynet.fork(function()
		skynet.sleep(ti)
		response(true, value)
	end)
end

function command.RESPONSE_ERROR()
	local response = skynet.response()
	response(false)
end

function command.LAST_ERROR()
	skynet.retpack(last_error)
end

function command.NOTE(value)
	notes[#notes + 1] = value
end

function command.NOTES()
	skynet.retpack(notes)
end

-- Calls addr with ECHO and answers what it got (or the error text).
function command.RELAY(addr, ...)
	skynet.retpack(pcall(skynet.call, addr, "lua", "ECHO", ...))
end

function command.CONTEXT()
	skynet.retpack(skynet.context())
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, ...)
		local f = command[cmd]
		if f == nil then
			error("echo_service: unknown command " .. tostring(cmd))
		end
		f(...)
	end)
	skynet.info_func(function(...)
		return "echo info", ...
	end)
end)
