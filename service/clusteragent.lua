-- clusteragent: serves the requests of one accepted cluster connection
-- (spec/cluster-protocol.md §6–7).  clusterd accepts the connection and
-- starts this service with its own address and the connection's id; the
-- agent then owns the socket: it reads it, cuts the bytes into packets
-- with skynet.netpack and writes the replies itself (no gate in between).
--
-- Each call runs in its own task, so replies may leave out of order; pushes
-- are delivered in the order they came.  A malformed packet (bad type, bad
-- size, a large request whose pieces outgrow its announced size) is logged
-- and the connection is closed.  When the connection ends the agent tells
-- clusterd ("agentgone", fd) and exits.
-- Lua requests from clusterd: "namechange" (forget cached @names).

local skynet = require "skynet"
local core = require "skynet.core"
local driver = require "skynet.socketdriver"
local netpack = require "skynet.netpack"
local cluster = require "skynet.cluster.core"
local gather = require "skynet.gather"

local clusterd, fd = ...
clusterd, fd = tonumber(clusterd), tonumber(fd)

local unpackrequest = cluster.unpackrequest
local packresponse = cluster.packresponse

local large = {}          -- session -> { parts = collector, addr, push, tag }
local pending_tag         -- trace tag for the next request
local name_cache = {}     -- "@name" -> handle
local name_lookup = {}    -- "@name" -> tasks waiting for a lookup in progress
local closing = false

-- Small replies made while more messages wait in the queue are gathered
-- and written together once the queue has been worked through.
local replies = gather.new(function(data) driver.send(fd, data) end)

local function reply(session, ok, msg, sz)
	local packet, size = packresponse(session, ok, msg, sz)
	if size then -- a large reply, in one heap buffer
		replies:flush()
		driver.lsend(fd, packet, size)
	else
		replies:write(packet)
	end
end

local function malformed(err)
	if not closing then
		closing = true
		skynet.error(string.format("cluster: closing connection %d: %s", fd, tostring(err)))
		driver.close(fd)
	end
end

-- The handle registered as name (without '@') in clusterd, or nil.
local function lookup(name)
	local handle = name_cache[name]
	if handle then
		return handle
	end
	local waiters = name_lookup[name]
	if waiters then
		local task = coroutine.running()
		waiters[#waiters + 1] = task
		skynet.wait(task)
		return name_cache[name]
	end
	waiters = {}
	name_lookup[name] = waiters
	local ok, found = pcall(skynet.call, clusterd, "lua", "queryname", name:sub(2))
	name_lookup[name] = nil
	if ok and found then
		name_cache[name] = found
	end
	for _, task in ipairs(waiters) do
		skynet.wakeup(task)
	end
	return ok and found or nil
end

local function resolve(addr)
	if cluster.isname(addr) then
		return lookup(addr)
	end
	return addr
end

-- body is a string, or a heap buffer (msg, sz) that passes to the callee.
local function call_traced(tag, addr, body, sz)
	core.trace(tag, "call", skynet.address(addr))
	core.send(addr, skynet.PTYPE_TRACE, 0, tag)
	return skynet.rawcall(addr, "lua", body, sz)
end

local function serve_call(addr, session, body, sz, tag)
	local ok, msg, size
	if tag then
		ok, msg, size = pcall(call_traced, tag, addr, body, sz)
	else
		ok, msg, size = pcall(skynet.rawcall, addr, "lua", body, sz)
	end
	if ok then
		reply(session, true, msg, size)
	else
		reply(session, false, msg)
	end
end

local function serve_query(session, body, sz)
	local ok, name = pcall(skynet.unpack, body, sz)
	local handle = ok and type(name) == "string" and lookup("@" .. name)
	if handle then
		reply(session, true, skynet.packstring(handle))
	else
		reply(session, false, "name not found")
	end
end

local function discard(body, sz)
	if type(body) == "userdata" then
		skynet.trash(body, sz)
	end
end

-- While packets that came together in one read are worked through (a
-- count: a loop may wait for a name lookup), a call gets its own task so
-- that the packets after it are not held up.
local batch_loops = 0

-- target: the handle addr resolved to (nil: no such name).
local function serve_to(target, session, body, sz, push, tag)
	if not target then
		discard(body, sz)
		return reply(session, false, "Invalid name")
	end
	if push then
		skynet.rawsend(target, "lua", body, sz)
	elseif batch_loops > 0 then
		skynet.fork(serve_call, target, session, body, sz, tag)
	else
		serve_call(target, session, body, sz, tag)
	end
end

local function serve(addr, session, body, sz, push, tag)
	if addr == 0 then
		serve_query(session, body, sz)
		return discard(body, sz)
	end
	serve_to(addr and resolve(addr), session, body, sz, push, tag)
end

-- A multi-part header or piece: returns the entry once its last piece
-- came.  A piece's body may point into the packet: it is copied here.
local function collect(addr, session, body, size, more, push)
	local entry = large[session]
	if body == nil then -- a header: size is the announced total
		if entry then
			error(string.format("large request %d announced twice", session))
		end
		large[session] = { parts = cluster.collect(size), addr = addr, push = push, tag = pending_tag }
		pending_tag = nil
		return
	end
	if entry == nil then
		error(string.format("a piece of large request %d came before its header", session))
	end
	if not cluster.append(entry.parts, body, size) then
		large[session] = nil
		error(string.format("large request %d outgrows its announced size", session))
	end
	if not more then
		large[session] = nil
		return entry
	end
end

local function serve_large(session, entry)
	local query = entry.addr == 0
	local target = not query and entry.addr and resolve(entry.addr)
	local msg, sz = cluster.concat(entry.parts)
	if msg == nil then
		return reply(session, false, "Invalid large req")
	end
	if query then
		return serve(0, session, msg, sz)
	end
	serve_to(target, session, msg, sz, entry.push, not entry.push and entry.tag or nil)
end

-- What a packet asks for, worked out while the packet is still there (a
-- piece goes into its large request now): nothing, or a function and its
-- arguments that serve the request (they may wait).
local function accept(addr, session, body, size, padding, push)
	if session == nil then -- a trace tag
		pending_tag = addr
		return
	end
	if addr ~= false and not padding then -- a single request
		local tag = not push and pending_tag or nil
		if tag then pending_tag = nil end
		return serve, addr, session, body, nil, push, tag
	end
	if addr == false and large[session] == nil and not padding then
		return reply, session, false, "Invalid name" -- a last piece with no header
	end
	local entry = collect(addr, session, body, size, padding, push)
	if entry then
		return serve_large, session, entry
	end
end

local function accept_packet(msg, sz)
	return accept(unpackrequest(msg, sz))
end

-- One packet (msg, sz: a heap buffer from netpack, freed as soon as it is
-- accepted: serving a request may wait, and the agent exit meanwhile).
local function on_packet(msg, sz)
	local ok, f, a, b, c, d, e, g = pcall(accept_packet, msg, sz)
	skynet.trash(msg, sz)
	if closing then
		return
	end
	if ok and f then
		ok, f = pcall(f, a, b, c, d, e, g)
	end
	if not ok then
		malformed(f)
	end
end

local queue -- netpack's packet queue for the socket

-- The connection ended (or only the peer's side: close ours too).
local function gone()
	driver.close(fd)
	netpack.clear(queue)
	skynet.send(clusterd, "lua", "agentgone", fd)
	skynet.exit()
end

local socket_event = {}

function socket_event.data(_, msg, sz)
	on_packet(msg, sz)
end

function socket_event.more()
	batch_loops = batch_loops + 1
	while true do
		local _, msg, sz = netpack.pop(queue)
		if msg == nil then
			break
		end
		on_packet(msg, sz)
	end
	batch_loops = batch_loops - 1
end

function socket_event.close()
	gone()
end

function socket_event.error(_, text)
	if not closing then
		skynet.error(string.format("cluster: connection %d failed: %s", fd, tostring(text)))
	end
	gone()
end

function socket_event.warning(_, size)
	skynet.error(string.format("cluster: connection %d has %d KiB waiting to be sent", fd, size))
end

skynet.register_protocol {
	name = "socket",
	id = skynet.PTYPE_SOCKET,
	unpack = function(msg, sz)
		return netpack.filter(queue, msg, sz)
	end,
	dispatch = function(_, _, q, event, ...)
		queue = q
		local f = event and socket_event[event]
		if f then
			f(...)
		end
	end,
}

local command = {}

function command.namechange()
	name_cache = {}
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, ...)
		local f = command[cmd]
		if f then
			f(...)
		end
	end)
	driver.start(fd)
end)
