-- snax/gateserver.lua: the skeleton of a gate service (skynet's API).
--
-- A gate listens on one TCP port, cuts every client's byte stream into
-- packets (2-byte big-endian length, then the bytes: skynet.netpack) and
-- hands each packet to handler.message(fd, msg, sz).  The service using it
-- supplies a handler table:
--   handler.open(source, conf)        after "open" listened; its results are
--                                     the results of the "open" call
--   handler.connect(fd, addr)         a client was accepted (not read yet:
--                                     call gateserver.openclient(fd))
--   handler.message(fd, msg, sz)      one packet; msg is the handler's to
--                                     free or pass on
--   handler.disconnect(fd)            a client's connection closed
--   handler.error(fd, text)           a client's connection failed
--   handler.warning(fd, size)         fd's write buffer holds size KiB
--   handler.command(cmd, source, ...) any other lua request
-- Lua requests understood here: "open" conf { address = "0.0.0.0",
-- port (0 picks a free one), maxclient = 1024, nodelay, backlog } and
-- "close" (stop listening).  A connection is refused (shut down at once)
-- when the number of open clients, counting itself, reaches maxclient.

local skynet = require "skynet"
local netpack = require "skynet.netpack"
local driver = require "skynet.socketdriver"

local gateserver = {}

local listen_id            -- the listening socket
local queue                -- netpack's packet queue (created by filter)
local maxclient
local client_count = 0
local nodelay = false
local connection = {}      -- fd -> true (open), false (closing)

-- Start reading a client (packets then reach handler.message).
function gateserver.openclient(fd)
	if connection[fd] then
		driver.start(fd)
	end
end

function gateserver.closeclient(fd)
	if connection[fd] then
		connection[fd] = false
		driver.close(fd)
	end
end

function gateserver.start(handler)
	assert(handler.message, "gateserver: the handler needs a message function")
	assert(handler.connect, "gateserver: the handler needs a connect function")

	local CMD = {}

	function CMD.open(source, conf)
		assert(listen_id == nil, "gateserver: already listening")
		local address = conf.address or "0.0.0.0"
		local id, port = driver.listen(address, conf.port or 0, conf.backlog)
		listen_id = id
		maxclient = conf.maxclient or 1024
		nodelay = conf.nodelay and true or false
		conf.address, conf.port = address, port
		driver.start(id)
		if handler.open then
			return handler.open(source, conf)
		end
		return address, port
	end

	function CMD.close()
		if listen_id then
			driver.close(listen_id)
			listen_id = nil
		end
	end

	skynet.dispatch("lua", function(session, source, cmd, ...)
		local f = CMD[cmd]
		if f then
			skynet.retpack(f(source, ...))
		elseif handler.command then
			skynet.retpack(handler.command(cmd, source, ...))
		elseif session ~= 0 then
			error("gateserver: unknown command " .. tostring(cmd))
		end
	end)

	local function forget(fd)
		if connection[fd] ~= nil then
			connection[fd] = nil
			client_count = client_count - 1
			return true
		end
		return false
	end

	local EVENT = {}

	function EVENT.data(fd, msg, sz)
		if connection[fd] then
			handler.message(fd, msg, sz)
		else
			skynet.trash(msg, sz) -- a client being closed: drop what it sends
		end
	end

	function EVENT.more()
		while true do
			local fd, msg, sz = netpack.pop(queue)
			if fd == nil then
				return
			end
			local ok, err = pcall(EVENT.data, fd, msg, sz)
			if not ok then
				skynet.error("gateserver: message handler failed: " .. tostring(err))
			end
		end
	end

	function EVENT.open(fd, addr)
		if fd == listen_id then
			return
		end
		if client_count + 1 >= maxclient then
			skynet.error(string.format("gateserver: refused %s, %d clients is the limit",
				addr, maxclient - 1))
			driver.shutdown(fd)
			return
		end
		if nodelay then
			driver.nodelay(fd)
		end
		connection[fd] = true
		client_count = client_count + 1
		handler.connect(fd, addr)
	end

	-- The peer closed (its side only, maybe): release our side too.
	function EVENT.close(fd)
		if fd == listen_id then
			listen_id = nil
		elseif forget(fd) then
			driver.close(fd)
			if handler.disconnect then
				handler.disconnect(fd)
			end
		end
	end

	function EVENT.error(fd, text)
		if fd == listen_id then
			skynet.error("gateserver: listening socket failed: " .. tostring(text))
			listen_id = nil
		elseif forget(fd) then
			if handler.error then
				handler.error(fd, text)
			elseif handler.disconnect then
				handler.disconnect(fd)
			end
		end
	end

	function EVENT.warning(fd, size)
		if handler.warning then
			handler.warning(fd, size)
		end
	end

	skynet.register_protocol {
		name = "socket",
		id = skynet.PTYPE_SOCKET,
		unpack = function(msg, sz)
			return netpack.filter(queue, msg, sz)
		end,
		dispatch = function(_, _, q, event, ...)
			queue = q
			if event then
				EVENT[event](...)
			end
		end,
	}

	skynet.start(function() end)
end

return gateserver
