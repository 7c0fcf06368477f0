-- skynet/socket.lua: blocking-style sockets for services, skynet's API.
--
-- Each socket the service uses has a record in `sockets`; received data
-- waits in a read buffer (skynet.socketdriver) until a read takes it.  A
-- reading task suspends on the record and the PTYPE_SOCKET messages wake
-- it.  Reads on a closed socket return false plus whatever was buffered.

local driver = require "skynet.socketdriver"
local skynet = require "skynet"

local socket = {}
local sockets = {}       -- id -> record
local close_hooks = {}   -- id -> function(id)
local node_pool = {}     -- recycled read-buffer nodes, shared by all sockets

-- A task waits on its record; one waiter at a time per socket.
local function suspend(s)
	assert(not s.waiting, "socket: another task is already reading this socket")
	s.waiting = coroutine.running()
	skynet.wait(s.waiting)
	if s.closing then
		skynet.wakeup(s.closing) -- let socket.close finish after the reader
	end
end

local function wakeup(s)
	local co = s.waiting
	if co then
		s.waiting = nil
		s.read_required = nil
		skynet.wakeup(co)
	end
end

local function new_record(id, protocol, callback)
	local s = {
		id = id,
		buffer = driver.buffer(),
		connected = false,
		connecting = true,
		protocol = protocol,
		callback = callback,
	}
	sockets[id] = s
	return s
end

local function default_warning(id, size)
	if size == 0 then
		skynet.error(string.format("socket %d: send buffer drained", id))
	else
		skynet.error(string.format("socket %d: %d KiB waiting to be sent", id, size))
	end
end

-- Wakes the reader once what it asked for is buffered.
local function satisfied(s, size)
	local need = s.read_required
	if type(need) == "number" then
		return size >= need
	elseif type(need) == "string" then
		return driver.readline(s.buffer, nil, need)
	end
	return false
end

local on_message = {}

on_message[1] = function(id, size, data) -- DATA
	local s = sockets[id]
	if s == nil then
		skynet.error(string.format("socket %d: dropped %d bytes for an unknown socket", id, size))
		driver.drop(data, size)
		return
	end
	local buffered = driver.push(s.buffer, node_pool, data, size)
	if s.buffer_limit and buffered > s.buffer_limit then
		skynet.error(string.format("socket %d: read buffer over its limit (%d bytes), closing",
			id, buffered))
		driver.clear(s.buffer, node_pool)
		driver.close(id)
		return
	end
	if satisfied(s, buffered) then
		wakeup(s)
	end
end

on_message[2] = function(id, ud, addr) -- CONNECT (connected, started)
	local s = sockets[id]
	if s == nil then
		return
	end
	if not s.connected then
		s.addr = addr -- the peer of a connect; "start" for an accepted one
		s.connected = true
		s.connecting = nil
		wakeup(s)
	end
end

local function run_close_hook(id)
	local hook = close_hooks[id]
	if hook then
		close_hooks[id] = nil
		hook(id)
	end
end

on_message[3] = function(id) -- CLOSE
	local s = sockets[id]
	if s == nil then
		driver.close(id) -- a half-closed socket nobody tracks
	else
		s.connected = false
		s.connecting = nil
		wakeup(s)
		if s.closing and not s.waiting then
			skynet.wakeup(s.closing)
		end
	end
	run_close_hook(id)
end

on_message[4] = function(id, newid, addr) -- ACCEPT
	local s = sockets[id]
	if s == nil or s.callback == nil then
		driver.close(newid)
		return
	end
	s.callback(newid, addr)
end

on_message[5] = function(id, _, err) -- ERROR
	local s = sockets[id]
	if s == nil then
		skynet.error(string.format("socket %d: error on an unknown socket: %s", id, err))
		return
	end
	if s.connecting then
		s.error = err
	elseif s.listen or s.protocol == "UDP" then
		skynet.error(string.format("socket %d: %s", id, err))
		return
	elseif s.connected then
		skynet.error(string.format("socket %d: closed on error: %s", id, err))
	end
	s.connected = false
	s.connecting = nil
	wakeup(s)
	if s.closing and not s.waiting then
		skynet.wakeup(s.closing)
	end
	run_close_hook(id)
end

on_message[6] = function(id, size, data, address) -- UDP
	local s = sockets[id]
	if s == nil or s.callback == nil then
		skynet.error(string.format("socket %d: dropped a datagram for an unknown socket", id))
		driver.drop(data, size)
		return
	end
	local str = skynet.tostring(data, size)
	driver.drop(data, size)
	s.callback(str, address)
end

on_message[7] = function(id, size) -- WARNING
	local s = sockets[id]
	if s then
		(s.on_warning or default_warning)(id, size)
	end
end

skynet.register_protocol {
	name = "socket",
	id = skynet.PTYPE_SOCKET,
	unpack = driver.unpack,
	dispatch = function(_, _, kind, ...)
		on_message[kind](...)
	end,
}

-- Waits for the CONNECT message of id; returns id, or nil and the error.
local function wait_open(id, callback)
	local s = new_record(id, "TCP", callback)
	suspend(s)
	if s.connected then
		return id
	end
	local err = s.error or "closed"
	sockets[id] = nil
	return nil, err
end

local function split_address(addr, port)
	if port == nil then
		local host, p = string.match(addr, "^(.*):(%d+)$")
		assert(host, "socket: address must be host:port")
		return host, tonumber(p)
	end
	return addr, port
end

function socket.open(addr, port)
	local host, p = split_address(addr, port)
	return wait_open(driver.connect(host, p))
end

function socket.bind(fd)
	return wait_open(driver.bind(fd))
end

function socket.stdin()
	return socket.bind(0)
end

-- Starts reading an accepted socket (or accepting on a listener, with
-- accept(newid, addr) called for each client), owned by this service.
function socket.start(id, accept)
	driver.start(id)
	return wait_open(id, accept)
end

function socket.listen(host, port, backlog)
	local h, p = split_address(host, port)
	local id, bound = driver.listen(h, p, backlog)
	return id, h, bound
end

function socket.pause(id)
	local s = sockets[id]
	if s and not s.paused then
		driver.pause(id)
		s.paused = true
	end
end

-- Before a read suspends: a paused socket must deliver again.
local function resume_reading(s)
	if s.paused then
		s.paused = nil
		driver.start(s.id)
	end
end

function socket.read(id, size)
	local s = assert(sockets[id], "socket: read on an unknown socket")
	if size == nil then
		local data = driver.readall(s.buffer, node_pool)
		if data ~= "" then
			return data
		end
		if not s.connected then
			return false, data
		end
		s.read_required = 0
		resume_reading(s)
		suspend(s)
		data = driver.readall(s.buffer, node_pool)
		if data ~= "" then
			return data
		end
		return false, data
	end
	local data = driver.pop(s.buffer, node_pool, size)
	if data then
		return data
	end
	if not s.connected or s.closing then
		return false, driver.readall(s.buffer, node_pool)
	end
	s.read_required = size
	resume_reading(s)
	suspend(s)
	data = driver.pop(s.buffer, node_pool, size)
	if data then
		return data
	end
	return false, driver.readall(s.buffer, node_pool)
end

function socket.readall(id)
	local s = assert(sockets[id], "socket: readall on an unknown socket")
	if s.connected then
		s.read_required = true
		resume_reading(s)
		suspend(s)
	end
	return driver.readall(s.buffer, node_pool)
end

function socket.readline(id, sep)
	sep = sep or "\n"
	local s = assert(sockets[id], "socket: readline on an unknown socket")
	local line = driver.readline(s.buffer, node_pool, sep)
	if line then
		return line
	end
	if not s.connected or s.closing then
		return false, driver.readall(s.buffer, node_pool)
	end
	s.read_required = sep
	resume_reading(s)
	suspend(s)
	if s.connected then
		line = driver.readline(s.buffer, node_pool, sep)
		if line then
			return line
		end
	end
	return false, driver.readall(s.buffer, node_pool)
end

-- Waits until data arrives or the socket closes; returns whether it is
-- still connected.
function socket.block(id)
	local s = sockets[id]
	if not s or not s.connected then
		return false
	end
	s.read_required = 0
	resume_reading(s)
	suspend(s)
	return s.connected
end

socket.write = assert(driver.send)
socket.lwrite = assert(driver.lsend)
socket.header = assert(driver.header)

-- Closes id without waiting; the record is dropped at once.
-- Drops id's record at once; a task blocked reading it wakes and gets
-- false (with nothing buffered).
local function forget(id)
	local s = sockets[id]
	if s then
		s.connected = false
		wakeup(s)
		driver.clear(s.buffer, node_pool)
		sockets[id] = nil
	end
end

function socket.close_fd(id)
	forget(id)
	driver.close(id)
end

-- Closes id once its pending writes are out, and waits for that.
function socket.close(id)
	local s = sockets[id]
	driver.close(id)
	if s == nil then
		return -- not started here (a listener, an accepted id): just close
	end
	if s.connected then
		s.closing = coroutine.running()
		if s.waiting then
			wakeup(s) -- the reader returns what is buffered, then wakes us
		end
		skynet.wait(s.closing)
		s.closing = nil
		s.connected = false
	end
	driver.clear(s.buffer, node_pool)
	sockets[id] = nil
end

function socket.shutdown(id)
	forget(id)
	driver.shutdown(id)
end

function socket.invalid(id)
	return sockets[id] == nil
end

function socket.disconnected(id)
	local s = sockets[id]
	if s then
		return not (s.connected or s.connecting)
	end
end

-- Forgets id without closing it (to hand it to another service).
function socket.abandon(id)
	local s = sockets[id]
	if s then
		driver.clear(s.buffer, node_pool)
		s.connected = false
		wakeup(s)
		close_hooks[id] = nil
		sockets[id] = nil
	end
end

function socket.limit(id, limit)
	local s = assert(sockets[id], "socket: limit on an unknown socket")
	s.buffer_limit = limit
end

function socket.warning(id, callback)
	local s = assert(sockets[id], "socket: warning on an unknown socket")
	s.on_warning = callback
end

function socket.onclose(id, callback)
	close_hooks[id] = callback
end

function socket.nodelay(id)
	driver.nodelay(id)
end

-- UDP: callback(data, from) receives datagrams; sendto(id, from, data).
local function udp_record(id, callback)
	local s = new_record(id, "UDP", callback)
	s.connected = true
	s.connecting = nil
	return s
end

-- Returns the id and the local port (useful when port is 0).
function socket.udp(callback, host, port)
	local id, bound = driver.udp(host, port)
	udp_record(id, callback)
	return id, bound
end

function socket.udp_connect(id, host, port, callback)
	local s = sockets[id]
	if s then
		s.callback = callback or s.callback
	else
		udp_record(id, callback)
	end
	driver.udp_connect(id, host, port)
end

socket.sendto = assert(driver.udp_send)
socket.udp_address = assert(driver.udp_address)
socket.info = assert(driver.info)
socket.netstat = socket.info

return socket
