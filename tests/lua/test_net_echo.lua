-- test_net_echo: skynet.socket over real loopback connections against the
-- net_echo_server service: 200 concurrent echo clients, 100 MiB through one
-- connection with checksums on both ends, a refused connection, a peer that
-- resets while the client writes, and a half-closed connection (the client
-- side of that one is a python3 process: Lua has no shutdown(SHUT_WR)).

local skynet = require "skynet"
local socket = require "skynet.socket"
local checksum = require "net_checksum"
local t = require "testlib"

local WATCHDOG = 6000 -- centiseconds the whole test may take
local CLIENTS = 200
local LINES_PER_CLIENT = 5
local BULK_CHUNKS = 1600 -- 100 MiB in 64 KiB chunks

-- Runs fns concurrently; returns true if all returned within timeout (cs).
local function run_all(fns, timeout)
	local token, left = {}, #fns
	for _, fn in ipairs(fns) do
		skynet.fork(function()
			fn()
			left = left - 1
			if left == 0 then
				skynet.wakeup(token)
			end
		end)
	end
	skynet.timeout(timeout, function() skynet.wakeup(token) end)
	if left > 0 then
		skynet.wait(token)
	end
	return left == 0
end

-- One echo client: returns the number of lines that came back unchanged.
local function echo_client(port, n)
	local id = socket.open("127.0.0.1", port)
	if not id then
		return 0
	end
	socket.write(id, "echo\n")
	local good = 0
	for line = 1, LINES_PER_CLIENT do
		local text = string.format("client %d line %d %s", n, line, string.rep("x", n))
		socket.write(id, text .. "\n")
		if socket.readline(id) == text then
			good = good + 1
		end
	end
	socket.close(id)
	return good
end

local function test_concurrent_clients(port)
	local results = {}
	local clients = {}
	for n = 1, CLIENTS do
		clients[n] = function() results[n] = echo_client(port, n) end
	end
	t.ok(run_all(clients, 2000), CLIENTS .. " clients finish within 20 s")
	local good = 0
	for n = 1, CLIENTS do
		if results[n] == LINES_PER_CLIENT then
			good = good + 1
		end
	end
	t.eq(good, CLIENTS, "every client got all its lines echoed")
end

-- Writes the chunks, waiting for the send buffer to drain whenever the
-- socket warns it holds more than 1 MiB.  Returns false if it never drains.
local function write_paced(id, count, state)
	local backlog, token = 0, {}
	socket.warning(id, function(_, kib)
		backlog = kib
		if kib == 0 then
			skynet.wakeup(token)
		end
	end)
	for i = 1, count do
		local chunk = checksum.pattern(i)
		checksum.add(state, chunk)
		socket.write(id, chunk)
		if i % 16 == 0 then
			skynet.yield() -- let the warnings in
		end
		if backlog > 0 then
			skynet.timeout(1000, function() skynet.wakeup(token) end)
			skynet.wait(token)
			if backlog > 0 then
				return false
			end
		end
	end
	return true
end

local function test_bulk(port)
	local id = assert(socket.open("127.0.0.1", port))
	local bytes = BULK_CHUNKS * checksum.CHUNK
	local started = skynet.now()
	socket.write(id, "sink " .. bytes .. "\n")
	local state = checksum.new()
	t.ok(write_paced(id, BULK_CHUNKS, state), "the send buffer keeps draining")
	local sent = checksum.result(state)
	socket.write(id, sent .. "\n")
	local answer = socket.readline(id)
	local seconds = (skynet.now() - started) / 100
	t.eq(answer, "ok " .. sent, string.format("100 MiB arrive with the same checksum (%.1f s)", seconds))
	t.ok(seconds < 60, "100 MiB take less than 60 s")
	socket.close(id)
end

local function test_refused()
	local probe, _, port = socket.listen("127.0.0.1", 0)
	socket.close(probe)
	skynet.sleep(1) -- the close request reaches the socket thread first
	local id, err = socket.open("127.0.0.1", port)
	t.eq(id, nil, "connecting to a closed port fails")
	t.ok(type(err) == "string" and err:lower():find("refused") ~= nil,
		"the error says refused (" .. tostring(err) .. ")")
end

local function test_peer_reset(reset_port)
	local id = assert(socket.open("127.0.0.1", reset_port))
	local chunk = string.rep("r", checksum.CHUNK)
	local writes = 0
	for _ = 1, 500 do
		if socket.disconnected(id) then
			break
		end
		socket.write(id, chunk)
		writes = writes + 1
		skynet.sleep(1)
	end
	t.ok(socket.disconnected(id), "the client sees the peer's abrupt close (after " .. writes .. " writes)")
	local data = socket.read(id)
	t.eq(data, false, "read after the reset returns false")
	socket.close(id)
	t.ok(socket.invalid(id), "the reset socket can be closed")
end

-- The python3 client: sends "half", then data, shuts its write side down,
-- reads the answer until EOF and writes it (or the error) to a file.
local HALF_CLIENT = [[
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"half\n" + b"abc\n" * 1000 + b"tail")
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    part = s.recv(65536)
    if not part:
        break
    got += part
open(sys.argv[2] + ".tmp", "wb").write(got)
]]

local function wait_for_file(path, timeout)
	for _ = 1, timeout do
		local f = io.open(path, "rb")
		if f then
			local data = f:read("a")
			f:close()
			return data
		end
		skynet.sleep(1)
	end
end

local function test_half_close(port)
	local python = io.popen("command -v python3"):read("l")
	if not python then
		t.ok(false, "half-close: python3 (installed by `make deps`) is missing")
		return
	end
	local out = os.tmpname()
	local script = out .. ".py"
	local f = assert(io.open(script, "w"))
	f:write(HALF_CLIENT)
	f:close()
	os.execute(string.format("( %s %s %d %s 2>%s.err; mv %s.tmp %s ) >/dev/null 2>&1 &",
		python, script, port, out, out, out, out .. ".done"))
	local answer = wait_for_file(out .. ".done", 1000)
	local payload = string.rep("abc\n", 1000) .. "tail"
	t.eq(answer, "eof " .. #payload .. " false\n" .. payload:upper(),
		"the server reads up to EOF (false), then writes back to the half-closed peer")
	if answer == nil then
		local err = io.open(out .. ".err")
		print("# python client: " .. (err and err:read("a") or "no output"))
	end
	os.remove(script)
	os.remove(out)
	os.remove(out .. ".err")
	os.remove(out .. ".done")
end

skynet.start(function()
	skynet.timeout(WATCHDOG, function()
		print("not ok - the test did not finish within " .. WATCHDOG // 100 .. " s")
		t.done()
	end)
	local server = skynet.newservice("net_echo_server")
	local ports = skynet.call(server, "debug", "INFO")
	t.run {
		{ "concurrent clients", function() test_concurrent_clients(ports.port) end },
		{ "bulk", function() test_bulk(ports.port) end },
		{ "refused", test_refused },
		{ "peer reset", function() test_peer_reset(ports.reset_port) end },
		{ "half close", function() test_half_close(ports.port) end },
	}
end)
