-- clusteragent: serves the requests of one accepted cluster connection
-- (spec/cluster-protocol.md §6–7).  clusterd starts it with its own
-- address, the gate's and the connection's fd; the gate then forwards the
-- connection's packets here as "client" messages.
--
-- Each request runs in its own task, so replies may leave out of order.
-- A malformed packet (bad type, bad size, a large request whose pieces
-- outgrow its announced size) is logged and the connection is closed.
-- Lua requests from clusterd: "namechange" (forget cached @names), "exit".

local skynet = require "skynet"
local core = require "skynet.core"
local driver = require "skynet.socketdriver"
local cluster = require "skynet.cluster.core"

local clusterd, gate, fd = ...
clusterd, gate, fd = tonumber(clusterd), tonumber(gate), tonumber(fd)

local unpackrequest = cluster.unpackrequest
local packresponse = cluster.packresponse

local large = {}          -- session -> { parts = {total, piece...}, addr, push, tag, size }
local pending_tag         -- trace tag for the next request
local name_cache = {}     -- "@name" -> handle
local name_lookup = {}    -- "@name" -> tasks waiting for a lookup in progress
local closing = false

local function reply(session, ok, msg, sz)
	local packet = packresponse(session, ok, msg, sz)
	if type(packet) == "table" then
		driver.lsend(fd, packet)
	else
		driver.send(fd, packet)
	end
end

local function malformed(err)
	if not closing then
		closing = true
		skynet.error(string.format("cluster: closing connection %d: %s", fd, tostring(err)))
		skynet.send(gate, "lua", "kick", fd)
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

local function serve(addr, session, body, sz, push, tag)
	if addr == 0 then
		serve_query(session, body, sz)
		return discard(body, sz)
	end
	local target = addr and resolve(addr)
	if not target then
		discard(body, sz)
		return reply(session, false, "Invalid name")
	end
	if push then
		skynet.rawsend(target, "lua", body, sz)
	else
		serve_call(target, session, body, sz, tag)
	end
end

-- A multi-part header or piece: returns the entry once its last piece came.
local function collect(addr, session, data, size, more, push)
	local entry = large[session]
	if entry == nil then
		entry = { parts = {}, addr = addr, push = push, tag = pending_tag, size = 0 }
		pending_tag = nil
		large[session] = entry
	end
	if data == nil then -- a header: size is the announced total
		cluster.append(entry.parts, size)
		entry.total = size
		return
	end
	entry.size = entry.size + size
	if entry.total == nil or entry.size > entry.total then
		large[session] = nil
		error(string.format("large request %d outgrows its announced size", session))
	end
	cluster.append(entry.parts, data)
	if more then
		return
	end
	large[session] = nil
	return entry
end

local function dispatch(addr, session, body, size, padding, push)
	if session == nil then -- a trace tag
		pending_tag = addr
		return
	end
	if addr ~= false and not padding then -- a single request
		local tag = not push and pending_tag or nil
		if tag then pending_tag = nil end
		return serve(addr, session, body, nil, push, tag)
	end
	if addr == false and large[session] == nil and not padding then
		return reply(session, false, "Invalid name") -- a last piece with no header
	end
	local entry = collect(addr, session, body, size, padding, push)
	if entry then
		local msg, sz = cluster.concat(entry.parts)
		if msg == nil then
			return reply(session, false, "Invalid large req")
		end
		serve(entry.addr, session, msg, sz, entry.push, not entry.push and entry.tag or nil)
	end
end

local function handle_packet(msg, sz)
	dispatch(unpackrequest(msg, sz))
end

skynet.register_protocol {
	name = "client",
	id = skynet.PTYPE_CLIENT,
	unpack = function(msg, sz)
		return msg, sz
	end,
	dispatch = function(_, _, msg, sz)
		skynet.ignoreret() -- the session is the fd: nothing to answer
		if closing then
			return
		end
		local ok, err = pcall(handle_packet, msg, sz)
		if not ok then
			malformed(err)
		end
	end,
}

local command = {}

function command.namechange()
	name_cache = {}
end

function command.exit()
	skynet.exit()
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, ...)
		local f = command[cmd]
		if f then
			f(...)
		end
	end)
	skynet.call(gate, "lua", "forward", fd)
end)
