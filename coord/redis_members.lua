-- redis_members: membership and global names for the Redis coordinator
-- backend.  One heartbeat script per interval renews this node's membership
-- (its names live as long as it does, so they are not sent) and returns the
-- live nodes and the master; when it reports the membership was missing, and
-- after each (re)connect, the node re-announces all its names in one script,
-- then a snapshot re-reads the whole state.  register / unregister / lookup /
-- leave are single scripts.

local skynet = require "skynet"
local scripts = require "redis_scripts"

local TIMEOUT_MS = 1000

local members = {}
members.__index = members

-- cfg: node, prefix, lease_ms, address.  election: redis_election.
function members.new(cfg, host, link, election)
	return setmetatable({
		cfg = cfg,
		host = host,
		link = link,
		election = election,
		value = (cfg.address ~= "" and cfg.address or "-") .. " " .. math.floor(skynet.time() * 1000),
		every_ms = math.max(cfg.lease_ms // 6, 50),
		greeted = false,
		announce_due = false,
		running = true,
	}, members)
end

local function split(value)
	return string.match(value, "^(%S+) (%S+)$")
end

local function address_of(member_value)
	local address = split(member_value)
	return address == "-" and "" or address
end

-- name, addr pairs of this node's names, appended to argv.
local function with_local_names(host, argv)
	for name, addr in pairs(host.local_names()) do
		argv[#argv + 1] = name
		argv[#argv + 1] = addr
	end
	return table.unpack(argv)
end

local function node_map(flat)
	local map = {}
	for i = 1, #flat, 2 do
		map[flat[i]] = address_of(flat[i + 1])
	end
	return map
end

-- Renew the membership; re-announce the names when Redis did not have it,
-- or when an announce is due (a reconnect, a heartbeat or announce that got
-- no answer: Redis may have run it and reported "fresh" to nobody).
function members:heartbeat()
	local cfg = self.cfg
	local reply = self.link:script(math.min(TIMEOUT_MS, cfg.lease_ms // 3), scripts.heartbeat,
		cfg.prefix, cfg.node, self.value, cfg.lease_ms)
	if not self.running then return end
	if type(reply) ~= "table" then
		self.announce_due = true
		return
	end
	local fresh, nodes, master, epoch = reply[1], reply[2], reply[3], reply[4]
	if fresh == 1 or self.announce_due then
		self.announce_due = not self:announce()
	end
	self.host.sync("node", node_map(nodes))
	self.election:see_epoch(epoch)
	self.election:observe(master or nil)
end

-- Re-announce every name of this node; report those another node took.
-- true when Redis answered.
function members:announce()
	local cfg = self.cfg
	local lost = self.link:script(TIMEOUT_MS, scripts.announce,
		with_local_names(self.host, { cfg.prefix, cfg.node }))
	if type(lost) ~= "table" then return false end
	for i = 1, #lost, 2 do
		local node, addr = split(lost[i + 1])
		self.host.lost(lost[i], node, tonumber(addr))
	end
	return true
end

function members:snapshot()
	local reply, err = self.link:script(TIMEOUT_MS, scripts.snapshot, self.cfg.prefix)
	if type(reply) ~= "table" then
		self.host.log("resync failed: " .. tostring(err))
		return
	end
	local master, epoch, nodes, names = reply[1], reply[2], reply[3], reply[4]
	self.election:see_epoch(epoch)
	self.election:observe(master or nil)
	self.host.sync("node", node_map(nodes))
	local map = {}
	for i = 1, #names, 2 do
		local node, addr = split(names[i + 1])
		map[names[i]] = { node, tonumber(addr) }
	end
	self.host.sync("name", map)
end

-- After every (re)connect: forget names of an earlier run of this node (first
-- time only), re-announce ourselves and our names (a Sentinel fail-over may
-- have lost some while keeping the membership), then re-read everything.
function members:resync()
	if not self.greeted then
		local ok = self.link:script(TIMEOUT_MS, scripts.hello,
			with_local_names(self.host, { self.cfg.prefix, self.cfg.node }))
		self.greeted = ok ~= nil
	end
	self.announce_due = true
	self:heartbeat()
	self:snapshot()
end

function members:run()
	while self.running do
		self:heartbeat()
		skynet.sleep(math.max(self.every_ms // 10, 1))
	end
end

function members:register(name, addr)
	local cfg = self.cfg
	local reply, err = self.link:script(TIMEOUT_MS, scripts.register, cfg.prefix, name, cfg.node, addr)
	if reply == nil then
		error(string.format("can't register %q: redis: %s", name, tostring(err)), 0)
	end
	if reply[1] == 0 then
		local node, holder = split(reply[2])
		error(string.format("name %q is held by node %s (:%08x)", name, node, tonumber(holder)), 0)
	end
	if reply[2] == 0 then
		self:heartbeat()   -- not a member yet (or any more): join, announcing the name
	end
end

function members:unregister(name, addr)
	local reply, err = self.link:script(TIMEOUT_MS, scripts.unregister, self.cfg.prefix, name,
		self.cfg.node, addr)
	if reply == nil then
		error(string.format("can't unregister %q: redis: %s", name, tostring(err)), 0)
	end
end

function members:lookup(name)
	local value = self.link:script(TIMEOUT_MS, scripts.lookup, self.cfg.prefix, name)
	if type(value) == "string" then
		local node, addr = split(value)
		return node, tonumber(addr)
	end
end

-- The node stops: release the master value given (or ""), names, membership.
function members:leave(master_value)
	self.running = false
	return self.link:script(300, scripts.leave, self.cfg.prefix, self.cfg.node, master_value)
end

-- One message of the events channel.
function members:on_event(payload)
	local words = {}
	for word in string.gmatch(payload, "%S+") do
		words[#words + 1] = word
	end
	local kind = words[1]
	if kind == "master" then
		self.election:observe(words[2] .. " " .. words[3])
	elseif kind == "released" then
		self.election:released(words[2] .. " " .. words[3])
	elseif kind == "resign" then
		if words[2] == self.cfg.node then
			self.host.log("asked to resign on " .. self.cfg.prefix .. ":events")
			local ok, err = pcall(self.election.resign, self.election)
			if not ok then self.host.log(err) end
		end
	elseif kind == "up" then
		self.host.emit("node", "up", words[2], words[3] == "-" and "" or words[3])
	elseif kind == "down" then
		self.host.emit("node", "down", words[2])
	elseif kind == "registered" or kind == "dropped" then
		self.host.emit("name", kind, words[2], words[3], tonumber(words[4]))
	end
end

return members
