-- coordd (.coordd): the node's coordinator service.  It loads the backend
-- named by the config key `coordinator` (coord/README.md has the contract),
-- keeps the node's cache of global names and live nodes (fed only by backend
-- events), answers skynet.coord requests from it, follows the services that
-- own names so their names go when they exit, fans events out to watchers,
-- starts global unique services, tells clusterd the addresses of the nodes
-- when the backend has a membership (clusterd's resolver hook), and releases
-- everything on shutdown.

local skynet = require "skynet"
require "skynet.manager"
local c = require "skynet.core"

local BACKENDS = { ["local"] = true, redis = true, harbor = true }
local EVENT_LOG_SIZE = 1024

local node_name
local backend_kind
local backend
local clusterd          -- set when this coordd is clusterd's address resolver
local names = {}        -- name -> { node = , addr = }
local nodes = {}        -- node name -> cluster address
local owned = {}        -- local handle -> { name = true } (names it holds)
local known_master = {} -- { node = , epoch = } last master reported

-- Event log for watchers: events[seq] = packed event; long-polling watchers
-- wait in `waiting` until an event past their cursor exists.
local events = { first = 1, last = 0 }
local waiting = {}

-- Tasks waiting for a global name to appear (queryservice): name -> { task... }
local name_waiters = {}

----------------------------------------------------------------------------
-- Events and the cache
----------------------------------------------------------------------------

local function append_event(...)
	local seq = events.last + 1
	events.last = seq
	events[seq] = table.pack(...)
	if seq - events.first >= EVENT_LOG_SIZE then
		events[events.first] = nil
		events.first = events.first + 1
	end
	local woken = waiting
	waiting = {}
	for _, task in ipairs(woken) do
		skynet.wakeup(task)
	end
end

local function wake_name_waiters(name)
	local list = name_waiters[name]
	if list then
		name_waiters[name] = nil
		for _, task in ipairs(list) do
			skynet.wakeup(task)
		end
	end
end

local apply = {}

function apply.name(what, name, node, addr)
	local cur = names[name]
	if what == "registered" then
		if cur and cur.node == node and cur.addr == addr then
			return false
		end
		names[name] = { node = node, addr = addr }
		wake_name_waiters(name)
		return true
	end
	if cur == nil or cur.node ~= node or (addr ~= nil and cur.addr ~= addr) then
		return false
	end
	names[name] = nil
	return true, cur.addr
end

-- A node's cluster address for clusterd: "host:port", or false when the node
-- is down or publishes no address.
local function cluster_address_of(node)
	local address = nodes[node]
	if address == nil or address == "" then
		return false
	end
	return address
end

local function tell_clusterd(node)
	if clusterd then
		skynet.send(clusterd, "lua", "update", node, cluster_address_of(node))
	end
end

local function emit(kind, what, a, b, e)
	if kind == "node" then
		if what == "up" then
			if nodes[a] == b then return end
			nodes[a] = b
			tell_clusterd(a)
		else
			if nodes[a] == nil or a == node_name then return end
			nodes[a] = nil
			tell_clusterd(a)
			for name, owner in pairs(names) do
				if owner.node == a then
					emit("name", "dropped", name, a, owner.addr)
				end
			end
		end
	elseif kind == "name" then
		local changed, old_addr = apply.name(what, a, b, e)
		if not changed then return end
		e = e or old_addr
	elseif kind == "master" then
		if what == "changed" and known_master.node == a and known_master.epoch == b then
			return
		end
		known_master = { node = a, epoch = b }
	end
	append_event(kind, what, a, b, e)
end

-- Replace the whole set for kind with map, emitting the differences.
local function sync(kind, map)
	if kind == "node" then
		for name in pairs(nodes) do
			if map[name] == nil and name ~= node_name then emit("node", "down", name) end
		end
		for name, address in pairs(map) do
			emit("node", "up", name, address)
		end
		return
	end
	local mine = {}
	for _, list in pairs(owned) do
		for name in pairs(list) do mine[name] = true end
	end
	for name, owner in pairs(names) do
		if map[name] == nil and not mine[name] then
			emit("name", "dropped", name, owner.node, owner.addr)
		end
	end
	for name, owner in pairs(map) do
		if not mine[name] then
			emit("name", "registered", name, owner[1], owner[2])
		end
	end
end

-- The backend found that another live node took name while we were away.
local function lost(name, node, addr)
	for holder, list in pairs(owned) do
		if list[name] then
			list[name] = nil
			skynet.error(string.format("coord: name %s of %s was taken by node %s", name, skynet.address(holder), node))
			emit("name", "dropped", name, node_name, holder)
		end
	end
	emit("name", "registered", name, node, addr)
end

local function local_names()
	local map = {}
	for addr, list in pairs(owned) do
		for name in pairs(list) do map[name] = addr end
	end
	return map
end

----------------------------------------------------------------------------
-- Following the services that own names
----------------------------------------------------------------------------

local function owner_exited(addr)
	local list = owned[addr]
	if list == nil then return end
	owned[addr] = nil
	for name in pairs(list) do
		local ok, err = pcall(backend.unregister, name, addr)
		if not ok then
			skynet.error("coord: unregister " .. name .. " of exited " .. skynet.address(addr) .. ": " .. tostring(err))
		end
		emit("name", "dropped", name, node_name, addr)
	end
end

-- The debug LINK request is answered (with an error) only when addr exits.
local function follow(addr)
	if owned[addr] then return end
	owned[addr] = {}
	skynet.fork(function()
		pcall(skynet.call, addr, "debug", "LINK")
		owner_exited(addr)
	end)
end

-- PTYPE_CLIENT: messages from sources a backend listens to (e.g. the Redis
-- driver's pushes), otherwise exit notices (coordd as the exit monitor; they
-- have an empty body).
local client_listeners = {}

skynet.register_protocol {
	name = "client",
	id = skynet.PTYPE_CLIENT,
	unpack = function(msg, sz) return msg, sz end,
	dispatch = function(_, source, msg, sz)
		local listener = client_listeners[source]
		if listener and sz > 0 then
			listener(msg, sz)
		else
			owner_exited(source)
		end
	end,
}

local function become_exit_monitor()
	if c.command "MONITOR" == nil then
		c.command("MONITOR", skynet.address(skynet.self()))
	end
end

----------------------------------------------------------------------------
-- Commands from skynet.coord
----------------------------------------------------------------------------

local VALID_NAME = "^[%w_%.%-@:/]+$"

local function check_name(name)
	if type(name) ~= "string" or #name > 200 or not name:find(VALID_NAME) then
		error(string.format("invalid global name %q: use 1-200 letters, digits or _.-@:/", tostring(name)), 0)
	end
end

local command = {}

function command.NODE()
	return node_name
end

function command.REGISTER(name, addr)
	check_name(name)
	assert(math.type(addr) == "integer", "register: the address must be a local service handle")
	local cur = names[name]
	if cur and cur.node == node_name and cur.addr ~= addr and owned[cur.addr] and owned[cur.addr][name] then
		error(string.format("name %q is held by node %s (%s)", name, node_name, skynet.address(cur.addr)), 0)
	end
	follow(addr)
	owned[addr][name] = true
	local ok, err = pcall(backend.register, name, addr)
	if not ok then
		owned[addr][name] = nil
		error(err, 0)
	end
	emit("name", "registered", name, node_name, addr)
	return true
end

function command.UNREGISTER(name, addr)
	check_name(name)
	local cur = names[name]
	if cur == nil or cur.node ~= node_name or (addr and cur.addr ~= addr) then
		return false
	end
	local list = owned[cur.addr]
	if list then list[name] = nil end
	backend.unregister(name, cur.addr)
	emit("name", "dropped", name, node_name, cur.addr)
	return true
end

function command.QUERY(name)
	local cur = names[name]
	if cur then
		return cur.node, cur.addr
	end
	local node, addr = backend.lookup(name)
	if node then
		emit("name", "registered", name, node, addr)
	end
	return node, addr
end

function command.MASTER()
	return backend.master()
end

function command.IS_MASTER()
	return backend.is_master()
end

-- Hand the master role over (backends with an election only).
function command.RESIGN()
	if backend.resign == nil then
		error(string.format("coordinator %s has no election: its master can't resign", backend_kind), 0)
	end
	return backend.resign()
end

-- This node's view, for the console's `coord` command.
function command.VIEW()
	local master, epoch = backend.master()
	local my_epoch, left_ms = backend.is_master()
	local held = {}
	for name, addr in pairs(local_names()) do
		held[name] = skynet.address(addr)
	end
	return {
		backend = backend_kind,
		node = node_name,
		master = master and string.format("%s %d", master, epoch) or "none",
		lease_left_ms = my_epoch and (left_ms or "unlimited") or "not master",
		names = held,
		nodes = command.NODES(),
	}
end

function command.NODES()
	local copy = {}
	for name, address in pairs(nodes) do copy[name] = address end
	return copy
end

function command.WATCH()
	return events.last + 1
end

-- Events from seq on (waiting until there is one): list, next seq.
function command.EVENTS(seq)
	while seq > events.last do
		local task = coroutine.running()
		table.insert(waiting, task)
		skynet.wait(task)
	end
	seq = math.max(seq, events.first)
	local list = {}
	for i = seq, events.last do
		list[#list + 1] = events[i]
	end
	return list, events.last + 1
end

----------------------------------------------------------------------------
-- Global unique services: the global name "@<name>"
----------------------------------------------------------------------------

local launching = {}  -- name -> true while this node starts it

local function wait_for_change(gname)
	local task = coroutine.running()
	name_waiters[gname] = name_waiters[gname] or {}
	table.insert(name_waiters[gname], task)
	skynet.wait(task)
end

local function wait_for_name(gname)
	while names[gname] == nil do
		wait_for_change(gname)
	end
	return names[gname].node, names[gname].addr
end

-- Start name here and register it; if another node won the name meanwhile,
-- kill our copy and answer the winner.
local function launch_unique(gname, name, ...)
	local addr
	local ok, err = pcall(function(...)
		addr = skynet.newservice(name, ...)
		assert(addr, "unique service " .. name .. " exited during its start")
		return command.REGISTER(gname, addr)
	end, ...)
	launching[gname] = nil
	wake_name_waiters(gname)
	if ok then
		return node_name, addr
	end
	if addr then skynet.kill(addr) end
	local node, winner = backend.lookup(gname)
	if node == nil then
		error(err, 0)
	end
	emit("name", "registered", gname, node, winner)
	return node, winner
end

function command.UNIQUE(name, ...)
	local gname = "@" .. name
	check_name(gname)
	while launching[gname] and names[gname] == nil do
		wait_for_change(gname)
	end
	if names[gname] then
		return names[gname].node, names[gname].addr
	end
	launching[gname] = true
	local node, addr = backend.lookup(gname)
	if node then
		launching[gname] = nil
		emit("name", "registered", gname, node, addr)
		return node, addr
	end
	return launch_unique(gname, name, ...)
end

function command.QUERYUNIQUE(name)
	return wait_for_name("@" .. name)
end

----------------------------------------------------------------------------
-- Start and stop
----------------------------------------------------------------------------

local function load_backend(kind)
	if not BACKENDS[kind] then
		error(string.format("config key `coordinator` is %q: use \"local\", \"redis\" or \"harbor\"", kind), 0)
	end
	local found, module = pcall(require, "backend_" .. kind)
	if not found then
		error("coordinator " .. kind .. ": can't load backend_" .. kind .. ".lua: " .. tostring(module), 0)
	end
	return module.start {
		node = node_name,
		getenv = skynet.getenv,
		emit = emit,
		sync = sync,
		local_names = local_names,
		lost = lost,
		listen = function(source, fn) client_listeners[source] = fn end,
		log = function(text) skynet.error("coord: " .. text) end,
	}
end

-- Requests from clusterd (its resolver hook), answered without the ok flag.
local cluster_request = {}

function cluster_request.resolve(node)
	if nodes[node] == nil then
		return nil
	end
	return cluster_address_of(node)
end

-- With a membership that carries addresses, clusterd asks us for the nodes
-- its static config does not name; push what is already known.
local function become_cluster_resolver()
	clusterd = skynet.uniqueservice "clusterd"
	skynet.call(clusterd, "lua", "resolver", skynet.self())
	for node in pairs(nodes) do
		tell_clusterd(node)
	end
end

local function dispatch(_, _, cmd, ...)
	local hook = cluster_request[cmd]
	if hook then
		skynet.retpack(hook(...))
		return
	end
	local f = command[cmd]
	if f == nil then
		skynet.retpack(false, "coordd: unknown command " .. tostring(cmd))
		return
	end
	local result = table.pack(pcall(f, ...))
	skynet.retpack(table.unpack(result, 1, result.n))
end

local function stop()
	local ok, err = pcall(backend.stop)
	if not ok then
		skynet.error("coord: stop: " .. tostring(err))
	end
end

skynet.start(function()
	node_name = skynet.getenv "nodename" or "local"
	backend_kind = skynet.getenv "coordinator" or "local"
	local loaded, result = pcall(load_backend, backend_kind)
	if not loaded then -- name the config file, as the runtime does for its keys
		error((skynet.getenv "skynode_config" or "config") .. ": " .. tostring(result), 0)
	end
	backend = result
	skynet.dispatch("lua", dispatch)
	if backend.cluster_addresses then
		local ok, err = pcall(become_cluster_resolver)
		if not ok then
			clusterd = nil
			skynet.error("coord: cluster calls by node name will need a cluster config: " .. tostring(err))
		end
	end
	skynet.onshutdown(stop)
	become_exit_monitor()
	skynet.register ".coordd"
end)
