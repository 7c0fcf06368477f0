-- redis_election: master election for the Redis coordinator backend.
-- Candidates claim `<prefix>:master` (script claim, which also issues the
-- next fencing epoch above every epoch this node has seen); the master
-- renews every lease/3 and stops acting at its deadline (monotonic time
-- before the last successful renewal + lease - margin) even if no timer ran
-- in between, so it steps down before Redis can let another node in.  A
-- master asked to resign releases the key (as on a clean stop) and sits out
-- one lease so another candidate takes it.  Each term is logged with COORD
-- TERM BEGIN / END lines.

local skynet = require "skynet"
local scripts = require "redis_scripts"

local NS_PER_MS = 1000000

local election = {}
election.__index = election

-- cfg: node, prefix, lease_ms, candidate.  host: coordd host.  link: redis_link.
function election.new(cfg, host, link)
	local lease = cfg.lease_ms
	return setmetatable({
		cfg = cfg,
		host = host,
		link = link,
		lease_ns = lease * NS_PER_MS,
		margin_ns = (lease // 10 + 50) * NS_PER_MS,
		renew_every_ms = lease // 3,
		poll_every_ms = math.max(lease // 6, 50),
		seen_epoch = 0,
		term = nil,         -- { epoch =, value =, deadline = ns } while master
		known = nil,        -- { node =, epoch = } the master as last seen
		quiet_until = 0,    -- hpc time before which this node does not claim
		running = true,
		sleeping = false,
	}, election)
end

local function parse_master(value)
	local node, epoch = string.match(value or "", "^(%S+) (%d+)$")
	return node, tonumber(epoch)
end

function election:see_epoch(epoch)
	epoch = tonumber(epoch)
	if epoch and epoch > self.seen_epoch then
		self.seen_epoch = epoch
	end
end

-- The epoch and the ms left before the deadline, while acting as master.
function election:is_master()
	local term = self.term
	local now = skynet.hpc()
	if term and now < term.deadline then
		return term.epoch, (term.deadline - now) // NS_PER_MS
	end
end

function election:master()
	local epoch = self:is_master()
	if epoch then
		return self.cfg.node, epoch
	end
	if self.known then
		return self.known.node, self.known.epoch
	end
end

function election:log_term(what, epoch, mono_ns, reason)
	skynet.error(string.format("COORD TERM %s node=%s epoch=%d mono_ns=%d%s", what, self.cfg.node,
		epoch, mono_ns, reason and (" reason=" .. reason) or ""))
end

-- Stop acting as master; it stopped at the deadline if that came first.
function election:step_down(reason)
	local term = self.term
	if term == nil then return end
	self.term = nil
	self:log_term("END", term.epoch, math.min(skynet.hpc(), term.deadline), reason)
	self.host.emit("master", "lost", self.cfg.node, term.epoch)
	self:wake()
end

-- A timer at the deadline makes the step-down visible (log, event) even when
-- no renewal answer ever comes.
function election:arm_watchdog()
	local term = self.term
	local cs = (term.deadline - skynet.hpc()) // 10000000 + 1
	skynet.timeout(math.max(cs, 1), function()
		if self.term == term and skynet.hpc() >= term.deadline then
			self:step_down("deadline")
		end
	end)
end

-- The master as seen in Redis (value "<node> <epoch>", or nil: none).
function election:observe(value)
	local node, epoch = parse_master(value)
	self:see_epoch(epoch)
	local term = self.term
	if term and node and value ~= term.value and epoch > term.epoch then
		self:step_down("taken")
	end
	if node == nil then
		self.known = nil
	elseif node ~= self.cfg.node then
		if not (self.known and self.known.node == node and self.known.epoch == epoch) then
			self.known = { node = node, epoch = epoch }
			self.host.emit("master", "changed", node, epoch)
		end
	end
end

function election:begin_term(value, sent_ns)
	local node, epoch = parse_master(value)
	self:see_epoch(epoch)
	local deadline = sent_ns + self.lease_ns - self.margin_ns
	local now = skynet.hpc()
	if node ~= self.cfg.node or now >= deadline then
		return
	end
	self.term = { epoch = epoch, value = value, deadline = deadline }
	self.known = { node = node, epoch = epoch }
	self:log_term("BEGIN", epoch, now)
	self.host.emit("master", "gained", node, epoch)
	self:arm_watchdog()
end

function election:claim()
	local sent = skynet.hpc()
	local reply = self.link:script(math.min(1000, self.renew_every_ms), scripts.claim, self.cfg.prefix,
		self.cfg.node, self.cfg.lease_ms, self.seen_epoch)
	if type(reply) ~= "table" or not self.running then return end
	if reply[1] == 1 then
		self:begin_term(reply[2], sent)
	else
		self:observe(reply[2])
	end
end

function election:renew()
	local term = self.term
	local sent = skynet.hpc()
	local left_ms = (term.deadline - sent) // NS_PER_MS
	if left_ms <= 0 then return end
	local reply = self.link:script(math.min(left_ms, self.renew_every_ms), scripts.renew, self.cfg.prefix,
		term.value, self.cfg.lease_ms)
	if self.term ~= term then return end
	if reply == 1 then
		if skynet.hpc() >= term.deadline then
			self:step_down("deadline")
		else
			term.deadline = sent + self.lease_ns - self.margin_ns
			self:arm_watchdog()
		end
	elseif reply == 0 then
		self:step_down("taken")
	end
end

-- Sleep ms unless woken (a release, a reconnect, a step-down).
function election:pause(ms)
	self.sleeping = true
	skynet.sleep(math.max(ms // 10, 1), self)
	self.sleeping = false
end

function election:wake()
	if self.sleeping then
		skynet.wakeup(self)
	end
end

function election:run()
	while self.running do
		if self.term then
			local started = skynet.now()
			self:renew()
			self:pause(self.renew_every_ms - (skynet.now() - started) * 10)
		elseif self.cfg.candidate and skynet.hpc() >= self.quiet_until then
			self:claim()
			self:pause(self.term and self.renew_every_ms or self.poll_every_ms)
		else
			self:pause(self.poll_every_ms)
		end
	end
end

-- A master released its key: claim at once.
function election:released(value)
	local node, epoch = parse_master(value)
	self:see_epoch(epoch)
	if self.known and self.known.node == node then
		self.known = nil
	end
	self:wake()
end

-- Hand the role over: stop acting, release the key (compare and delete,
-- publishing `released`), and do not claim for one lease.  Returns true if
-- this node was the master; raises if the release could not reach Redis (the
-- key then expires by itself within the lease).
function election:resign()
	local term = self.term
	if term == nil then return false end
	self.quiet_until = skynet.hpc() + self.lease_ns
	self:step_down("resign")
	local reply, err = self.link:script(1000, scripts.release, self.cfg.prefix, term.value)
	if reply == nil then
		error("resign: could not release the master key in redis (it expires within the lease): " ..
			tostring(err), 0)
	end
	return true
end

-- The node stops: stop acting first, then the caller releases the key.
-- Returns the master value to release, or "".
function election:stop()
	self.running = false
	local term = self.term
	if term == nil then return "" end
	self:step_down("stop")
	return term.value
end

return election
