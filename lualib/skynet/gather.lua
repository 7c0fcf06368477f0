-- skynet/gather.lua: gathered writes for a service that owns a socket (the
-- cluster sender and agent).  A small packet written while more messages
-- wait in the service's queue is held back and goes out with the others
-- once the queue has been worked through: one system call for many
-- packets.  With an empty queue it is written at once.
--
--   local w = gather.new(send)   send(data): writes a string or a list of
--                                strings (or drops them: socket gone)
--   w:write(packet)              packet: a string
--   w:flush()                    writes what is held back now (before a
--                                large message, to keep the order)
--   w:drop()                     forgets what is held back

local skynet = require "skynet"

local gather = {}
local writer = {}
writer.__index = writer

function gather.new(send)
	return setmetatable({ send = send, held = {}, flush_due = false }, writer)
end

function writer:flush()
	local held = self.held
	if #held > 0 then
		self.held = {}
		self.send(held)
	end
end

function writer:drop()
	self.held = {}
end

local function flush_later(self)
	skynet.yield() -- behind the messages queued now
	self.flush_due = false
	self:flush()
end

function writer:write(packet)
	if self.flush_due then
		self.held[#self.held + 1] = packet
	elseif skynet.mqlen() > 0 then
		self.held[#self.held + 1] = packet
		self.flush_due = true
		skynet.fork(flush_later, self)
	else
		self.send(packet)
	end
end

return gather
