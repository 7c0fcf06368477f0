-- test_harbor: global names and remote handles with harbor = 0 (cdummy and
-- the C harbor service in one process): a global name is callable, a message
-- sent to a name before it exists waits for it, queryname blocks until the
-- name appears (or times out), and a message to another harbor's handle fails
-- at once instead of hanging.

local skynet = require "skynet"
require "skynet.manager"
local harbor = require "skynet.harbor"
local t = require "testlib"

local function test_global_names()
	local echo = skynet.newservice "echo_service"
	skynet.name("ECHO", echo)
	t.eq(harbor.queryname "ECHO", echo, "queryname gives the handle")
	t.eq(table.pack(skynet.call("ECHO", "lua", "ECHO", 1, "x")), table.pack(1, "x"),
		"call by global name")
	t.eq(harbor.queryname ".launcher", skynet.localname ".launcher", "queryname of a local name")
	t.raises(function() skynet.name("0123456789abcdef", echo) end, "shorter than 16",
		"a 16-byte global name is refused")
end

local function test_name_queue()
	local answer
	skynet.fork(function()
		answer = table.pack(skynet.call("LATER", "lua", "ECHO", "queued"))
	end)
	local found
	skynet.fork(function() found = harbor.queryname "LATER" end)
	skynet.sleep(10)
	t.eq(answer, nil, "a call to an unknown name waits")
	local echo = skynet.newservice "echo_service"
	harbor.globalname("LATER", echo)
	for _ = 1, 100 do
		if answer and found then break end
		skynet.sleep(1)
	end
	t.eq(answer, table.pack("queued"), "the queued call is delivered once the name exists")
	t.eq(found, echo, "the blocked queryname returns once the name exists")
	t.eq(harbor.queryname("NEVER", 10), nil, "queryname with a timeout returns nil")
end

local function test_remote_handle()
	local start = skynet.now()
	t.raises(function() skynet.call(0x05000001, "lua", "ECHO") end, "call failed",
		"a call to another harbor's handle fails (harbor = 0)")
	t.ok(skynet.now() - start < 100, "and fails at once")
	t.eq(select(2, skynet.harbor(0x05000001)), true, "skynet.harbor says the handle is remote")
	harbor.link(5)
	t.ok(true, "harbor.link returns at once with harbor = 0")
end

skynet.start(function()
	t.run {
		{ "global names", test_global_names },
		{ "name queue", test_name_queue },
		{ "remote handle", test_remote_handle },
	}
end)
