-- test_socketchannel: skynet.socketchannel against a line server run by
-- this service.  The server answers "ECHO x" with "x" (order mode) and
-- "<session> <delay> x" with "<session> x" after delay centiseconds (session
-- mode, so answers come back out of order); "AUTH k" with "OK" or "NO".

local skynet = require "skynet"
local socket = require "skynet.socket"
local socketchannel = require "skynet.socketchannel"
local t = require "testlib"

local server = { clients = {} }

local function serve_line(id, line)
	local echo = line:match("^ECHO (.*)$")
	if echo then
		socket.write(id, echo .. "\n")
		return
	end
	local key = line:match("^AUTH (.*)$")
	if key then
		socket.write(id, key == "secret" and "OK\n" or "NO\n")
		return
	end
	local session, delay, text = line:match("^(%d+) (%d+) (.*)$")
	if session then
		skynet.fork(function()
			if tonumber(delay) > 0 then skynet.sleep(tonumber(delay)) end
			socket.write(id, session .. " " .. text .. "\n")
		end)
	end
end

local function serve(id)
	server.clients[id] = true
	socket.start(id)
	while true do
		local line = socket.readline(id)
		if not line then break end
		serve_line(id, line)
	end
	server.clients[id] = nil
	socket.close(id)
end

local function start_server(port)
	local id, _, bound = socket.listen("127.0.0.1", port or 0)
	server.listener = id
	server.port = bound
	socket.start(id, function(client)
		skynet.fork(serve, client)
	end)
	return bound
end

local function stop_server()
	socket.close(server.listener)
	for id in pairs(server.clients) do
		socket.shutdown(id)
		server.clients[id] = nil
	end
end

local function read_session(sock)
	local line = sock:readline("\n")
	local session, text = line:match("^(%d+) (.*)$")
	return tonumber(session), true, text
end

local function read_line(sock)
	return true, sock:readline("\n")
end

local function session_channel()
	return socketchannel.channel {
		host = "127.0.0.1", port = server.port, response = read_session, nodelay = true,
	}
end

local function test_order_mode()
	local ch = socketchannel.channel { host = "127.0.0.1", port = server.port }
	t.eq(ch:request("ECHO one\n", read_line), "one", "order mode: lazy connect and a reply")
	local results, done = {}, 0
	for i = 1, 20 do
		skynet.fork(function()
			results[i] = ch:request("ECHO " .. i .. "\n", read_line)
			done = done + 1
		end)
	end
	while done < 20 do skynet.sleep(1) end
	local want = {}
	for i = 1, 20 do want[i] = tostring(i) end
	t.eq(results, want, "order mode: 20 concurrent requests each get their own reply")
	ch:request("ECHO skipped\n")
	t.eq(ch:response(read_line), "skipped", "request without a response, then response()")
	ch:close()
end

local function test_session_mode()
	local ch = session_channel()
	local results, done = {}, 0
	for i = 1, 10 do
		skynet.fork(function()
			results[i] = ch:request(string.format("%d %d r%d\n", i, (10 - i) * 2, i), i)
			done = done + 1
		end)
	end
	for _ = 1, 300 do
		if done == 10 then break end
		skynet.sleep(1)
	end
	local want = {}
	for i = 1, 10 do want[i] = "r" .. i end
	t.eq(results, want, "session mode: out-of-order replies reach their callers")
	ch:close()
end

-- Requests in flight when the server goes away fail at once; after the
-- restart the next request works.
local function test_server_restart()
	local ch = session_channel()
	t.eq(ch:request("1 0 before\n", 1), "before", "a request before the restart")
	local outcome = {}
	for i = 1, 3 do
		skynet.fork(function()
			local ok, err = pcall(ch.request, ch, string.format("%d 500 slow\n", 10 + i), 10 + i)
			outcome[i] = { ok = ok, err = err, at = skynet.now() }
		end)
	end
	skynet.sleep(5)
	local stopped = skynet.now()
	stop_server()
	for _ = 1, 200 do
		if #outcome == 3 then break end
		skynet.sleep(1)
	end
	t.eq(#outcome, 3, "every request in flight returned")
	local all_failed, fast = true, true
	for _, o in ipairs(outcome) do
		all_failed = all_failed and not o.ok and o.err == socketchannel.error
		fast = fast and o.at - stopped < 100
	end
	t.ok(all_failed, "they raised a socket error (" .. tostring(outcome[1] and outcome[1].err) .. ")")
	t.ok(fast, "they failed within a second of the drop")
	t.raises(function() ch:request("2 0 down\n", 2) end, "connect failed", "a request while the server is down raises")
	start_server(server.port)
	t.eq(ch:request("3 0 after\n", 3), "after", "after the restart the next request reconnects")
	ch:close()
end

local function test_auth()
	local key = "wrong"
	local auths = 0
	local ch = socketchannel.channel {
		host = "127.0.0.1", port = server.port,
		auth = function(self)
			auths = auths + 1
			local answer = self:request("AUTH " .. key .. "\n", read_line)
			if answer ~= "OK" then error("refused: " .. answer) end
		end,
	}
	t.raises(function() ch:request("ECHO x\n", read_line) end, "auth failed", "a failing auth fails the connect")
	key = "secret"
	t.eq(ch:request("ECHO y\n", read_line), "y", "a passing auth lets requests through")
	t.eq(auths, 2, "auth ran once per connect")
	ch:close()
end

local function test_close()
	local ch = session_channel()
	local result
	skynet.fork(function()
		local ok, err = pcall(ch.request, ch, "5 300 never\n", 5)
		result = { ok, tostring(err) }
	end)
	skynet.sleep(5)
	ch:close()
	skynet.sleep(1)
	t.eq(result and result[1], false, "close fails the pending request")
	t.raises(function() ch:request("6 0 x\n", 6) end, "closed", "a closed channel refuses requests")
	ch:connect(true)
	t.eq(ch:request("7 0 again\n", 7), "again", "connect opens a closed channel again")
	ch:close()
end

local function test_changehost()
	local first = server.port
	local ch = session_channel()
	t.eq(ch:request("1 0 a\n", 1), "a", "connected to the first server")
	stop_server()
	local second = start_server(0)
	ch:changehost("127.0.0.1", second)
	t.eq(ch:request("2 0 b\n", 2), "b", "changehost moves to the second server")
	t.ok(second ~= first, "the second server has its own port")
	ch:close()
end

local function test_retrying_connect()
	local port = server.port
	stop_server()
	local ch = socketchannel.channel { host = "127.0.0.1", port = port }
	local connected
	skynet.fork(function()
		connected = pcall(ch.connect, ch)
	end)
	skynet.sleep(30)
	t.eq(connected, nil, "connect() keeps trying while the server is down")
	start_server(port)
	for _ = 1, 300 do
		if connected ~= nil then break end
		skynet.sleep(1)
	end
	t.eq(connected, true, "connect() succeeds once the server is back")
	t.eq(ch:request("ECHO z\n", read_line), "z", "and the channel works")
	ch:close()
end

skynet.start(function()
	start_server()
	t.run {
		{ "order mode", test_order_mode },
		{ "session mode", test_session_mode },
		{ "server restart", test_server_restart },
		{ "auth", test_auth },
		{ "close", test_close },
		{ "changehost", test_changehost },
		{ "retrying connect", test_retrying_connect },
	}
end)
