-- backend_local: the coordinator backend for a single node with no external
-- service (coordinator = "local", the default).  Names live in this table;
-- this node is always the master, with epoch 1.  See coord/README.md.

local M = {}

local EPOCH = 1

function M.start(host)
	local holders = {}  -- name -> local handle
	local node = host.node
	local backend = {}

	function backend.register(name, addr)
		local cur = holders[name]
		if cur and cur ~= addr then
			error(string.format("name %q is held by node %s (:%08x)", name, node, cur), 0)
		end
		holders[name] = addr
	end

	function backend.unregister(name, addr)
		if holders[name] == addr then
			holders[name] = nil
		end
	end

	function backend.lookup(name)
		local addr = holders[name]
		if addr then
			return node, addr
		end
	end

	function backend.master()
		return node, EPOCH
	end

	function backend.is_master()
		return EPOCH
	end

	function backend.stop()
	end

	host.emit("node", "up", node, host.getenv "cluster_address" or "")
	host.emit("master", "gained", node, EPOCH)
	return backend
end

return M
