-- redis_scripts: the Lua scripts the Redis coordinator backend runs inside
-- Redis (each one atomic, one round trip).  Every script takes the key prefix
-- as ARGV[1]; keys, values and event messages are described in
-- coord/README.md.  Values are "<node> <epoch>" (master), "<address> <start>"
-- (membership) and "<node> <addr>" (names).

local S = {}

-- Shared helpers, prepended to every script.
local PRELUDE = [==[
local p = ARGV[1]
local function publish(text) redis.call('PUBLISH', p .. ':events', text) end
local function owner_of(value) return string.match(value, '^(%S+)') end
local function node_alive(node) return redis.call('EXISTS', p .. ':node:' .. node) == 1 end
local function release_master(value)
	if value == '' or redis.call('GET', p .. ':master') ~= value then return 0 end
	redis.call('DEL', p .. ':master')
	publish('released ' .. value)
	return 1
end
]==]

local function script(body)
	return PRELUDE .. body
end

-- Claim the master key.  The epoch issued is above `P:epoch` and every epoch
-- the caller has seen.  When `P:epoch` is missing (a new cluster, or Redis
-- lost its data) nobody may claim for one lease (`P:recovering`): a master
-- of before the loss acts until its deadline, which is less than a lease
-- away; `P:epoch` restarts from Redis's clock in ms, above any epoch issued
-- before that no live node may have seen.
-- ARGV: prefix, node, lease_ms, highest epoch the caller has seen.
-- -> {1, "<node> <epoch>"} when claimed, {0, current value or false} when not.
S.claim = script [==[
local node, lease, seen = ARGV[2], ARGV[3], tonumber(ARGV[4])
local current = redis.call('GET', p .. ':master')
if current then return {0, current} end
if redis.call('EXISTS', p .. ':recovering') == 1 then return {0, false} end
local stored = tonumber(redis.call('GET', p .. ':epoch') or '')
if stored == nil then
	local now = redis.call('TIME')
	local floor = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
	redis.call('SET', p .. ':epoch', string.format('%d', math.max(floor, seen)))
	redis.call('SET', p .. ':recovering', node, 'PX', lease)
	return {0, false}
end
local epoch = math.max(stored, seen) + 1
redis.call('SET', p .. ':epoch', string.format('%d', epoch))
local value = node .. ' ' .. string.format('%d', epoch)
redis.call('SET', p .. ':master', value, 'PX', lease)
publish('master ' .. value)
return {1, value}
]==]

-- ARGV: prefix, "<node> <epoch>", lease_ms.  -> 1 renewed, 0 not ours.
S.renew = script [==[
if redis.call('GET', p .. ':master') ~= ARGV[2] then return 0 end
redis.call('PEXPIRE', p .. ':master', ARGV[3])
return 1
]==]

-- Renew this node's membership and all its names, re-creating any that
-- vanished (Redis lost its data) unless another live node holds them now.
-- ARGV: prefix, node, "<address> <start>", lease_ms, then name, addr pairs.
-- -> {lost names (name, holder value, ...), live nodes (node, value, ...),
--     master value or false, highest epoch or false}
S.heartbeat = script [==[
local node, member, lease = ARGV[2], ARGV[3], ARGV[4]
local before = redis.call('SET', p .. ':node:' .. node, member, 'PX', lease, 'GET')
redis.call('SADD', p .. ':nodes', node)
if before ~= member then publish('up ' .. node .. ' ' .. string.match(member, '^(%S*)')) end
local lost = {}
for i = 5, #ARGV, 2 do
	local name, want = ARGV[i], node .. ' ' .. ARGV[i + 1]
	local key = p .. ':name:' .. name
	local current = redis.call('GET', key)
	if current == want then
		redis.call('PEXPIRE', key, lease)
	elseif current and owner_of(current) ~= node and node_alive(owner_of(current)) then
		table.insert(lost, name)
		table.insert(lost, current)
	else
		redis.call('SET', key, want, 'PX', lease)
		redis.call('SADD', p .. ':names', name)
		publish('registered ' .. name .. ' ' .. want)
	end
end
local nodes = {}
for _, other in ipairs(redis.call('SMEMBERS', p .. ':nodes')) do
	local value = redis.call('GET', p .. ':node:' .. other)
	if value then
		table.insert(nodes, other)
		table.insert(nodes, value)
	elseif redis.call('SREM', p .. ':nodes', other) == 1 then
		publish('down ' .. other)
	end
end
return {lost, nodes, redis.call('GET', p .. ':master'), redis.call('GET', p .. ':epoch')}
]==]

-- The whole state.  ARGV: prefix.
-- -> {master value or false, epoch or false, nodes (node, value, ...),
--     names (name, value, ...)}; stale index entries are pruned.
S.snapshot = script [==[
local function live(index, kind)
	local out = {}
	for _, member in ipairs(redis.call('SMEMBERS', p .. ':' .. index)) do
		local value = redis.call('GET', p .. ':' .. kind .. ':' .. member)
		if value then
			table.insert(out, member)
			table.insert(out, value)
		else
			redis.call('SREM', p .. ':' .. index, member)
		end
	end
	return out
end
return {redis.call('GET', p .. ':master'), redis.call('GET', p .. ':epoch'),
	live('nodes', 'node'), live('names', 'name')}
]==]

-- Release the master key if it is still "<node> <epoch>" (compare and delete).
-- ARGV: prefix, master value.  -> 1 released, 0 not ours any more.
S.release = script [==[
return release_master(ARGV[2])
]==]

-- Take a name.  ARGV: prefix, name, node, addr, lease_ms.
-- -> {1} taken, {0, holder value} held by another live node.
S.register = script [==[
local name, node, addr, lease = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local key = p .. ':name:' .. name
local current = redis.call('GET', key)
if current and owner_of(current) ~= node and node_alive(owner_of(current)) then
	return {0, current}
end
local want = node .. ' ' .. addr
redis.call('SET', key, want, 'PX', lease)
redis.call('SADD', p .. ':names', name)
if current ~= want then publish('registered ' .. name .. ' ' .. want) end
return {1}
]==]

-- Drop a name if held by node/addr.  ARGV: prefix, name, node, addr.
S.unregister = script [==[
local name, want = ARGV[2], ARGV[3] .. ' ' .. ARGV[4]
local key = p .. ':name:' .. name
if redis.call('GET', key) ~= want then return 0 end
redis.call('DEL', key)
redis.call('SREM', p .. ':names', name)
publish('dropped ' .. name .. ' ' .. want)
return 1
]==]

-- A node's first contact: drop names a previous run of this node left behind,
-- except those listed.  ARGV: prefix, node, then name, addr pairs kept.
S.hello = script [==[
local node, keep = ARGV[2], {}
for i = 3, #ARGV, 2 do keep[ARGV[i]] = node .. ' ' .. ARGV[i + 1] end
for _, name in ipairs(redis.call('SMEMBERS', p .. ':names')) do
	local key = p .. ':name:' .. name
	local current = redis.call('GET', key)
	if not current then
		redis.call('SREM', p .. ':names', name)
	elseif owner_of(current) == node and keep[name] ~= current then
		redis.call('DEL', key)
		redis.call('SREM', p .. ':names', name)
		publish('dropped ' .. name .. ' ' .. current)
	end
end
return 1
]==]

-- A clean stop: release the master key if it is still "<node> <epoch>" (ARGV[3],
-- may be empty), drop the listed names and the membership.
-- ARGV: prefix, node, master value or "", then name, addr pairs.
S.leave = script [==[
local node = ARGV[2]
release_master(ARGV[3])
for i = 4, #ARGV, 2 do
	local name, want = ARGV[i], node .. ' ' .. ARGV[i + 1]
	if redis.call('GET', p .. ':name:' .. name) == want then
		redis.call('DEL', p .. ':name:' .. name)
		redis.call('SREM', p .. ':names', name)
		publish('dropped ' .. name .. ' ' .. want)
	end
end
redis.call('DEL', p .. ':node:' .. node)
if redis.call('SREM', p .. ':nodes', node) == 1 then publish('down ' .. node) end
return 1
]==]

return S
