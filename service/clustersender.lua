-- clustersender: the outgoing connection of this process to one remote
-- cluster node (spec/cluster-protocol.md §3–5, §8.2–8.3).  clusterd starts
-- one per node name, with the node name and "host:port" (or "false").
--
-- Lua messages (from skynet.cluster and clusterproxy):
--   "req", addr, msg, sz    call; answers with the remote reply body as is
--                           (an error when the call fails; the reason is
--                           logged here with the node's name)
--   "push", addr, msg, sz   one-way; dropped (and logged) on failure
--   "changenode", address   "host:port": reconnect there; false: close and
--                           refuse every request until an address is given
-- msg, sz is a skynet.pack buffer (or a string) that becomes this
-- service's to free: the packer takes it over.
--
-- The sender owns its socket: it connects on first use (one attempt per
-- request), cuts the replies into packets with skynet.netpack and answers
-- each caller from the packet that completes its reply (skynet.redirect
-- with the caller's session), so no task waits per call.  Small requests
-- are gathered (skynet.gather).  A lost connection fails every call
-- waiting on it; the next request connects again.

local skynet = require "skynet"
local driver = require "skynet.socketdriver"
local netpack = require "skynet.netpack"
local cluster = require "skynet.cluster.core"
local gather = require "skynet.gather"

local node, address = ...
local nodename = cluster.nodename()
local session = 1

local SOCKET_CONNECT = 2

local host, port          -- where to connect; nil: refuse requests
local fd                  -- the connected socket
local connecting          -- { id = socket id, waiters = { task... }, err = text }
local pending = {}        -- session -> call: { source, session, addr, parts (a collector) }
local queue               -- netpack's packet queue for the socket
local requests = gather.new(function(data)
	if fd then driver.send(fd, data) end
end)

local unpackresponse = cluster.unpackresponse

local function split(addr)
	local h, p = string.match(addr, "^(.*):(%d+)$")
	assert(h, "cluster node [" .. node .. "]: address " .. addr .. " is not host:port")
	return h:match("^%[(.*)%]$") or h, tonumber(p)
end

local function failed(what, err)
	skynet.error(string.format("cluster node [%s]: %s failed: %s", node, what, tostring(err)))
end

local function where()
	return string.format("%s (%s:%s)", node, tostring(host), tostring(port))
end

-- Answers the caller of call (msg, sz: the reply body), or fails it.
local function answer(call, ok, msg, sz)
	if call.session == 0 then
		return skynet.trash(msg, sz)
	end
	if ok then
		skynet.redirect(call.source, 0, "response", call.session, msg, sz)
	else
		skynet.redirect(call.source, 0, "error", call.session, "")
	end
end

local function call_failed(call, err)
	failed("call to " .. tostring(call.addr), err)
	answer(call, false)
end

-- Fails every call still waiting for a reply.
local function fail_pending(err)
	local waiting = pending
	pending = {}
	for _, call in pairs(waiting) do
		call_failed(call, err)
	end
end

local function drop_connection(err)
	if fd then
		driver.close(fd)
		netpack.clear(queue)
		fd = nil
	end
	requests:drop()
	fail_pending(err)
end

----------------------------------------------------------------------------
-- Connecting
----------------------------------------------------------------------------

local function connect_done(err)
	local attempt = connecting
	connecting = nil
	attempt.err = err
	for _, task in ipairs(attempt.waiters) do
		skynet.wakeup(task)
	end
end

local function wait_connect(attempt)
	local task = coroutine.running()
	attempt.waiters[#attempt.waiters + 1] = task
	skynet.wait(task)
	if attempt.err then
		error(string.format("connect to %s failed: %s", where(), attempt.err), 0)
	end
end

-- The connected socket; a single attempt when there is none.
local function connection()
	if fd then
		return fd
	end
	if host == nil then
		error("node " .. node .. " has no address (closed)", 0)
	end
	local attempt = connecting
	if attempt == nil then
		local id = driver.connect(host, port)
		if id < 0 then
			error("no socket left to connect to " .. where(), 0)
		end
		attempt = { id = id, waiters = {} }
		connecting = attempt
	end
	wait_connect(attempt)
	return fd or error("connection to " .. where() .. " lost", 0)
end

----------------------------------------------------------------------------
-- Writing
----------------------------------------------------------------------------

-- A packet (a string), or a large message (a heap buffer and its size).
local function write(packet, size)
	if size == nil then
		return requests:write(packet)
	end
	requests:flush() -- keep the order of what was gathered before
	driver.lsend(fd, packet, size)
end

local function send_trace(next_session)
	local tag = skynet.tracetag()
	if tag then
		if tag:sub(1, 1) ~= "(" then
			tag = string.format("(%s-%s-%d)%s", nodename, node, next_session, tag)
		end
		write(cluster.packtrace(tag))
	end
end

----------------------------------------------------------------------------
-- Replies
----------------------------------------------------------------------------

local function reply_done(call, ok, data)
	if not ok then
		return call_failed(call, data)
	end
	if call.parts == nil then
		return answer(call, true, data)
	end
	local msg, sz = cluster.concat(call.parts)
	if msg == nil then
		return call_failed(call, "the pieces of a large reply do not add up to its size")
	end
	answer(call, true, msg, sz)
end

-- A large reply's begin carries its total, then parts come (size given:
-- data points into the packet and is copied into the call's collector now).
local function handle_reply(s, ok, data, more, size)
	if s == nil then
		error("invalid response packet")
	end
	local call = pending[s]
	if call == nil then
		skynet.error(string.format("cluster node [%s]: reply to unknown session %d", node, s))
		return
	end
	if ok and math.type(data) == "integer" then
		call.parts = cluster.collect(data)
		return
	end
	if size then
		if not (call.parts and cluster.append(call.parts, data, size)) then
			error(string.format("a part of reply %d does not fit its begin", s))
		end
		if more then
			return
		end
	end
	pending[s] = nil
	reply_done(call, ok, data)
end

local function handle_packet(msg, sz)
	handle_reply(unpackresponse(msg, sz))
end

-- One packet (msg, sz: a heap buffer from netpack, freed here).
local function on_packet(msg, sz)
	local ok, err = pcall(handle_packet, msg, sz)
	skynet.trash(msg, sz)
	if not ok then
		skynet.error(string.format("cluster node [%s]: closing the connection: %s", node, tostring(err)))
		drop_connection("invalid response from " .. where())
	end
end

local socket_event = {}

function socket_event.data(id, msg, sz)
	if id == fd then
		on_packet(msg, sz)
	else
		skynet.trash(msg, sz)
	end
end

function socket_event.more()
	while true do
		local id, msg, sz = netpack.pop(queue)
		if msg == nil then
			break
		end
		socket_event.data(id, msg, sz)
	end
end

local function socket_gone(id, text)
	if connecting and id == connecting.id then
		connect_done(text or "connection refused")
	elseif id == fd then
		drop_connection("connection to " .. where() .. " lost" .. (text and (": " .. text) or ""))
	end
end

socket_event.close = socket_gone
socket_event.error = socket_gone

function socket_event.warning(id, size)
	if id == fd then
		skynet.error(string.format("cluster node [%s]: %d KiB waiting to be sent", node, size))
	end
end

local function on_connect(id)
	if connecting and id == connecting.id then
		fd = id
		driver.nodelay(id)
		connect_done(nil)
	else
		driver.close(id) -- an attempt given up meanwhile
	end
end

skynet.register_protocol {
	name = "socket",
	id = skynet.PTYPE_SOCKET,
	unpack = function(msg, sz) return msg, sz end,
	dispatch = function(_, _, msg, sz)
		local kind, id = driver.unpack(msg, sz)
		if kind == SOCKET_CONNECT then
			return on_connect(id)
		end
		local q, event, a, b, c = netpack.filter(queue, msg, sz)
		queue = q
		local f = event and socket_event[event]
		if f then
			f(a, b, c)
		end
	end,
}

----------------------------------------------------------------------------
-- Requests
----------------------------------------------------------------------------

local function send_request(packet, size, next_session)
	connection()
	send_trace(next_session)
	write(packet, size)
end

-- send_request, protected: true, or false and the reason.  A large packet
-- that did not reach the socket (no connection) is freed.
local function try_send(packet, size, next_session)
	local ok, err = pcall(send_request, packet, size, next_session)
	if not ok and size then
		skynet.trash(packet, size)
	end
	return ok, err
end

local command = {}

function command.req(addr, msg, sz)
	local packet, next_session, size = cluster.packrequest(addr, session, msg, sz)
	local this = session
	session = next_session
	local caller_session, caller = skynet.context()
	skynet.ignoreret() -- answered when the reply comes (answer)
	local call = { source = caller, session = caller_session, addr = addr }
	pending[this] = call
	local ok, err = try_send(packet, size, next_session)
	if not ok and pending[this] == call then
		pending[this] = nil
		call_failed(call, err)
	end
end

function command.push(addr, msg, sz)
	local packet, next_session, size = cluster.packpush(addr, session, msg, sz)
	session = next_session
	local ok, err = try_send(packet, size, next_session)
	if not ok then
		failed("push to " .. tostring(addr), err)
	end
end

function command.changenode(addr)
	if addr then
		host, port = split(addr)
	else
		host, port = nil, nil
	end
	local reason = addr and "node " .. node .. " moved to " .. addr or "node " .. node .. " closed"
	if connecting then
		connect_done(reason) -- its socket is closed when it connects
	end
	drop_connection(reason)
	if addr then
		skynet.fork(function()
			local ok, err = pcall(connection)
			if not ok then failed("reconnect", err) end
		end)
	end
	skynet.ret()
end

skynet.start(function()
	if address ~= "false" then
		host, port = split(address)
	end
	skynet.dispatch("lua", function(_, _, cmd, ...)
		local f = command[cmd]
		if f == nil then
			error("clustersender: unknown command " .. tostring(cmd))
		end
		f(...)
	end)
end)
