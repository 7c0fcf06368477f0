-- test_basic: the small parts of the skynet API: addresses and names,
-- environment, clocks, serialization, statistics, protocols, logging.

local skynet = require "skynet"
require "skynet.manager"
local t = require "testlib"

local function test_addresses()
	local me = skynet.self()
	t.ok(math.type(me) == "integer" and me > 0, "self is an integer handle")
	t.eq(skynet.address(me), string.format(":%08x", me), "address formats :%08x")
	t.eq(skynet.address(".x"), ".x", "address of a name is the name")
	t.eq(skynet.localname ".no_such_name", nil, "localname of an unknown name")
	skynet.register ".test_basic"
	t.eq(skynet.localname ".test_basic", me, "register gives a local name")
	skynet.name(".test_basic_alias", me)
	t.eq(skynet.localname ".test_basic_alias", me, "name gives another local name")
	t.ok(skynet.localname ".launcher" ~= nil, "the launcher is .launcher")
	t.eq({ skynet.harbor(me) }, { 0, false }, "harbor of a local handle")
	t.raises(function() skynet.register ":bad" end, "can't start", "a name can't start with ':'")
end

local function test_env()
	t.eq(skynet.getenv "harbor", "0", "getenv reads the config")
	t.eq(skynet.getenv "no_such_key", nil, "getenv of an unknown key")
	skynet.setenv("test_basic_key", "value")
	t.eq(skynet.getenv "test_basic_key", "value", "setenv then getenv")
	t.raises(function() skynet.setenv("test_basic_key", "again") end, "exist key",
		"setenv of an existing key raises")
end

local function test_clocks()
	local now = skynet.now()
	t.ok(math.type(now) == "integer" and now >= 0, "now is integer centiseconds")
	t.ok(math.abs(skynet.time() - os.time()) < 2, "time is unix time")
	t.ok(math.abs(skynet.starttime() + now / 100 - os.time()) < 2, "starttime + now is unix time")
	local a = skynet.hpc()
	skynet.sleep(1)
	local b = skynet.hpc()
	t.ok(b - a >= 5000000, "hpc counts nanoseconds")
end

local function test_serialization()
	local values = { 1, -2, 3.5, "str", true, false, { a = { 1, 2 }, [10] = "x" } }
	local msg, sz = skynet.pack(table.unpack(values))
	t.ok(type(msg) == "userdata" and sz > 0, "pack returns a pointer and a size")
	t.eq({ skynet.unpack(msg, sz) }, values, "unpack reverses pack")
	skynet.trash(msg, sz)
	local s = skynet.packstring("a", 1, nil, 2)
	t.eq(type(s), "string", "packstring returns a string")
	t.eq(table.pack(skynet.unpack(s)), { "a", 1, nil, 2, n = 4 }, "unpack of a string keeps nils")
	local m2, sz2 = skynet.pack "text"
	t.eq(#skynet.tostring(m2, sz2), sz2, "tostring copies sz bytes")
	skynet.trash(m2, sz2)
end

local function test_stat()
	t.ok(skynet.stat "mqlen" >= 0, "stat mqlen")
	t.ok(skynet.mqlen() >= 0, "mqlen")
	t.ok(skynet.stat "message" > 0, "stat message counts handled messages")
	t.eq(skynet.task(), 0, "no task waits while the start function runs")
end

local function test_protocols()
	skynet.register_protocol {
		name = "text",
		id = skynet.PTYPE_TEXT,
		pack = function(s) return s end,
		unpack = skynet.tostring,
	}
	t.raises(function()
		skynet.register_protocol { name = "text", id = skynet.PTYPE_TEXT }
	end, "already registered", "a protocol can't be registered twice")
	local got
	local me = coroutine.running()
	t.eq(skynet.dispatch("text", function(_, _, text) got = text; skynet.wakeup(me) end), nil,
		"dispatch returns the previous function")
	skynet.send(skynet.self(), "text", "hello")
	skynet.wait(me)
	t.eq(got, "hello", "a registered protocol is dispatched")
	t.ok(skynet.dispatch("text") ~= nil, "dispatch without a function returns the current one")
end

local function test_misc()
	skynet.error("test_basic: skynet.error writes this line", 1, nil, true)
	t.ok(true, "error accepts any values")
	skynet.trace "test_basic"
	t.ok(type(skynet.tracetag()) == "string", "trace sets a tag")
	t.ok(math.type(skynet.genid()) == "integer", "genid")
end

skynet.start(function()
	t.run {
		{ "addresses", test_addresses },
		{ "env", test_env },
		{ "clocks", test_clocks },
		{ "serialization", test_serialization },
		{ "stat", test_stat },
		{ "protocols", test_protocols },
		{ "misc", test_misc },
	}
end)
