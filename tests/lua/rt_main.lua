-- rt_main: the start service of tests/cluster/test_runtime.sh.  It reports
-- the preload file's global, talks to a C service loaded from cpath, loads a
-- Lua C module through lua_cpath, logs one service's messages to logpath,
-- keeps a ticker logging, and traps a looping service with signal 0.
local skynet = require "skynet"
require "skynet.manager"
local core = require "skynet.core"

skynet.register_protocol {
	name = "text",
	id = skynet.PTYPE_TEXT,
	pack = function(text) return text end,
	unpack = skynet.tostring,
}

local function loop_and_break()
	local looper = skynet.newservice("rt_looper")
	skynet.send(looper, "lua", "LOOP")
	skynet.sleep(1100) -- two monitor checks (5 s apart) see it stuck
	core.command("SIGNAL", string.format(":%08x 0", looper))
	local ok, answer = pcall(skynet.call, looper, "lua", "PING")
	skynet.error("LOOPER", ok and answer or "dead")
end

skynet.start(function()
	skynet.error("PRELOADED", tostring(RT_PRELOADED))
	local hello = skynet.launch("hello", "world")
	skynet.error("C SERVICE", hello and skynet.call(hello, "text", "ping") or "not launched")
	local found, rtmod = pcall(require, "rtmod")
	skynet.error("LUA C MODULE", found and rtmod.answer() or rtmod)
	local logged = skynet.newservice("rt_looper")
	core.command("LOGON", skynet.address(logged))
	skynet.call(logged, "lua", "PING")
	core.command("LOGOFF", skynet.address(logged))
	skynet.error("LOGGED", string.format("%08x", logged))
	skynet.fork(function()
		for i = 1, math.huge do
			skynet.error("tick", i)
			skynet.sleep(5)
		end
	end)
	if skynet.getenv("rt_loop") == "true" then
		skynet.fork(loop_and_break)
	end
end)
