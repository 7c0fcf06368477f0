-- idle_service: does nothing but answer the debug protocol; used in bulk by
-- test_many_services.

local skynet = require "skynet"

skynet.start(function() end)
