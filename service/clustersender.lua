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

local skynet = require "skynet"
local socket = require "skynet.socket"
local socketchannel = require "skynet.socketchannel"
local cluster = require "skynet.cluster.core"

local node, address = ...
local channel
local session = 1
local nodename = cluster.nodename()

local header = socket.header

local function read_response(sock)
	local size = header(sock:read(2))
	return cluster.unpackresponse(sock:read(size))
end

local function split(addr)
	local host, port = string.match(addr, "^(.*):(%d+)$")
	assert(host, "cluster node [" .. node .. "]: address " .. addr .. " is not host:port")
	return host:match("^%[(.*)%]$") or host, tonumber(port)
end

local function send_trace(next_session)
	local tag = skynet.tracetag()
	if tag then
		if tag:sub(1, 1) ~= "(" then
			tag = string.format("(%s-%s-%d)%s", nodename, node, next_session, tag)
		end
		channel:request(cluster.packtrace(tag))
	end
end

local function failed(what, err)
	skynet.error(string.format("cluster node [%s]: %s failed: %s", node, what, tostring(err)))
end

local function call_remote(packet, this, pieces, next_session)
	send_trace(next_session)
	return channel:request(packet, this, pieces)
end

local command = {}

function command.req(addr, msg, sz)
	local packet, next_session, pieces = cluster.packrequest(addr, session, msg, sz)
	local this = session
	session = next_session
	local ok, result = pcall(call_remote, packet, this, pieces, next_session)
	if not ok then
		failed("call to " .. tostring(addr), result)
		return skynet.response()(false)
	end
	if type(result) == "table" then
		return skynet.ret(cluster.concat(result))
	end
	return skynet.ret(result)
end

function command.push(addr, msg, sz)
	local packet, next_session, pieces = cluster.packpush(addr, session, msg, sz)
	session = next_session
	local ok, err = pcall(channel.request, channel, packet, nil, pieces)
	if not ok then
		failed("push to " .. tostring(addr), err)
	end
end

function command.changenode(addr)
	if not addr then
		channel:close()
	else
		channel:changehost(split(addr))
		skynet.fork(function()
			local ok, err = pcall(channel.connect, channel, true)
			if not ok then failed("reconnect", err) end
		end)
	end
	skynet.ret()
end

skynet.start(function()
	local host, port
	if address ~= "false" then
		host, port = split(address)
	end
	channel = socketchannel.channel {
		host = host, port = port, response = read_response, nodelay = true, coalesce = true,
	}
	if address == "false" then
		channel:close()
	end
	skynet.dispatch("lua", function(_, _, cmd, ...)
		local f = command[cmd]
		if f == nil then
			error("clustersender: unknown command " .. tostring(cmd))
		end
		f(...)
	end)
end)
