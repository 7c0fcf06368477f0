-- bootstrap: the first Lua service.  Starts the launcher, the global name
-- keeper (cdummy with harbor = 0, cslave and maybe cmaster otherwise), the
-- datacenter (on the node owning global names), the unique service manager,
-- the coordinator (coordd; a bad `coordinator` config stops the node), then
-- the service named by the `start` env (default "main"), and exits.

local skynet = require "skynet"
require "skynet.manager"
local core = require "skynet.core"

local function start_or_abort(name)
	local ok, handle = pcall(skynet.newservice, name)
	if not ok then
		skynet.error("bootstrap: can't start " .. name .. ": " .. tostring(handle))
		core.command("ABORT", "1") -- the process exits with status 1
		error("bootstrap aborted")
	end
	return handle
end

local function start_name_keeper(standalone)
	local harbor_id = tonumber(skynet.getenv "harbor" or 0)
	if harbor_id == 0 then
		assert(standalone == nil, "`standalone` must not be set when harbor = 0")
		skynet.setenv("standalone", "true")
		skynet.name(".cslave", start_or_abort "cdummy")
		return true
	end
	if standalone then
		start_or_abort "cmaster"
	end
	skynet.name(".cslave", start_or_abort "cslave")
	return standalone ~= nil
end

skynet.start(function()
	local launcher = assert(skynet.launch("snlua", "launcher"), "bootstrap: can't start the launcher")
	skynet.name(".launcher", launcher)
	local owns_global_names = start_name_keeper(skynet.getenv "standalone")
	if owns_global_names then
		skynet.name("DATACENTER", skynet.newservice "datacenterd")
	end
	skynet.newservice "service_mgr"
	start_or_abort "coordd"
	local start = skynet.getenv "start" or "main"
	local ok, err = pcall(skynet.newservice, start)
	if not ok then
		skynet.error("bootstrap: start service " .. start .. " failed: " .. tostring(err))
	end
	skynet.exit()
end)
