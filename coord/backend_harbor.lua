-- backend_harbor: the coordinator backend on top of skynet's harbor mode
-- (coordinator = "harbor"; config keys harbor, address, master, standalone,
-- nodename).  See coord/README.md for the contract and the harbor section.
--
--  * names are harbor global names (1..15 bytes), kept by .cslave and the
--    master (cmaster); an address is a harbor handle, callable from every
--    harbor;
--  * each node announces its name as the global name "=<nodename>" (so
--    nodename is 1..14 bytes and unique), the master node also "~master";
--  * the master is the node running cmaster (`standalone`), for good: there
--    is no election and no fail-over, the epoch is always 1, and once the
--    master process is gone master() is nil on every node;
--  * nodes are this node and the harbors linked to it; names of a harbor
--    whose link is down are dropped.
-- .cslave pushes nothing, so the backend reads its tables every
-- POLL_INTERVAL and reports them with host.sync.

local skynet = require "skynet"

local M = {}

local EPOCH = 1
local POLL_INTERVAL = 10    -- centiseconds
local LOOKUP_TIMEOUT = 5    -- centiseconds a lookup waits for the master
local STOP_TIMEOUT = 30     -- centiseconds stop waits for the master's echo
local SLAVE = ".cslave"
local NODE_PREFIX = "="
local MASTER_NAME = "~master"

local function harbor_of(handle)
	return handle >> 24
end

local function check_name(name)
	local first = name:sub(1, 1)
	if #name > 15 or first == "." or first == ":" or first == NODE_PREFIX or first == "~"
		or tonumber(name) then
		error(string.format("invalid global name %q for the harbor coordinator: at most 15 bytes, not a number, not starting with . : = ~", name), 0)
	end
end

function M.start(host)
	local harbor_id = tonumber(host.getenv "harbor") or 0
	if harbor_id == 0 then
		error('coordinator = "harbor" needs harbor mode: set the config keys `harbor` (1..255), `master` and `address`', 0)
	end
	local node = host.node
	if host.getenv "nodename" == nil or #node > 14 then
		error('coordinator = "harbor" needs the config key `nodename`: 1..14 bytes, unique among the harbors', 0)
	end
	local is_master_node = host.getenv "standalone" ~= nil
	local cluster_address = host.getenv "cluster_address" or ""
	local master_node          -- the master's node name, as last seen (non-master nodes)
	local stopped = false
	local backend = {}

	-- The slave's view: live harbor ids, global names, node name by harbor id.
	local function snapshot()
		local live = skynet.call(SLAVE, "lua", "PEERS")
		live[harbor_id] = true
		local names = skynet.call(SLAVE, "lua", "NAMES")
		local node_of = {}
		for name, handle in pairs(names) do
			if name:sub(1, 1) == NODE_PREFIX then
				node_of[harbor_of(handle)] = name:sub(2)
			end
		end
		node_of[harbor_id] = node
		return { live = live, names = names, node_of = node_of }
	end

	local function node_name(view, id)
		return view.node_of[id] or ("harbor" .. id)
	end

	-- The owner of handle when its harbor is linked: node, handle.
	local function live_owner(view, handle)
		local id = harbor_of(handle)
		if view.live[id] then
			return node_name(view, id), handle
		end
	end

	local function refresh()
		local view = snapshot()
		local nodes, names = {}, {}
		for id in pairs(view.live) do
			nodes[node_name(view, id)] = id == harbor_id and cluster_address or ""
		end
		for name, handle in pairs(view.names) do
			local first = name:sub(1, 1)
			local owner = live_owner(view, handle)
			if owner and first ~= NODE_PREFIX and first ~= "~" then
				names[name] = { owner, handle }
			end
		end
		host.sync("node", nodes)
		host.sync("name", names)
		if not is_master_node then
			local up = skynet.call(SLAVE, "lua", "MASTER")
			local handle = view.names[MASTER_NAME]
			local now = up and handle and live_owner(view, handle) or nil
			if now ~= master_node then
				master_node = now
				if now then
					host.emit("master", "changed", now, EPOCH)
				else
					host.log("the harbor master is gone; harbor mode has no fail-over")
				end
			end
		end
	end

	local function poll()
		while not stopped do
			local ok, err = pcall(refresh)
			if not ok then
				host.log("harbor refresh failed: " .. tostring(err))
			end
			skynet.sleep(POLL_INTERVAL)
		end
	end

	function backend.register(name, addr)
		check_name(name)
		local cur = skynet.call(SLAVE, "lua", "QUERYNAME", name, LOOKUP_TIMEOUT)
		if cur and cur ~= addr and harbor_of(cur) ~= harbor_id then
			local view = snapshot()
			local owner = live_owner(view, cur)
			if owner then
				error(string.format('name "%s" is held by node %s (%s)', name, owner, skynet.address(cur)), 0)
			end
		end
		skynet.send(SLAVE, "lua", "REGISTER", name, addr)
	end

	function backend.unregister(name, addr)
		local names = skynet.call(SLAVE, "lua", "NAMES")
		if names[name] == addr then
			skynet.send(SLAVE, "lua", "UNREGISTER", name)
		end
	end

	function backend.lookup(name)
		check_name(name)
		local handle = skynet.call(SLAVE, "lua", "QUERYNAME", name, LOOKUP_TIMEOUT)
		if handle then
			return live_owner(snapshot(), handle)
		end
	end

	function backend.master()
		if is_master_node then
			return node, EPOCH
		end
		if master_node then
			return master_node, EPOCH
		end
	end

	function backend.is_master()
		if is_master_node then
			return EPOCH
		end
	end

	function backend.stop()
		stopped = true
		for name in pairs(host.local_names()) do
			skynet.send(SLAVE, "lua", "UNREGISTER", name)
		end
		skynet.send(SLAVE, "lua", "UNREGISTER", NODE_PREFIX .. node)
		if is_master_node then
			skynet.send(SLAVE, "lua", "UNREGISTER", MASTER_NAME)
			host.log("the harbor master stops; harbor mode has no fail-over")
		end
		skynet.call(SLAVE, "lua", "SETTLE", STOP_TIMEOUT)
	end

	local taken = skynet.call(SLAVE, "lua", "QUERYNAME", NODE_PREFIX .. node, LOOKUP_TIMEOUT)
	if taken and harbor_of(taken) ~= harbor_id then
		error(string.format("config key `nodename`: %q is already used by harbor %d", node, harbor_of(taken)), 0)
	end
	skynet.send(SLAVE, "lua", "REGISTER", NODE_PREFIX .. node, skynet.self())
	host.emit("node", "up", node, cluster_address)
	if is_master_node then
		skynet.send(SLAVE, "lua", "REGISTER", MASTER_NAME, skynet.self())
		host.emit("master", "gained", node, EPOCH)
	end
	skynet.fork(poll)
	return backend
end

return M
