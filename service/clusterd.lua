-- clusterd: the cluster hub of this process, one per process (started by
-- skynet.cluster as a uniqueservice).  See spec/cluster-protocol.md §1, §7,
-- §8 and §10.  It holds:
--   * the node table: node name -> "host:port" or false, from the file
--     named by the `cluster` setting (a Lua chunk run with an empty
--     environment) and from reloads;
--   * one clustersender per remote node name (created on first use, kept
--     for the life of the process, told when the node's address changes);
--   * the listening sockets (cluster.open) and one clusteragent per
--     accepted connection (the agent owns and reads its socket);
--   * the cluster name registry (cluster.register, "@name" addresses).
--
-- Lua requests:
--   "sender", node            -> the node's sender handle.  A node not in
--                                the table waits for a reload (or fails at
--                                once with __nowaiting); a node set to false
--                                with no sender yet fails.
--   "listen", host, port, max -> address, port (port nil: host is this
--                                node's name in the table, else its
--                                cluster_address if it is `nodename`, else
--                                the resolver's answer; returns name)
--   "reload", table | nil     merge a table, or read the file again
--   "register", name, addr / "unregister", name / "queryname", name
--   "proxy", node, name       -> a clusterproxy handle (one per node.name)
--   "agentgone", fd           an agent's connection ended (from the agent)
--
-- Address resolver hook (for a coordinator that knows node addresses):
--   skynet.call(clusterd, "lua", "resolver", handle)   installs it (nil
--     removes it).  For a node missing from the static table clusterd
--     calls skynet.call(handle, "lua", "resolve", node), which returns
--     "host:port", false (known but down) or nil (unknown: the caller then
--     waits or fails as for any unknown node).
--   skynet.send(clusterd, "lua", "update", node, "host:port" | false)
--     pushes a change; the node's sender reconnects (or closes on false)
--     and callers waiting for that node wake.
-- The static table wins: a node it names is never resolved nor updated.

local skynet = require "skynet"
local socket = require "skynet.socket"
local driver = require "skynet.socketdriver"
require "skynet.manager"

local static = {}         -- node -> address or false, from config/reload
local resolved = {}       -- node -> address or false, from the resolver
local options = { nowaiting = false }
local senders = {}        -- node -> sender handle
local creating = {}       -- node -> tasks waiting while its sender starts
local node_waiters = {}   -- node -> tasks waiting for the node to be defined
local resolver

local registry = {}       -- name -> handle
local registry_name = {}  -- handle -> name
local agents = {}         -- fd -> agent handle, or "starting" / "gone"
local proxies = {}        -- "node.name" -> proxy handle

----------------------------------------------------------------------------
-- Node addresses
----------------------------------------------------------------------------

local function address_of(node)
	local a = static[node]
	if a == nil then
		a = resolved[node]
	end
	return a
end

-- The sender learns the node's new address (string or false).
local function address_changed(node)
	local s = senders[node]
	if s then
		skynet.send(s, "lua", "changenode", address_of(node))
	end
	local waiters = node_waiters[node]
	if waiters then
		node_waiters[node] = nil
		for _, task in ipairs(waiters) do
			skynet.wakeup(task)
		end
	end
end

local function wake_all_waiters()
	local all = node_waiters
	node_waiters = {}
	for _, waiters in pairs(all) do
		for _, task in ipairs(waiters) do
			skynet.wakeup(task)
		end
	end
end

local function ask_resolver(node)
	if resolver == nil then
		return nil
	end
	local ok, address = pcall(skynet.call, resolver, "lua", "resolve", node)
	if not ok then
		skynet.error(string.format("cluster: resolver failed for node [%s]: %s", node, tostring(address)))
		return nil
	end
	if address ~= nil and static[node] == nil then
		resolved[node] = address
	end
	return address_of(node)
end

-- The node's address, waiting for it to be defined unless __nowaiting.
local function wait_address(node)
	while true do
		local a = address_of(node)
		if a == nil then
			a = ask_resolver(node)
		end
		if a ~= nil then
			return a
		end
		if options.nowaiting then
			error(string.format("cluster node [%s] is absent.", node))
		end
		skynet.error(string.format("Waiting for cluster node [%s]", node))
		local task = coroutine.running()
		local waiters = node_waiters[node] or {}
		node_waiters[node] = waiters
		waiters[#waiters + 1] = task
		skynet.wait(task)
	end
end

local function check_value(name, value)
	if type(value) ~= "string" and value ~= false then
		error(string.format("cluster config: node [%s] must be \"host:port\" or false, not %s",
			tostring(name), tostring(value)))
	end
end

local function merge(config)
	for name, value in pairs(config) do
		if type(name) == "string" and name:sub(1, 2) == "__" then
			options[name:sub(3)] = value
		else
			check_value(name, value)
		end
	end
	for name, value in pairs(config) do
		if type(name) ~= "string" or name:sub(1, 2) ~= "__" then
			if static[name] ~= value then
				static[name] = value
				resolved[name] = nil
				address_changed(name)
			end
		end
	end
	if options.nowaiting then
		wake_all_waiters()
	end
end

local function read_config_file()
	local path = skynet.getenv "cluster"
	if path == nil then
		return {}
	end
	local env = {}
	local chunk, err = loadfile(path, "t", env)
	if chunk == nil then
		error(string.format("cluster config %s: %s", path, err))
	end
	chunk()
	return env
end

----------------------------------------------------------------------------
-- Senders
----------------------------------------------------------------------------

local function start_sender(node, address)
	local waiting = {}
	creating[node] = waiting
	local ok, s = pcall(skynet.newservice, "clustersender", node, tostring(address))
	creating[node] = nil
	for _, task in ipairs(waiting) do
		skynet.wakeup(task)
	end
	if not ok then
		error(string.format("cluster node [%s]: can't start its sender: %s", node, tostring(s)))
	end
	senders[node] = s
	if address_of(node) ~= address then -- changed while the sender started
		skynet.send(s, "lua", "changenode", address_of(node))
	end
	return s
end

local function get_sender(node)
	while true do
		local s = senders[node]
		if s then
			return s
		end
		local waiting = creating[node]
		if waiting == nil then
			break
		end
		waiting[#waiting + 1] = coroutine.running()
		skynet.wait(waiting[#waiting])
	end
	local address = wait_address(node)
	if senders[node] then
		return senders[node]
	end
	if address == false then
		error(string.format("cluster node [%s] is down.", node))
	end
	if creating[node] then
		return get_sender(node)
	end
	return start_sender(node, address)
end

----------------------------------------------------------------------------
-- Commands
----------------------------------------------------------------------------

local command = {}

-- Returns the sender, or nil and why not (the caller raises it).
function command.sender(_, node)
	local ok, s = pcall(get_sender, node)
	if ok then
		return s
	end
	return nil, tostring(s)
end

function command.reload(_, config)
	merge(config or read_config_file())
end

function command.resolver(_, handle)
	resolver = handle
end

function command.update(_, node, address)
	if static[node] ~= nil then
		return -- the static table wins
	end
	check_value(node, address)
	if resolved[node] ~= address then
		resolved[node] = address
		address_changed(node)
	end
end

-- cluster_address when name is this node's nodename (cluster.open(name)
-- without a static entry for it).
local function own_cluster_address(name)
	local address = skynet.getenv "cluster_address"
	if name == skynet.getenv "nodename" and address and address ~= "" then
		return address
	end
end

-- Starts the agent of an accepted connection, or refuses it when the
-- listener's maxclient connections (counting this one) are reached.
local function accept(maxclient, fd, addr)
	local open = 1
	for _ in pairs(agents) do
		open = open + 1
	end
	if open >= maxclient then
		skynet.error(string.format("cluster: refused %s, %d connections is the limit",
			addr, maxclient - 1))
		driver.shutdown(fd)
		return
	end
	driver.nodelay(fd)
	agents[fd] = "starting"
	local ok, agent = pcall(skynet.newservice, "clusteragent", skynet.self(), fd)
	if ok then
		agents[fd] = agents[fd] == "starting" and agent or nil
	else
		skynet.error(string.format("cluster: can't start an agent for connection %d: %s", fd, agent))
		agents[fd] = nil
		driver.close(fd)
	end
end

function command.listen(source, host, port, maxclient)
	local name
	if port == nil then
		name = host
		local address = address_of(name)
		if address == nil then
			address = own_cluster_address(name) or ask_resolver(name)
		end
		assert(address, string.format("cluster.open(%q): the node is down or has no address (cluster "
			.. "config, this node's cluster_address, the coordinator)", name))
		host, port = string.match(address, "^(.*):(%d+)$")
		assert(host, string.format("cluster node [%s]: address %s is not host:port", name, address))
		host = host:match("^%[(.*)%]$") or host
	end
	local id, addr, bound = socket.listen(host, tonumber(port))
	maxclient = maxclient or 1024
	socket.start(id, function(fd, peer) accept(maxclient, fd, peer) end)
	if name then
		return name
	end
	return addr, bound
end

local function notify_agents_namechange()
	for _, agent in pairs(agents) do
		if type(agent) == "number" then
			skynet.send(agent, "lua", "namechange")
		end
	end
end

function command.register(source, name, addr)
	assert(registry[name] == nil, string.format("cluster name %s is already registered", name))
	addr = addr or source
	local old = registry_name[addr]
	if old then
		registry[old] = nil
		notify_agents_namechange()
	end
	registry[name] = addr
	registry_name[addr] = name
end

function command.unregister(_, name)
	local addr = registry[name]
	if addr then
		registry[name] = nil
		registry_name[addr] = nil
		notify_agents_namechange()
	end
end

function command.queryname(_, name)
	return registry[name]
end

function command.proxy(_, node, name)
	local key = node .. "." .. tostring(name)
	local p = proxies[key]
	if p == nil then
		p = skynet.newservice("clusterproxy", node, tostring(name))
		if proxies[key] then -- another request made one meanwhile
			skynet.kill(p)
		else
			proxies[key] = p
		end
	end
	return proxies[key]
end

-- May come before newservice returned the agent's handle to accept.
function command.agentgone(_, fd)
	agents[fd] = agents[fd] == "starting" and "gone" or nil
end

skynet.start(function()
	merge(read_config_file())
	skynet.dispatch("lua", function(session, source, cmd, ...)
		local f = command[cmd]
		if f == nil then
			error("clusterd: unknown command " .. tostring(cmd))
		end
		if session == 0 then
			f(source, ...)
		else
			skynet.retpack(f(source, ...))
		end
	end)
end)
