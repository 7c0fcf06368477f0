-- skynet/cluster.lua: the cluster API (spec/cluster-protocol.md §9).
--
--   cluster.call(node, address, ...)   remote call; raises "... call failed"
--                                      naming the node when it fails
--   cluster.send(node, address, ...)   remote push, in order per node
--   cluster.open(port | name [, maxclient])
--   cluster.reload([config])           merge a table, or reread the file
--   cluster.proxy(node, name) / cluster.proxy("node@name" | "node.name")
--   cluster.register(name [, addr]) / cluster.unregister(name)
--   cluster.query(node, name)          -> handle registered there as name
--   cluster.get_sender(node)           -> the node's clustersender
-- address is a handle (integer) or a name: "@x" (cluster.register on that
-- node), ".x" (a local name there), ":0000000a", or a global name.

local skynet = require "skynet"

local cluster = {}
local clusterd
local senders = {}        -- node -> sender handle (never changes)
local queued_sends = {}   -- node -> pushes waiting for the node's sender

local function hub()
	if clusterd == nil then
		clusterd = skynet.uniqueservice("clusterd")
	end
	return clusterd
end

local function get_sender(node)
	local s = senders[node]
	if s == nil then
		local err
		s, err = skynet.call(hub(), "lua", "sender", node)
		if s == nil then
			error(err, 3)
		end
		senders[node] = s
	end
	return s
end

cluster.get_sender = get_sender

function cluster.call(node, address, ...)
	local s = senders[node] or get_sender(node)
	local ok, msg, sz = pcall(skynet.rawcall, s, "lua", skynet.pack("req", address, skynet.pack(...)))
	if not ok then
		error(string.format("cluster node [%s] address %s: call failed", node, tostring(address)), 2)
	end
	return skynet.unpack(msg, sz)
end

-- Sends the pushes queued for node once its sender is known (or drops them).
local function flush_sends(node)
	local ok, s = pcall(get_sender, node)
	local queue = queued_sends[node]
	queued_sends[node] = nil
	for _, push in ipairs(queue) do
		if ok then
			skynet.rawsend(s, "lua", skynet.pack("push", push[1], push[2], push[3]))
		else
			skynet.trash(push[2], push[3])
		end
	end
	if not ok then
		skynet.error(string.format("cluster.send: dropped %d message(s) for node [%s]: %s",
			#queue, node, tostring(s)))
	end
end

function cluster.send(node, address, ...)
	local s = senders[node]
	local queue = queued_sends[node]
	if s and queue == nil then
		skynet.rawsend(s, "lua", skynet.pack("push", address, skynet.pack(...)))
		return
	end
	if queue == nil then
		queue = {}
		queued_sends[node] = queue
		skynet.fork(flush_sends, node)
	end
	local msg, sz = skynet.pack(...)
	queue[#queue + 1] = { address, msg, sz }
end

function cluster.open(port, maxclient)
	if type(port) == "string" then
		return skynet.call(hub(), "lua", "listen", port, nil, maxclient)
	end
	return skynet.call(hub(), "lua", "listen", "0.0.0.0", port, maxclient)
end

function cluster.reload(config)
	skynet.call(hub(), "lua", "reload", config)
end

function cluster.proxy(node, name)
	if name == nil then
		local at = string.find(node, "[@.]")
		assert(at, "cluster.proxy: need node and name, or \"node@name\" / \"node.name\"")
		node, name = node:sub(1, at - 1), node:sub(at)
	end
	return skynet.call(hub(), "lua", "proxy", node, name)
end

function cluster.register(name, addr)
	assert(type(name) == "string", "cluster.register: the name must be a string")
	assert(addr == nil or type(addr) == "number", "cluster.register: the address must be a handle")
	return skynet.call(hub(), "lua", "register", name, addr or skynet.self())
end

function cluster.unregister(name)
	assert(type(name) == "string", "cluster.unregister: the name must be a string")
	return skynet.call(hub(), "lua", "unregister", name)
end

function cluster.query(node, name)
	return cluster.call(node, 0, name)
end

return cluster
