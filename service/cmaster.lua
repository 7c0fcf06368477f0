-- cmaster: the harbor master, run by the node whose config sets `standalone`
-- (the address it listens on).  It keeps the list of slaves and the global
-- names, introduces every new slave to the live ones, and answers name
-- queries.  Wire format: spec/harbor-protocol.md §3-§5 (each package is one
-- length byte, then skynet.packstring(type_letter, ...)).
--
-- Differences from skynet's cmaster (the wire is the same):
--  * a harbor id may join again once its previous slave's master link is
--    gone (skynet reserves an id forever);
--  * the table keeps the last registration of a name, as the slaves do
--    (skynet's master keeps the first one while broadcasting every one);
--  * R(name, 0) removes a name (the harbor coordinator's unregister), and
--    the names of a slave that drops off are forgotten, so a query waits for
--    a live owner instead of getting a dead handle;
--  * a new slave gets an N package for every name known so far, right after
--    W (skynet's slaves learn older names only by asking).
-- What remains: the master is a single point of failure.  When it dies the
-- slaves keep their links and names but nobody can join, and names that
-- are not known yet can't be resolved; there is no fail-over.  A broken
-- link between two live slaves is never re-established (calls over it fail
-- at once instead of hanging).  After a slave rejoins with its old id, old
-- handles of that id may reach a new service.  Name registration is not
-- atomic: the last R the master sees wins.

local skynet = require "skynet"
local socket = require "skynet.socket"

local slaves = {}  -- harbor id -> { fd = , address = } while its link is alive
local names = {}   -- global name -> handle

local function write_package(fd, ...)
	local body = skynet.packstring(...)
	assert(#body <= 255, "cmaster: package too long")
	socket.write(fd, string.char(#body) .. body)
end

-- The next package's values, or nil when the link is closed or garbled.
local function read_package(fd)
	local len = socket.read(fd, 1)
	if not len then
		return nil
	end
	local body = socket.read(fd, len:byte())
	if not body then
		return nil
	end
	return pcall(skynet.unpack, body)
end

local function broadcast(...)
	for _, slave in pairs(slaves) do
		write_package(slave.fd, ...)
	end
end

local function harbor_of(handle)
	return handle >> 24
end

local handle_package = {}

function handle_package.R(id, name, handle)
	assert(math.type(handle) == "integer", "R: the handle must be an integer")
	if handle == 0 then
		names[name] = nil
	else
		names[name] = handle
	end
	broadcast("N", name, handle)
	if handle == 0 then
		skynet.error(string.format("harbor %d drops the global name %s", id, name))
	else
		skynet.error(string.format("harbor %d registers the global name %s as :%08x", id, name, handle))
	end
end

function handle_package.Q(id, name)
	local handle = names[name]
	if handle then
		write_package(slaves[id].fd, "N", name, handle)
	end
end

local function slave_down(id)
	slaves[id] = nil
	for name, handle in pairs(names) do
		if harbor_of(handle) == id then
			names[name] = nil
		end
	end
	skynet.error(string.format("slave %d is down", id))
	broadcast("D", id)
end

local function serve_slave(id, fd)
	while true do
		local ok, kind, a, b = read_package(fd)
		if not ok then
			break
		end
		local f = handle_package[kind]
		if f == nil then
			skynet.error(string.format("cmaster: unknown package %q from slave %d", tostring(kind), id))
		elseif not pcall(f, id, a, b) then
			skynet.error(string.format("cmaster: bad %s package from slave %d", kind, id))
			break
		end
	end
	slave_down(id)
	socket.close(fd)
end

-- The first package must be H(id, address) for an id with no live slave.
local function accept_slave(fd, peer)
	socket.start(fd)
	local ok, kind, id, address = read_package(fd)
	if not ok or kind ~= "H" or math.type(id) ~= "integer" or id < 1 or id > 255
		or type(address) ~= "string" then
		skynet.error(string.format("cmaster: %s did not start with a valid handshake", peer))
		socket.close(fd)
		return
	end
	if slaves[id] then
		skynet.error(string.format("cmaster: refuse %s as harbor %d: harbor %d is alive at %s",
			peer, id, id, slaves[id].address))
		socket.close(fd)
		return
	end
	local n = 0
	for _, slave in pairs(slaves) do
		write_package(slave.fd, "C", id, address)
		n = n + 1
	end
	write_package(fd, "W", n)
	for name, handle in pairs(names) do
		write_package(fd, "N", name, handle)
	end
	slaves[id] = { fd = fd, address = address }
	skynet.error(string.format("harbor %d connected (address %s, %d peers)", id, address, n))
	serve_slave(id, fd)
end

skynet.start(function()
	local address = assert(skynet.getenv "standalone", "cmaster needs the `standalone` config key")
	local fd = assert(socket.listen(address), "cmaster: can't listen on " .. address)
	skynet.error("master listen socket " .. address)
	socket.start(fd, function(client, peer)
		skynet.fork(accept_slave, client, peer)
	end)
end)
