-- testlib.lua: checks for Lua test services.  Every check prints one line,
-- "ok - <name>" or "not ok - <name>: <details>"; done() prints
-- "# done passed=N failed=M" and stops the node.  The runner counts lines.

local skynet = require "skynet"
require "skynet.manager"

local t = {}
local passed, failed = 0, 0

-- One write per line: the logger shares stdout from other threads.
local function say(line)
	io.stdout:write(line .. "\n")
	io.stdout:flush()
end

local function report(good, name, details)
	if good then
		passed = passed + 1
		say("ok - " .. name)
	else
		failed = failed + 1
		say("not ok - " .. name .. ": " .. details)
	end
	return good
end

local function show(v)
	if type(v) == "string" then
		return string.format("%q", v)
	end
	if type(v) ~= "table" then
		return tostring(v)
	end
	local keys = {}
	for k in pairs(v) do
		keys[#keys + 1] = k
	end
	table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
	local parts = {}
	for _, k in ipairs(keys) do
		parts[#parts + 1] = "[" .. show(k) .. "]=" .. show(v[k])
	end
	return "{" .. table.concat(parts, ",") .. "}"
end

local function same(a, b)
	if a == b then
		return true
	end
	if type(a) ~= "table" or type(b) ~= "table" then
		return false
	end
	for k, v in pairs(a) do
		if not same(v, b[k]) then
			return false
		end
	end
	for k in pairs(b) do
		if a[k] == nil then
			return false
		end
	end
	return true
end

function t.ok(cond, name)
	return report(cond, name, "condition is " .. tostring(cond))
end

-- Deep comparison for tables.
function t.eq(got, want, name)
	return report(same(got, want), name, "got " .. show(got) .. ", want " .. show(want))
end

-- fn() must raise an error whose text matches pattern (a Lua pattern).
function t.raises(fn, pattern, name)
	local ok, err = pcall(fn)
	if ok then
		return report(false, name, "no error raised")
	end
	local text = tostring(err)
	return report(text:find(pattern) ~= nil, name,
		"error " .. string.format("%q", text) .. " does not match " .. string.format("%q", pattern))
end

function t.done()
	say(string.format("# done passed=%d failed=%d", passed, failed))
	skynet.abort()
end

-- Run each test function in order as a named group; an error inside one
-- counts as a failed check and the next group still runs.
function t.run(groups)
	for _, group in ipairs(groups) do
		local name, fn = group[1], group[2]
		local ok, err = xpcall(fn, debug.traceback)
		if not ok then
			report(false, name .. " (raised)", tostring(err))
		end
	end
	t.done()
end

return t
