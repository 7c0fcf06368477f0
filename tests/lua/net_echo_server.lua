-- net_echo_server: the server side of test_net_echo.  Listens on two ports
-- of 127.0.0.1 chosen by the system, reported by the debug INFO request as
-- { port = main, reset_port = reset }.
--
-- On the main port, the first line of a connection picks the mode:
--   "echo"           every byte read is written back, until the peer closes;
--   "sink <n>"       reads n bytes (64 KiB chunks) and a checksum line, then
--                    answers "ok <checksum>" or "mismatch <got> <sent>";
--   "half"           reads until EOF, then answers "eof <bytes> <read result>"
--                    and the data in upper case, and closes.
-- The reset port stops reading each connection at once, lets the peer's data
-- pile up unread for 100 ms and closes: the kernel answers with a reset.

local skynet = require "skynet"
local socket = require "skynet.socket"
local checksum = require "net_checksum"

local modes = {}

function modes.echo(id)
	while true do
		local data = socket.read(id)
		if not data then
			return
		end
		socket.write(id, data)
	end
end

function modes.sink(id, size)
	local bytes = tonumber(size)
	local state = checksum.new()
	for _ = 1, bytes // checksum.CHUNK do
		local chunk = socket.read(id, checksum.CHUNK)
		if not chunk then
			socket.write(id, "short\n")
			return
		end
		checksum.add(state, chunk)
	end
	local got, sent = checksum.result(state), socket.readline(id)
	if got == sent then
		socket.write(id, "ok " .. got .. "\n")
	else
		socket.write(id, "mismatch " .. got .. " " .. tostring(sent) .. "\n")
	end
end

function modes.half(id)
	local parts = {}
	local result
	while true do
		local data, rest = socket.read(id)
		if not data then
			parts[#parts + 1] = rest
			result = tostring(data)
			break
		end
		parts[#parts + 1] = data
	end
	local data = table.concat(parts)
	socket.write(id, string.format("eof %d %s\n", #data, result))
	socket.write(id, data:upper())
end

local function serve(id)
	socket.start(id)
	local line = socket.readline(id)
	local words = {}
	for word in (line or ""):gmatch("%S+") do
		words[#words + 1] = word
	end
	local mode = modes[words[1]]
	if mode then
		mode(id, table.unpack(words, 2))
	elseif line then
		socket.write(id, "unknown mode " .. line .. "\n")
	end
	socket.close(id)
end

local function listen(accept)
	local id, _, port = socket.listen("127.0.0.1", 0, 512)
	socket.start(id, accept)
	return port
end

skynet.start(function()
	local port = listen(function(id)
		skynet.fork(serve, id)
	end)
	local reset_port = listen(function(id)
		skynet.fork(function()
			socket.start(id)
			socket.pause(id)
			skynet.sleep(10)
			socket.close_fd(id)
		end)
	end)
	skynet.info_func(function()
		return { port = port, reset_port = reset_port }
	end)
end)
