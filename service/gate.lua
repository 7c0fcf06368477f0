-- gate: a gate service (skynet's gate).  Listens for clients and routes
-- their packets: to the agent a client was forwarded to, as "client"
-- messages (session = fd, source = the client address given to forward),
-- otherwise to the watchdog as lua "socket", "data", fd, string.
--
-- The watchdog (conf.watchdog, or whoever sent "open") hears of every
-- connection as lua sends "socket", event, fd, ...:
--   "open", fd, addr   "close", fd   "error", fd, text   "warning", fd, size
--   "data", fd, bytes  (only for clients not forwarded yet)
-- Lua requests: "open" conf (see snax.gateserver; returns address, port),
-- "close", "forward" fd [, client [, agent]] (agent defaults to the caller;
-- starts reading fd), "accept" fd (read fd, packets to the watchdog),
-- "kick" fd (close that client).

local skynet = require "skynet"
local gateserver = require "snax.gateserver"

local watchdog
local connection = {}   -- fd -> { fd, addr, agent, client }

skynet.register_protocol {
	name = "client",
	id = skynet.PTYPE_CLIENT,
}

local handler = {}

function handler.open(source, conf)
	watchdog = conf.watchdog or source
	return conf.address, conf.port
end

function handler.message(fd, msg, sz)
	local c = connection[fd]
	local agent = c and c.agent
	if agent then
		skynet.redirect(agent, c.client, "client", fd, msg, sz)
	else
		skynet.send(watchdog, "lua", "socket", "data", fd, skynet.tostring(msg, sz))
		skynet.trash(msg, sz)
	end
end

function handler.connect(fd, addr)
	connection[fd] = { fd = fd, addr = addr }
	skynet.send(watchdog, "lua", "socket", "open", fd, addr)
end

function handler.disconnect(fd)
	connection[fd] = nil
	skynet.send(watchdog, "lua", "socket", "close", fd)
end

function handler.error(fd, text)
	connection[fd] = nil
	skynet.send(watchdog, "lua", "socket", "error", fd, text)
end

function handler.warning(fd, size)
	skynet.send(watchdog, "lua", "socket", "warning", fd, size)
end

local CMD = {}

function CMD.forward(source, fd, client, agent)
	local c = connection[fd]
	if c then
		c.agent = agent or source
		c.client = client or 0
		gateserver.openclient(fd)
	end
end

function CMD.accept(_, fd)
	local c = connection[fd]
	if c then
		c.agent = nil
		gateserver.openclient(fd)
	end
end

function CMD.kick(_, fd)
	gateserver.closeclient(fd)
end

function handler.command(cmd, source, ...)
	local f = CMD[cmd]
	if f == nil then
		error("gate: unknown command " .. tostring(cmd))
	end
	return f(source, ...)
end

gateserver.start(handler)
