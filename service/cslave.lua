-- cslave (.cslave when harbor ~= 0): this process's member of harbor mode.
-- It joins the master (`master` config key) as harbor `harbor` reachable
-- at `address`, sets up the links to the other slaves and hands each one to
-- the C harbor service, keeps the table of global names and serves
-- skynet.harbor (REGISTER, QUERYNAME, LINK, CONNECT, LINKMASTER).  The join
-- sequence and the packages are in spec/harbor-protocol.md §3-§5.
--
-- Beyond skynet's cslave: a harbor id that went down may be dialled or
-- accepted again (a restarted slave rejoins); the names of a harbor that
-- went down are forgotten; the wait for the first peers is bounded;
-- QUERYNAME takes an optional timeout; UNREGISTER drops a name; SETTLE waits
-- for the master to echo our registrations; PEERS, NAMES and MASTER report
-- the state for the harbor coordinator backend (coord/backend_harbor.lua).

local skynet = require "skynet"
local socket = require "skynet.socket"
require "skynet.manager"
local globalnames = require "skynet.globalnames"

local JOIN_TIMEOUT = 1000 -- centiseconds to wait for the peers announced by W

local harbor_id
local harbor_service
local master_fd           -- nil once the master link is gone
local peers = {}          -- harbor id -> address (or true), false once gone
local global = globalnames.new()
local names = global.handles -- global name -> handle
local link_waiters = {}   -- harbor id -> { tasks } woken when it goes down
local connect_waiters = {}-- harbor id -> { tasks } woken when it comes up
local master_waiters = {} -- tasks woken when the master link drops
local ready = false
local announced = {}      -- C packages received before ready: { id, address }
local in_flight = {}      -- global name -> R packages sent, echo not back yet

local function write_package(...)
	if master_fd == nil then
		return
	end
	local body = skynet.packstring(...)
	assert(#body <= 255, "cslave: package too long")
	socket.write(master_fd, string.char(#body) .. body)
end

local function read_package(fd)
	local len = socket.read(fd, 1)
	if not len then
		error("master link closed")
	end
	local body = socket.read(fd, len:byte())
	if not body then
		error("master link closed")
	end
	return skynet.unpack(body)
end

local function wake_all(list)
	for _, task in ipairs(list or {}) do
		skynet.wakeup(task)
	end
end

local function tell_harbor(name, handle)
	if handle == 0 then
		skynet.send(harbor_service, "harbor", "U " .. name)
	else
		skynet.redirect(harbor_service, handle, "harbor", 0, "N " .. name)
	end
end

-- name now points at handle (0: removed).
local function learn_name(name, handle)
	global:set(name, handle)
	if ready then
		tell_harbor(name, handle)
	end
end

local function peer_up(id, address)
	peers[id] = address or true
	local waiters = connect_waiters[id]
	connect_waiters[id] = nil
	wake_all(waiters)
end

local function peer_down(id)
	if not peers[id] then
		return
	end
	peers[id] = false
	for name, handle in pairs(names) do
		if handle >> 24 == id then
			names[name] = nil
		end
	end
	local waiters = link_waiters[id]
	link_waiters[id] = nil
	wake_all(waiters)
end

-- A live link to id exists already (a stale one is replaced by the C side
-- only after it closed, which it reports with "D id").
local function can_link(id)
	if id == harbor_id or id < 1 or id > 255 or peers[id] then
		skynet.error(string.format("cslave: refuse a second link to harbor %d", id))
		return false
	end
	return true
end

local function hand_over(fd, command, id, address)
	socket.pause(fd)
	socket.abandon(fd)
	skynet.send(harbor_service, "harbor", string.format("%s %d %d", command, fd, id))
	peer_up(id, address)
end

local function dial(id, address)
	if not can_link(id) then
		return
	end
	local fd, err = socket.open(address)
	if not fd then
		skynet.error(string.format("cslave: can't connect to harbor %d at %s: %s", id, address, tostring(err)))
		return
	end
	socket.nodelay(fd)
	skynet.error(string.format("Connect to harbor %d (fd=%d), %s", id, fd, address))
	hand_over(fd, "S", id, address)
end

local master_package = {}

function master_package.C(id, address)
	if ready then
		skynet.fork(dial, id, address)
	else
		table.insert(announced, { id, address })
	end
end

-- Every R is broadcast back to its sender too: while a newer R of ours is
-- on its way, an echo of an older one must not undo it.
function master_package.N(name, handle)
	local pending = in_flight[name]
	if pending then
		pending = pending - 1
		in_flight[name] = pending > 0 and pending or nil
		if pending > 0 then
			return
		end
	end
	learn_name(name, handle)
end

function master_package.D(id)
	peer_down(id)
end

function master_package.W()
	skynet.error("cslave: unexpected W package from the master")
end

local function serve_master()
	while true do
		local ok, kind, a, b = pcall(read_package, master_fd)
		if not ok then
			break
		end
		local f = master_package[kind]
		if f then
			f(a, b)
		else
			skynet.error("cslave: unknown package from the master: " .. tostring(kind))
		end
	end
	skynet.error("Master disconnect")
	local fd = master_fd
	master_fd = nil
	socket.close(fd)
	wake_all(master_waiters)
	master_waiters = {}
end

-- Accept the n peers announced by W (each sends its id byte first).
local function accept_peers(listen_fd, n)
	local joined = 0
	local task = coroutine.running()
	socket.start(listen_fd, function(fd, addr)
		skynet.fork(function()
			socket.start(fd)
			local byte = socket.read(fd, 1)
			local id = byte and byte:byte()
			if id == nil or not can_link(id) then
				socket.close(fd)
				return
			end
			skynet.error(string.format("Harbor %d connected (fd=%d) from %s", id, fd, addr))
			hand_over(fd, "A", id)
			joined = joined + 1
			if joined == n then
				skynet.wakeup(task)
			end
		end)
	end)
	if skynet.sleep(JOIN_TIMEOUT, task) ~= "BREAK" then
		skynet.error(string.format("cslave: only %d of %d harbors connected within %d s; going on",
			joined, n, JOIN_TIMEOUT // 100))
	end
end

local function join(listen_fd)
	write_package("H", harbor_id, skynet.getenv "address")
	local ok, kind, n = pcall(read_package, master_fd)
	assert(ok and kind == "W", "cslave: the master did not answer the handshake with W (harbor id in use?)")
	skynet.fork(serve_master)
	skynet.error(string.format("Waiting for %d harbors", n))
	if n > 0 then
		accept_peers(listen_fd, n)
	end
	socket.close(listen_fd)
	ready = true
	for _, c in ipairs(announced) do
		skynet.fork(dial, c[1], c[2])
	end
	announced = nil
	for name, handle in pairs(names) do
		tell_harbor(name, handle)
	end
	skynet.error("Shakehand ready")
end

----------------------------------------------------------------------------
-- Requests from skynet.harbor and from the C harbor service
----------------------------------------------------------------------------

local command = {}

local function register(name, handle)
	learn_name(name, handle)
	if master_fd then
		write_package("R", name, handle)
		in_flight[name] = (in_flight[name] or 0) + 1
	end
end

function command.REGISTER(name, handle)
	global:note_move(name, handle)
	register(name, handle)
end

-- Drops a name everywhere (sent as R(name, 0), which this project's cmaster
-- understands; skynet's would store 0).
function command.UNREGISTER(name)
	register(name, 0)
end

-- handle, or nil after timeout centiseconds (no timeout: wait for ever).
function command.QUERYNAME(name, timeout)
	global:query(name, timeout, function() write_package("Q", name) end)
end

local function wait_in(list_of, id)
	local task = coroutine.running()
	list_of[id] = list_of[id] or {}
	table.insert(list_of[id], task)
	skynet.wait(task)
end

function command.LINK(id)
	if peers[id] then
		wait_in(link_waiters, id)
	end
	skynet.ret()
end

function command.CONNECT(id)
	if not peers[id] then
		wait_in(connect_waiters, id)
	end
	skynet.ret()
end

function command.LINKMASTER()
	if master_fd then
		local task = coroutine.running()
		table.insert(master_waiters, task)
		skynet.wait(task)
	end
	skynet.ret()
end

-- { harbor id = address } of the live links (address true when unknown).
function command.PEERS()
	local live = {}
	for id, address in pairs(peers) do
		if address then
			live[id] = address
		end
	end
	skynet.ret(skynet.pack(live))
end

function command.NAMES()
	skynet.ret(skynet.pack(names))
end

-- Returns once the master has echoed every R sent so far (at most timeout
-- centiseconds): what this node registered or dropped is known everywhere.
function command.SETTLE(timeout)
	local deadline = skynet.now() + timeout
	while next(in_flight) and master_fd and skynet.now() < deadline do
		skynet.sleep(1)
	end
	skynet.ret(skynet.pack(next(in_flight) == nil))
end

function command.MASTER()
	skynet.ret(skynet.pack(master_fd ~= nil, skynet.getenv "master"))
end

-- Text from the C harbor service: "Q name" (resolve it), "D id" (link gone).
local function harbor_text(text)
	local kind, arg = text:match("^(%a) (.+)$")
	if kind == "Q" then
		if names[arg] then
			tell_harbor(arg, names[arg])
		else
			write_package("Q", arg)
		end
	elseif kind == "D" then
		peer_down(tonumber(arg))
	else
		skynet.error("cslave: unknown text from the harbor service: " .. text)
	end
end

skynet.register_protocol {
	name = "harbor",
	id = skynet.PTYPE_HARBOR,
	pack = function(...) return ... end,
	unpack = skynet.tostring,
}

skynet.register_protocol {
	name = "text",
	id = skynet.PTYPE_TEXT,
	unpack = skynet.tostring,
	dispatch = function(_, _, text)
		harbor_text(text)
	end,
}

skynet.start(function()
	harbor_id = assert(tonumber(skynet.getenv "harbor"), "cslave needs the `harbor` config key")
	local master = assert(skynet.getenv "master", "harbor mode needs the `master` config key (host:port)")
	local address = assert(skynet.getenv "address", "harbor mode needs the `address` config key (host:port)")
	local listen_fd = socket.listen(address)
	master_fd = socket.open(master)
	assert(master_fd, "cslave: can't connect to the master at " .. master)
	harbor_service = assert(skynet.launch("harbor", harbor_id, skynet.self()), "cslave: can't launch the harbor service")
	skynet.dispatch("lua", function(_, _, cmd, ...)
		local f = command[cmd]
		if f == nil then
			error("cslave: unknown command " .. tostring(cmd))
		end
		f(...)
	end)
	join(listen_fd)
end)
