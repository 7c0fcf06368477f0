-- skynet/socketchannel.lua: a client connection that many tasks share for
-- request/response traffic (skynet's socketchannel API).
--
--   local sc = require "skynet.socketchannel"
--   local ch = sc.channel { host = , port = , response = , auth = ,
--                           backup = , nodelay = , overload = }
--
-- Two modes:
--   order mode (no `response` in the description): responses come back in
--     the order of the requests.  ch:request(req, fn) writes req and then
--     fn(sock) reads its response and returns ok, result.
--   session mode (`response` = fn(sock) -> session, ok, data, padding):
--     ch:request(req, session) writes req and waits for the response the
--     dispatcher reads for that session.  padding true means more parts of
--     the same session follow: the parts are gathered in a list, and the
--     caller gets the list when the last part (padding false) comes.
-- sock has read(n), readline(sep) and readall(); they raise when the
-- connection is lost.
--
-- ch:request(req [, response [, padding]]): req is a string or a table of
--   strings; padding, a table of strings written after req, makes the whole
--   write low priority.  With no response, the request is only written.
--   Connects lazily, with a single attempt, if not connected.
--   coalesce = true: while more messages wait in this service's queue,
--   small (high priority) requests are gathered and written together once
--   the queue has been worked through: one system call for many requests.
-- ch:response(response): waits for a response without writing anything.
-- ch:connect(once): opens a closed channel again and connects; once true is
--   a single attempt (raises on failure), otherwise it retries with a
--   growing delay (0.1 s doubling up to 5 s) until it works or ch:close().
-- ch:close(): closes the connection and refuses requests until connect.
-- ch:changehost(host, port): later connections go there; a live connection
--   is closed.  ch:changebackup(list): backup addresses, tried in order.
--
-- A lost connection fails every request waiting on it at once: they raise
-- an error object that equals socketchannel.error (as in skynet) and whose
-- tostring names the host.  The next request reconnects.  An auth function
-- runs after every connect, before other requests are let through; if it
-- raises, the connection is closed and the connect fails.

local skynet = require "skynet"
local socket = require "skynet.socket"
local driver = require "skynet.socketdriver"

local socketchannel = {}

local error_meta = {
	__tostring = function(e) return e.text end,
	__eq = function(a, b)
		return getmetatable(a) == getmetatable(b)
	end,
}

local function new_error(text)
	return setmetatable({ text = text }, error_meta)
end

socketchannel.error = new_error "[Socket Error]"

local channel = {}
local channel_meta = { __index = channel }

function socketchannel.channel(desc)
	local self = {
		host = desc.host,
		port = desc.port and tonumber(desc.port),
		backup = desc.backup,
		auth = desc.auth,
		nodelay = desc.nodelay,
		overload = desc.overload,
		coalesce = desc.coalesce,
		session_reader = desc.response,   -- nil: order mode
		sock = nil,          -- the live connection (see new_sock)
		closed = false,
		connect_waiters = nil, -- tasks waiting while a connect runs
		auth_task = nil,
		-- session mode
		waiting = {},        -- session -> task
		-- order mode
		order = { head = 1, tail = 0 }, -- { reader, task } in request order
		order_reader = nil,  -- the dispatch task when it waits for work
		-- results, by task
		result_ok = {},
		result_data = {},
	}
	return setmetatable(self, channel_meta)
end

local function where(self)
	return string.format("%s:%s", tostring(self.host), tostring(self.port))
end

----------------------------------------------------------------------------
-- The connection object given to response readers
----------------------------------------------------------------------------

local sock_methods = {}
local sock_meta = { __index = sock_methods }

local function lost(sock)
	error(new_error(string.format("socketchannel %s: connection lost", sock.where)), 0)
end

function sock_methods:read(n)
	local data = socket.read(self.id, n)
	if not data then lost(self) end
	return data
end

function sock_methods:readline(sep)
	local data = socket.readline(self.id, sep)
	if not data then lost(self) end
	return data
end

function sock_methods:readall()
	return socket.readall(self.id)
end

----------------------------------------------------------------------------
-- Waking tasks
----------------------------------------------------------------------------

local function finish(self, task, ok, data)
	self.result_ok[task] = ok
	self.result_data[task] = data
	skynet.wakeup(task)
end

-- Fail every task waiting on sock's responses.
local function fail_all(self, err)
	for session, task in pairs(self.waiting) do
		self.waiting[session] = nil
		finish(self, task, false, err)
	end
	local order = self.order
	for i = order.head, order.tail do
		finish(self, order[i].task, false, err)
		order[i] = nil
	end
	order.head, order.tail = 1, 0
end

-- Forget sock (if it is still the live one), close it, fail its waiters.
local function drop_sock(self, sock, err)
	if sock.dead then
		return
	end
	sock.dead = true
	if self.sock == sock then
		self.sock = nil
	end
	fail_all(self, err)
	if self.order_reader then
		skynet.wakeup(self.order_reader)
	end
	if not socket.disconnected(sock.id) then
		driver.shutdown(sock.id) -- at once, even with unsent data queued
	end
	socket.close(sock.id)
end

----------------------------------------------------------------------------
-- Dispatch tasks: one per connection, reading responses
----------------------------------------------------------------------------

local function add_part(self, task, data)
	local parts = self.result_data[task]
	if parts == nil then
		parts = {}
		self.result_data[task] = parts
	end
	parts[#parts + 1] = data
end

local function dispatch_by_session(self, sock)
	local read = self.session_reader
	local waiting = self.waiting
	while not sock.dead do
		local session, ok, data, padding = read(sock)
		if session == nil then
			error(string.format("socketchannel %s: invalid response", sock.where), 0)
		end
		local task = waiting[session]
		if task == nil then
			skynet.error(string.format("socketchannel %s: unknown session %s", sock.where,
				tostring(session)))
		elseif padding and ok then
			add_part(self, task, data)
		else
			waiting[session] = nil
			if self.result_data[task] ~= nil and ok then
				add_part(self, task, data)
				data = self.result_data[task]
			end
			finish(self, task, ok, data)
		end
	end
end

local function dispatch_by_order(self, sock)
	local order = self.order
	while not sock.dead do
		local head = order.head
		if head > order.tail then
			self.order_reader = coroutine.running()
			skynet.wait(self.order_reader)
			self.order_reader = nil
		else
			local entry = order[head]
			local ok, data = entry.reader(sock)
			order[head] = nil
			order.head = head + 1
			finish(self, entry.task, ok, data)
		end
	end
end

local function run_dispatch(self, sock)
	local loop = self.session_reader and dispatch_by_session or dispatch_by_order
	local ok, err = pcall(loop, self, sock)
	if not ok then
		if getmetatable(err) ~= error_meta then
			skynet.error(string.format("socketchannel %s: closing: %s", sock.where, tostring(err)))
			err = new_error(string.format("socketchannel %s: %s", sock.where, tostring(err)))
		end
		drop_sock(self, sock, err)
	end
end

----------------------------------------------------------------------------
-- Connecting
----------------------------------------------------------------------------

local function addresses(self)
	local list = { { self.host, self.port } }
	for _, b in ipairs(self.backup or {}) do
		if type(b) == "table" then
			list[#list + 1] = { b.host, tonumber(b.port) }
		else
			local host, port = string.match(b, "^(.*):(%d+)$")
			list[#list + 1] = { host, tonumber(port) }
		end
	end
	return list
end

local function open_sock(self, host, port)
	local id, err = socket.open(host, port)
	if not id then
		return nil, err
	end
	if self.nodelay then
		socket.nodelay(id)
	end
	local sock = setmetatable({
		id = id,
		where = host .. ":" .. port,
		gathered = {},     -- requests not written yet (coalesce)
		flush_due = false, -- a task will write them
	}, sock_meta)
	if self.overload then
		socket.warning(id, function(_, size) self.overload(size > 0) end)
	end
	return sock
end

local function authenticate(self, sock)
	if not self.auth then
		return true
	end
	self.auth_task = coroutine.running()
	local ok, err = pcall(self.auth, self)
	self.auth_task = nil
	if not ok then
		drop_sock(self, sock, new_error(string.format("socketchannel %s: auth failed: %s",
			sock.where, tostring(err))))
	end
	return ok, err
end

-- One attempt over the host then the backups.
local function connect_once(self)
	local errors = {}
	for _, a in ipairs(addresses(self)) do
		local host, port = a[1], a[2]
		local sock, err = open_sock(self, host, port)
		if sock then
			self.sock = sock
			skynet.fork(run_dispatch, self, sock)
			local ok, autherr = authenticate(self, sock)
			if ok then
				self.host, self.port = host, port
				return true
			end
			err = "auth failed: " .. tostring(autherr)
		end
		errors[#errors + 1] = string.format("%s:%s: %s", tostring(host), tostring(port), tostring(err))
	end
	return false, table.concat(errors, "; ")
end

local RETRY_FIRST, RETRY_LONGEST = 10, 500 -- centiseconds

local function connect_retrying(self)
	local delay = RETRY_FIRST
	while not self.closed do
		local ok, err = connect_once(self)
		if ok then
			return true
		end
		skynet.error(string.format("socketchannel %s: connect failed (%s), retrying in %.1f s",
			where(self), err, delay / 100))
		skynet.sleep(delay)
		delay = math.min(delay * 2, RETRY_LONGEST)
	end
	return false, "channel closed"
end

local function wake_connect_waiters(self)
	local waiters = self.connect_waiters
	self.connect_waiters = nil
	for _, task in ipairs(waiters) do
		skynet.wakeup(task)
	end
end

-- Returns when connected; raises when the connect (or the channel) failed.
local function block_connect(self, once)
	if self.auth_task == coroutine.running() then
		return -- the auth function's own requests
	end
	if self.sock and not self.connect_waiters then
		return
	end
	if self.closed then
		error(new_error(string.format("socketchannel %s: channel closed", where(self))), 0)
	end
	if self.connect_waiters then
		local task = coroutine.running()
		table.insert(self.connect_waiters, task)
		skynet.wait(task)
	else
		self.connect_waiters = {}
		local ok, err
		if once then
			ok, err = connect_once(self)
		else
			ok, err = connect_retrying(self)
		end
		wake_connect_waiters(self)
		if not ok then
			error(new_error(string.format("socketchannel %s: connect failed: %s", where(self),
				tostring(err))), 0)
		end
	end
	if not self.sock then
		error(new_error(string.format("socketchannel %s: connect failed", where(self))), 0)
	end
end

function channel:connect(once)
	self.closed = false
	return block_connect(self, once)
end

----------------------------------------------------------------------------
-- Requests
----------------------------------------------------------------------------

local function write_failed(self, sock)
	local err = new_error(string.format("socketchannel %s: write failed", sock.where))
	drop_sock(self, sock, err)
	error(err, 0)
end

-- Writes what was gathered for sock (nothing if it died meanwhile).
local function flush(self, sock)
	local gathered = sock.gathered
	if #gathered == 0 then
		return
	end
	sock.gathered = {}
	if sock.dead then
		return
	end
	if not socket.write(sock.id, gathered) then
		write_failed(self, sock)
	end
end

local function flush_later(self, sock)
	skynet.yield() -- behind the messages queued now
	sock.flush_due = false
	pcall(flush, self, sock)
end

-- Gathers req when more messages wait (their requests join it).
local function gather(self, sock, req)
	local gathered = sock.gathered
	if type(req) == "table" then
		table.move(req, 1, #req, #gathered + 1, gathered)
	else
		gathered[#gathered + 1] = req
	end
	if sock.flush_due then
		return
	end
	if skynet.mqlen() > 0 then
		sock.flush_due = true
		skynet.fork(flush_later, self, sock)
	else
		flush(self, sock)
	end
end

local function write(self, sock, req, padding)
	if self.coalesce and not padding then
		return gather(self, sock, req)
	end
	flush(self, sock) -- keep the order of what was gathered before
	local ok
	if padding then
		ok = socket.lwrite(sock.id, req)
		if ok and #padding > 0 then
			ok = socket.lwrite(sock.id, padding)
		end
	else
		ok = socket.write(sock.id, req)
	end
	if not ok then
		write_failed(self, sock)
	end
end

-- Wait for the result finish() stored for the running task.
local function wait_result(self)
	local task = coroutine.running()
	skynet.wait(task)
	local ok, data = self.result_ok[task], self.result_data[task]
	self.result_ok[task] = nil
	self.result_data[task] = nil
	if ok then
		return data
	end
	if getmetatable(data) == error_meta then
		error(data, 0)
	end
	error(data or new_error(string.format("socketchannel %s: request failed", where(self))), 0)
end

local function expect(self, sock, response)
	local task = coroutine.running()
	if self.session_reader then
		assert(self.waiting[response] == nil, "socketchannel: session is already waiting")
		self.waiting[response] = task
	else
		local order = self.order
		local tail = order.tail + 1
		order[tail] = { reader = response, task = task }
		order.tail = tail
		if self.order_reader then
			skynet.wakeup(self.order_reader)
		end
	end
	return wait_result(self)
end

function channel:request(req, response, padding)
	block_connect(self, true)
	local sock = self.sock
	write(self, sock, req, padding)
	if response == nil then
		return
	end
	return expect(self, sock, response)
end

function channel:response(response)
	block_connect(self, true)
	return expect(self, self.sock, response)
end

function channel:close()
	self.closed = true
	local sock = self.sock
	if sock then
		drop_sock(self, sock, new_error(string.format("socketchannel %s: channel closed", sock.where)))
	end
end

function channel:changehost(host, port)
	self.host = host
	if port then
		self.port = tonumber(port)
	end
	local sock = self.sock
	if sock then
		drop_sock(self, sock, new_error(string.format("socketchannel %s: host changed to %s",
			sock.where, where(self))))
	end
end

function channel:changebackup(backup)
	self.backup = backup
end

return socketchannel
