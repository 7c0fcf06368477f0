-- demo_node: the start service of each node of `make demo` (deploy/demo.sh).
-- It opens the node's cluster port, runs the lobby (lobby.lua) while its node
-- is master, registered as the global name "lobby", and, on the node whose
-- config says demo_caller = "yes", calls "lobby" every 100 ms.  Lines for
-- the demo script start with "DEMO":
--   DEMO lobby registered on <node>
--   DEMO call answer <text>     when the answer changes
--   DEMO call failed <error>    at the first failure after an answer

local skynet = require "skynet"
local coord = require "skynet.coord"
local cluster = require "skynet.cluster"
require "skynet.manager" -- skynet.kill

local node = skynet.getenv "nodename"
local lobby -- handle of the lobby while this node runs it

local function say(...)
	io.stdout:write("DEMO " .. table.concat({ ... }, " ") .. "\n")
	io.stdout:flush()
end

-- The name of the previous owner may outlive it by up to one lease: retry
-- while this node is still master.
local function open_lobby()
	if lobby then return end
	lobby = skynet.newservice "lobby"
	while coord.is_master() do
		if pcall(coord.register, "lobby", lobby) then
			say("lobby registered on", node)
			return
		end
		skynet.sleep(5)
	end
end

local function close_lobby()
	if lobby then
		skynet.kill(lobby) -- coordd drops the name when its owner exits
		lobby = nil
	end
end

local function on_event(kind, what)
	if kind == "master" and what == "gained" then
		skynet.fork(open_lobby)
	elseif kind == "master" and what == "lost" then
		close_lobby()
	end
end

local function call_lobby_forever()
	local last
	while true do
		local ok, answer = pcall(coord.call, "lobby", "enter")
		local state = ok and answer or "failed"
		if state ~= last then
			say("call", ok and "answer" or "failed", tostring(answer))
			last = state
		end
		skynet.sleep(10)
	end
end

skynet.start(function()
	cluster.open(node)
	coord.watch(on_event)
	if coord.is_master() then
		skynet.fork(open_lobby)
	end
	if skynet.getenv "demo_caller" == "yes" then
		skynet.fork(call_lobby_forever)
	end
	say("node", node, "started")
end)
