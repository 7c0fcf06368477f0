-- coord_probe: the start service of a node in the cluster tests
-- (tests/cluster/).  It logs every coordinator event as
--   PROBE node=<n> event <kind> <what> <args...>
-- and runs commands a test script appends to the file <probe_dir>/<n>.cmd,
-- one per line: "<id> <command> <args...>", answering
--   PROBE node=<n> id=<id> <result...>
-- Commands: master, register <name>, unregister <name>, query <name>, nodes,
-- addr <node> (its address in coord.nodes()), resign, lease (lease_left_ms
-- of coordd's VIEW, what the console's `coord` prints), open (cluster.open of
-- this node's name), who <node> (cluster.call to that node's probe, which
-- answers its node name), hold <name> (a coord_holder registered as name),
-- where <name> / send <name> / count <name> (coord.call / coord.send to the
-- holder of name: its node, one SEND, its SEND count).
-- The probe is also the local service .probe, answering "lua" WHO.

local skynet = require "skynet"
require "skynet.manager"
local coord = require "skynet.coord"
local cluster = require "skynet.cluster"

local node = skynet.getenv "nodename"
local command_file = skynet.getenv "probe_dir" .. "/" .. node .. ".cmd"

local function say(...)
	local parts = table.pack(...)
	for i = 1, parts.n do parts[i] = tostring(parts[i]) end
	-- one write per line: the logger thread writes to stdout too
	io.stdout:write("PROBE node=" .. node .. " " .. table.concat(parts, " ", 1, parts.n) .. "\n")
	io.stdout:flush()
end

local command = {}

function command.master()
	return coord.master()
end

function command.register(name)
	local ok, err = pcall(coord.register, name)
	if ok then return "registered" end
	return "refused", err
end

function command.unregister(name)
	return coord.unregister(name)
end

function command.query(name)
	local owner, addr = coord.query(name)
	return owner or "nil", addr and skynet.address(addr) or ""
end

function command.nodes()
	local list = {}
	for name in pairs(coord.nodes()) do list[#list + 1] = name end
	table.sort(list)
	return table.concat(list, ",")
end

function command.addr(name)
	return coord.nodes()[name] or "nil"
end

function command.lease()
	local _, view = skynet.call(".coordd", "lua", "VIEW")
	return view.lease_left_ms
end

function command.resign()
	return coord.resign()
end

function command.open()
	return cluster.open(node)
end

function command.who(name)
	return cluster.call(name, ".probe", "WHO")
end

function command.hold(name)
	local holder = skynet.newservice "coord_holder"
	skynet.call(holder, "lua", "REGISTER", name)
	return "held", skynet.address(holder)
end

function command.where(name)
	return coord.call(name, "WHERE")
end

function command.send(name)
	coord.send(name, "SEND")
	return "sent"
end

function command.count(name)
	return coord.call(name, "COUNT")
end

local function run(line)
	local words = {}
	for word in line:gmatch("%S+") do words[#words + 1] = word end
	local id, name = words[1], words[2]
	local f = command[name]
	if f == nil then
		say("id=" .. id, "error", "unknown command", name)
		return
	end
	local result = table.pack(pcall(f, table.unpack(words, 3)))
	if result[1] then
		say("id=" .. id, table.unpack(result, 2, result.n))
	else
		say("id=" .. id, "error", result[2])
	end
end

-- Read lines added to the command file since the last look.
local function poll_commands()
	local done = 0
	while true do
		local f = io.open(command_file)
		if f then
			local n = 0
			for line in f:lines() do
				n = n + 1
				if n > done then
					done = n
					skynet.fork(run, line)
				end
			end
			f:close()
		end
		skynet.sleep(2)
	end
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd)
		assert(cmd == "WHO", "coord_probe: unknown request")
		skynet.retpack(node)
	end)
	skynet.register ".probe"
	coord.watch(function(...) say("event", ...) end)
	skynet.fork(poll_commands)
	say("started")
end)
