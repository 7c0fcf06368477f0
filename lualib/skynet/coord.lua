-- skynet.coord: the coordinator API (cluster-wide names, the master role,
-- membership).  Every call goes to this node's coordd service; which backend
-- runs behind it (local, redis, harbor) is invisible here.  coord/README.md
-- describes the contract.

local skynet = require "skynet"

local coord = {}

local COORDD = ".coordd"

local function request(cmd, ...)
	local result = table.pack(skynet.call(COORDD, "lua", cmd, ...))
	if not result[1] then
		error("coord: " .. tostring(result[2]), 3)
	end
	return table.unpack(result, 2, result.n)
end

local self_node

local function this_node()
	if self_node == nil then
		self_node = request "NODE"
	end
	return self_node
end

local function cluster_for(name, node)
	local found, cluster = pcall(require, "skynet.cluster")
	if not found then
		error(string.format("coord: %q is on node %s and skynet.cluster is not available: %s",
			name, node, tostring(cluster)), 3)
	end
	return cluster
end

-- True when skynet.call reaches addr as it is: a service of this node, or
-- (harbor mode) a handle whose top byte names another harbor.
local function reachable(node, addr)
	return node == this_node() or (math.type(addr) == "integer" and addr >> 24 ~= 0)
end

-- The owner of name: node, addr; raises if nobody holds it.
local function owner(name)
	local node, addr = request("QUERY", name)
	if node == nil then
		error(string.format("coord: no service is registered as %q", name), 3)
	end
	return node, addr
end

function coord.register(name, addr)
	return request("REGISTER", name, addr or skynet.self())
end

function coord.unregister(name)
	return request("UNREGISTER", name)
end

function coord.query(name)
	return request("QUERY", name)
end

function coord.call(name, ...)
	local node, addr = owner(name)
	if reachable(node, addr) then
		return skynet.call(addr, "lua", ...)
	end
	return cluster_for(name, node).call(node, addr, ...)
end

function coord.send(name, ...)
	local node, addr = owner(name)
	if reachable(node, addr) then
		return skynet.send(addr, "lua", ...)
	end
	return cluster_for(name, node).send(node, addr, ...)
end

function coord.master()
	return request "MASTER"
end

function coord.is_master()
	local epoch = request "IS_MASTER"
	if epoch then
		return true, epoch
	end
	return false
end

function coord.fence()
	local epoch = request "IS_MASTER"
	if epoch == nil then
		local node = request "MASTER"
		error(string.format("coord: fence: node %s is not the master (the master is %s)",
			this_node(), tostring(node or "unknown")), 2)
	end
	return epoch
end

-- The master hands its role over (backends with an election): true if this
-- node was the master and released it, false if it was not the master.
function coord.resign()
	return request "RESIGN"
end

function coord.nodes()
	return request "NODES"
end

-- watch(f): f(kind, what, ...) for every event from now on, in a task of
-- this service; an error in f is logged and does not stop the watch.
local watchers

local function deliver(event)
	for _, f in ipairs(watchers) do
		local ok, err = xpcall(f, debug.traceback, table.unpack(event, 1, event.n))
		if not ok then
			skynet.error("coord watch callback failed: " .. tostring(err))
		end
	end
end

local function watch_loop(seq)
	while true do
		local ok, list, next_seq = pcall(request, "EVENTS", seq)
		if not ok then
			skynet.error("coord watch stopped: " .. tostring(list))
			return
		end
		for _, event in ipairs(list) do
			deliver(event)
		end
		seq = next_seq
	end
end

function coord.watch(f)
	assert(type(f) == "function", "coord.watch needs a function")
	if watchers == nil then
		watchers = {}
		skynet.fork(watch_loop, request "WATCH")
	end
	table.insert(watchers, f)
end

-- Global unique services (skynet.uniqueservice(true, ...) lands here): the
-- handle of the instance, a cluster proxy when it runs on another node.
local function as_handle(name, node, addr)
	if reachable(node, addr) then
		return addr
	end
	return cluster_for(name, node).proxy(node, addr)
end

function coord.uniqueservice(name, ...)
	return as_handle(name, request("UNIQUE", name, ...))
end

function coord.queryservice(name)
	return as_handle(name, request("QUERYUNIQUE", name))
end

return coord
