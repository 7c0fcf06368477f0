-- skynet.harbor: harbor mode (several processes, one handle space) as seen
-- by a service.  Every function talks to this process's .cslave (cslave, or
-- cdummy when harbor = 0); spec/harbor-protocol.md §9.4.

local skynet = require "skynet"

local harbor = {}

local SLAVE = ".cslave"

-- Gives handle (default: the calling service) the global name; asynchronous.
function harbor.globalname(name, handle)
	skynet.send(SLAVE, "lua", "REGISTER", name, handle or skynet.self())
end

-- The handle of a global name (or a ".local" name).  Blocks until the name
-- is registered somewhere; with timeout (centiseconds) returns nil instead
-- once it has passed.
function harbor.queryname(name, timeout)
	return skynet.call(SLAVE, "lua", "QUERYNAME", name, timeout)
end

-- If harbor id is connected, blocks until its link goes down.
function harbor.link(id)
	skynet.call(SLAVE, "lua", "LINK", id)
end

-- If harbor id is not connected, blocks until it connects.
function harbor.connect(id)
	skynet.call(SLAVE, "lua", "CONNECT", id)
end

-- Blocks until this process loses its link to the master.
function harbor.linkmaster()
	skynet.call(SLAVE, "lua", "LINKMASTER")
end

return harbor
