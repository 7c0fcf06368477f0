-- datacenterd: keeps the datacenter tree (see lualib/skynet/datacenter.lua).
-- QUERY path..., UPDATE path... value, WAIT path... (answered when the path
-- gets a value).  Waiters sit in a tree of their own, keyed by the same path.

local skynet = require "skynet"

local data = {}
local waiters = {}   -- path tree; node[WAITING] lists the responses for that path
local WAITING = {}   -- a key no user path can contain

local function lookup(...)
	local node = data
	for i = 1, select("#", ...) do
		if type(node) ~= "table" then
			return nil
		end
		node = node[(select(i, ...))]
	end
	return node
end

-- Store value at path (the last argument); returns the value it replaced.
local function store(...)
	local n = select("#", ...)
	assert(n >= 2, "UPDATE needs a key and a value")
	local node = data
	for i = 1, n - 2 do
		local key = select(i, ...)
		local child = node[key]
		if type(child) ~= "table" then
			assert(child == nil, "UPDATE path goes through a value that is not a table")
			child = {}
			node[key] = child
		end
		node = child
	end
	local key, value = select(n - 1, ...)
	local old = node[key]
	node[key] = value
	return old
end

local function waiter_node(...)
	local node = waiters
	for i = 1, select("#", ...) do
		local key = select(i, ...)
		local child = node[key]
		if child == nil then
			child = {}
			node[key] = child
		end
		node = child
	end
	return node
end

-- Answer every waiter at or below node whose value now exists.
local function wake(node, value)
	if node == nil then
		return
	end
	if value ~= nil and node[WAITING] then
		for _, response in ipairs(node[WAITING]) do
			response(true, value)
		end
		node[WAITING] = nil
	end
	if type(value) == "table" then
		for key, child in pairs(node) do
			if key ~= WAITING then
				wake(child, value[key])
			end
		end
	end
end

local function waiters_at(...)
	local node = waiters
	for i = 1, select("#", ...) do
		node = node[(select(i, ...))]
		if node == nil then
			return nil
		end
	end
	return node
end

local command = {}

function command.QUERY(...)
	skynet.retpack(lookup(...))
end

function command.UPDATE(...)
	local old = store(...)
	skynet.retpack(old)
	local n = select("#", ...)
	local value = select(n, ...)
	wake(waiters_at(table.unpack({ ... }, 1, n - 1)), value)
end

function command.WAIT(...)
	local value = lookup(...)
	if value ~= nil then
		skynet.retpack(value)
		return
	end
	local node = waiter_node(...)
	node[WAITING] = node[WAITING] or {}
	table.insert(node[WAITING], skynet.response())
end

skynet.start(function()
	skynet.dispatch("lua", function(_, _, cmd, ...)
		local f = command[cmd]
		if f == nil then
			error("datacenterd: unknown command " .. tostring(cmd))
		end
		f(...)
	end)
end)
