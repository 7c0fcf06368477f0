-- redis_link: the Redis coordinator backend's connection, on top of the
-- redisdrv C service (coord/service_redis.c).  It runs commands and the
-- scripts of redis_scripts.lua with a timeout, subscribes to the events
-- channel, and logs each change of the link's state once.

local skynet = require "skynet"
require "skynet.manager"
local redis = require "skynet.coord.redis"

local link = {}
link.__index = link

-- host: the coordd host (listen, log); address: coord_redis.
function link.open(host, address)
	local drv = skynet.launch("redisdrv", address)
	if drv == nil then
		error("coord: can't start the redis driver for coord_redis = " .. address, 0)
	end
	return setmetatable({ host = host, address = address, drv = drv, state = "starting" }, link)
end

-- Log once per change: "up" / "down".
function link:set_state(state, text)
	if self.state ~= state then
		self.state = state
		self.host.log(text)
	end
end

function link:is_up()
	return self.state == "up"
end

-- Run one command; value, or nil and an error text.
function link:command(timeout_ms, ...)
	local request = redis.with_timeout(timeout_ms, redis.format(...))
	local ok, msg, sz = pcall(skynet.rawcall, self.drv, "client", request)
	if not ok then
		return nil, "redis driver gone: " .. tostring(msg)
	end
	local value, err = redis.decode(msg, sz)
	if value == nil and err then
		if err:find("unreachable") or err:find("lost") or err:find("timeout") then
			self:set_state("down", "redis at " .. self.address .. " not available: " .. err)
		end
		return nil, err
	end
	return value
end

-- Run a script of redis_scripts.lua with argv (prefix first).
function link:script(timeout_ms, text, ...)
	return self:command(timeout_ms, "EVAL", text, 0, ...)
end

-- Subscribe to channel: on_message(payload) for each message,
-- on_connect() after every (re)connect.
function link:subscribe(channel, on_message, on_connect)
	self.host.listen(self.drv, function(msg, sz)
		local push = redis.decode(msg, sz)
		if type(push) ~= "table" then return end
		local kind = push[1]
		if kind == "message" and push[2] == channel then
			on_message(push[3])
		elseif kind == "connected" then
			self:set_state("up", "redis connected at " .. tostring(push[2]))
			skynet.fork(on_connect)
		elseif kind == "disconnected" then
			self:set_state("down", "redis at " .. self.address .. " not available: " .. tostring(push[2]))
		end
	end)
	local ok, err = self:command(1000, "SUBSCRIBE", channel)
	if not ok then
		self.host.log("subscribe " .. channel .. ": " .. tostring(err) .. " (the driver renews it on reconnect)")
	end
end

function link:close()
	skynet.kill(self.drv)
end

return link
