-- backend_redis: the coordinator backend on a shared Redis (coordinator =
-- "redis").  It reads and checks the config, opens the driver link, and
-- wires the election (redis_election.lua) and membership / names
-- (redis_members.lua) to the events channel.  See coord/README.md.

local skynet = require "skynet"
local redis_link = require "redis_link"
local election_of = require "redis_election"
local members_of = require "redis_members"

local M = {}

local MIN_LEASE_MS = 500

local function config_error(key, text)
	error(string.format("coordinator = \"redis\": config key `%s` %s", key, text), 0)
end

local function word(host, key, default)
	local value = host.getenv(key) or default
	if value == nil then
		config_error(key, "is required")
	end
	if value ~= "" and not value:find("^%S+$") then
		config_error(key, string.format("must not contain spaces (it is %q)", value))
	end
	return value
end

local function lease_ms(host)
	local text = host.getenv "coord_lease_ms"
	if text == nil then return 3000 end
	local value = math.tointeger(tonumber(text))
	if value == nil or value < MIN_LEASE_MS then
		config_error("coord_lease_ms", string.format("must be a whole number of milliseconds >= %d, not %q",
			MIN_LEASE_MS, text))
	end
	return value
end

local function candidate(host)
	local text = host.getenv "coord_candidate"
	if text == nil or text == "true" or text == "1" then return true end
	if text == "false" or text == "0" then return false end
	config_error("coord_candidate", string.format("must be true or false, not %q", text))
end

-- What the driver connects to, for the logs: coord_redis, or (with
-- coord_sentinels, where the driver asks Sentinel) the master's name.
local function redis_target(host)
	if host.getenv "coord_sentinels" == nil then
		return word(host, "coord_redis")
	end
	return "sentinel-master:" .. word(host, "coord_sentinel_master")
end

local function read_config(host)
	local node = host.getenv "nodename"
	if node == nil then
		config_error("nodename", "is required (this node's name in the cluster)")
	end
	return {
		node = word(host, "nodename"),
		redis = redis_target(host),
		prefix = word(host, "coord_prefix", "skynode"),
		lease_ms = lease_ms(host),
		candidate = candidate(host),
		address = word(host, "cluster_address", ""),
	}
end

function M.start(host)
	local cfg = read_config(host)
	local link = redis_link.open(host, cfg.redis)
	local election = election_of.new(cfg, host, link)
	local members = members_of.new(cfg, host, link, election)
	link:subscribe(cfg.prefix .. ":events",
		function(payload) members:on_event(payload) end,
		function()
			members:resync()
			election:wake()
		end)
	skynet.fork(function() members:run() end)
	skynet.fork(function() election:run() end)
	host.log(string.format("redis backend: node %s, redis %s, prefix %s, lease %d ms, %s", cfg.node,
		cfg.redis, cfg.prefix, cfg.lease_ms, cfg.candidate and "candidate" or "not a candidate"))

	local backend = { cluster_addresses = true }

	function backend.register(name, addr)
		members:register(name, addr)
	end

	function backend.unregister(name, addr)
		members:unregister(name, addr)
	end

	function backend.lookup(name)
		return members:lookup(name)
	end

	function backend.master()
		return election:master()
	end

	function backend.is_master()
		return election:is_master()
	end

	function backend.resign()
		return election:resign()
	end

	function backend.stop()
		local ok, err = members:leave(election:stop())
		if ok == nil then
			host.log("stop: could not release in redis: " .. tostring(err))
		end
		link:close()
	end

	return backend
end

return M
