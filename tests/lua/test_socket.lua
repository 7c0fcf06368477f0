-- test_socket: skynet.socket inside a node: listen on port 0, accept,
-- open, line and sized reads, reads after close, readall, refused connect,
-- low-priority and table writes, UDP, socket info.

local skynet = require "skynet"
local socket = require "skynet.socket"
local t = require "testlib"

-- A line echo server: each accepted client gets "echo:" .. line back; the
-- line "quit" makes the server write "bye" and close.
local function echo_server()
	local listener, host, port = socket.listen("127.0.0.1", 0)
	t.ok(type(port) == "number" and port > 0, "listen on port 0 reports the chosen port")
	t.eq(host, "127.0.0.1", "listen reports the host")
	socket.start(listener, function(id, addr)
		skynet.fork(function()
			t.ok(socket.start(id) == id, "accepted socket starts (" .. addr .. ")")
			while true do
				local line = socket.readline(id)
				if not line then
					break
				end
				if line == "quit" then
					socket.write(id, "bye")
					socket.close(id)
					return
				end
				socket.write(id, "echo:" .. line .. "\n")
			end
			socket.close(id)
		end)
	end)
	return listener, port
end

local function test_echo_lines(port)
	local id = assert(socket.open("127.0.0.1", port))
	socket.write(id, "hello\n")
	t.eq(socket.readline(id), "echo:hello", "readline gets the echoed line")
	socket.write(id, { "a", "b", "\n" })
	socket.lwrite(id, "low\n")
	t.eq(socket.readline(id, "\n"), "echo:ab", "a table of strings is one write")
	t.eq(socket.read(id, 9), "echo:low\n", "read(n) returns exactly n bytes")
	socket.write(id, "quit\n")
	local ok, rest = socket.read(id, 100)
	t.eq({ ok, rest }, { false, "bye" }, "read on a closed socket returns false and the buffered bytes")
	t.eq(socket.disconnected(id), true, "the socket is disconnected")
	socket.close(id)
	t.ok(socket.invalid(id), "a closed socket is invalid")
end

local function test_readall(port)
	local id = assert(socket.open("127.0.0.1:" .. port))
	socket.write(id, "x\nquit\n")
	t.eq(socket.readall(id), "echo:x\nbye", "readall returns everything until close")
	socket.close(id)
end

local function test_read_some(port)
	local id = assert(socket.open("127.0.0.1", port))
	socket.write(id, "some\n")
	local data = socket.read(id)
	t.ok(data and ("echo:some\n"):sub(1, #data) == data, "read() returns what is available")
	socket.close(id)
end

-- shutdown and close_fd from another task wake a reader blocked on the id.
local function test_forget_wakes_reader(port)
	for _, forget in ipairs { "shutdown", "close_fd" } do
		local id = assert(socket.open("127.0.0.1", port))
		local result
		skynet.fork(function() result = table.pack(socket.read(id, 100)) end)
		skynet.sleep(1)
		socket[forget](id)
		for _ = 1, 100 do
			if result then break end
			skynet.sleep(1)
		end
		t.eq(result and result[1], false, "socket." .. forget .. " wakes a blocked reader with false")
	end
end

-- Returns once the socket thread applied the requests sent before: the
-- connect below travels the same control pipe.
local function barrier(port)
	local id = assert(socket.open("127.0.0.1", port))
	socket.close(id)
end

local function test_refused(echo_port)
	local probe, _, port = socket.listen("127.0.0.1", 0)
	socket.close(probe)
	barrier(echo_port)
	local id, err = socket.open("127.0.0.1", port)
	t.eq(id, nil, "open to a closed port fails")
	t.ok(type(err) == "string" and err:find("refused") ~= nil, "the error says refused (" .. tostring(err) .. ")")
end

local function test_udp()
	local me = coroutine.running()
	local server, server_port
	server, server_port = socket.udp(function(data, from)
		socket.sendto(server, from, "re:" .. data)
	end, "127.0.0.1", 0)
	t.ok(server_port > 0, "udp on port 0 reports the chosen port")
	local got
	local client = socket.udp(function(data, from)
		got = { data, socket.udp_address(from) }
		skynet.wakeup(me)
	end)
	socket.udp_connect(client, "127.0.0.1", server_port)
	socket.write(client, "ping")
	skynet.timeout(300, function() skynet.wakeup(me) end)
	skynet.wait(me)
	t.eq(got, { "re:ping", "127.0.0.1", server_port }, "a datagram goes to the server and back with its address")
	local listed = {}
	for _, info in ipairs(socket.info()) do
		listed[info.id] = info.type
	end
	t.eq({ listed[server], listed[client] }, { "udp", "udp" }, "info lists the UDP sockets")
	socket.close(client)
	socket.close(server)
end

local function test_pause_block_onclose(port)
	local id = assert(socket.open("127.0.0.1", port))
	local closed
	socket.onclose(id, function(cid) closed = cid end)
	socket.pause(id)
	socket.write(id, "p1\n")
	skynet.sleep(5)
	t.eq(socket.read(id, 8), "echo:p1\n", "a read resumes a paused socket")
	socket.write(id, "p2\n")
	t.eq(socket.block(id), true, "block returns true when data arrives")
	t.eq(socket.readline(id), "echo:p2", "the data is there after block")
	socket.write(id, "quit\n")
	t.eq(socket.readall(id), "bye", "readall after the server closed")
	t.eq(closed, id, "onclose runs when the peer closes")
	socket.close(id)
end

local function test_warning_and_shutdown()
	local listener, _, port = socket.listen("127.0.0.1", 0)
	local id = assert(socket.open("127.0.0.1", port)) -- accepted by the kernel, never read
	local sizes = {}
	socket.warning(id, function(wid, size) sizes[#sizes + 1] = { wid, size } end)
	local chunk = string.rep("w", 1024 * 1024)
	for _ = 1, 32 do
		socket.write(id, chunk)
	end
	for _ = 1, 100 do
		if #sizes > 0 then
			break
		end
		skynet.sleep(1)
	end
	t.ok(#sizes > 0 and sizes[1][1] == id and sizes[1][2] >= 1024,
		"a warning reports the queued KiB past 1 MiB")
	socket.shutdown(id)
	t.ok(socket.invalid(id), "shutdown forgets the socket at once")
	barrier(port)
	t.eq(socket.write(id, "x"), false, "write after shutdown fails")
	socket.close(listener)
end

skynet.start(function()
	local _, port = echo_server()
	t.run {
		{ "echo lines", function() test_echo_lines(port) end },
		{ "readall", function() test_readall(port) end },
		{ "read some", function() test_read_some(port) end },
		{ "shutdown wakes a reader", function() test_forget_wakes_reader(port) end },
		{ "refused", function() test_refused(port) end },
		{ "pause, block, onclose", function() test_pause_block_onclose(port) end },
		{ "warning and shutdown", test_warning_and_shutdown },
		{ "udp", test_udp },
	}
end)
