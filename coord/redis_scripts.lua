-- redis_scripts: the Lua scripts the Redis coordinator backend runs inside
-- Redis (each one atomic, one round trip).  Every script takes the key prefix
-- as ARGV[1]; keys, values and event messages are described in
-- coord/README.md.  Values are "<node> <epoch>" (master), "<address> <start>"
-- (membership) and "<node> <addr>" (names).  A name's key has no lease of its
-- own: it counts while its owner's membership key lives, and the first script
-- that finds a member of `P:nodes` whose key is gone drops that node's names
-- (listed in `P:held:<node>`), so a heartbeat costs the same whatever the
-- number of names.

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

-- Helpers of the scripts that read or write names, after PRELUDE.
local NAMES = [==[
local function name_key(name) return p .. ':name:' .. name end
local function held_key(node) return p .. ':held:' .. node end
local function live_owner(value) return value and node_alive(owner_of(value)) and owner_of(value) end
local function write_name(name, node, want, current)
	redis.call('SET', name_key(name), want)
	redis.call('SADD', p .. ':names', name)
	redis.call('SADD', held_key(node), name)
	if current and owner_of(current) ~= node then redis.call('SREM', held_key(owner_of(current)), name) end
end
local function drop_name(name, value)
	redis.call('DEL', name_key(name))
	redis.call('SREM', p .. ':names', name)
	redis.call('SREM', held_key(owner_of(value)), name)
	publish('dropped ' .. name .. ' ' .. value)
end
-- A node whose membership is gone (dead or stopped): drop its names and it.
local function forget_node(node)
	for _, name in ipairs(redis.call('SMEMBERS', held_key(node))) do
		local value = redis.call('GET', name_key(name))
		if value and owner_of(value) == node then drop_name(name, value) end
	end
	redis.call('DEL', held_key(node))
	if redis.call('SREM', p .. ':nodes', node) == 1 then publish('down ' .. node) end
end
-- node, value pairs of the live members of P:nodes; the dead ones are forgotten.
local function live_nodes()
	local members, keys, out = redis.call('SMEMBERS', p .. ':nodes'), {}, {}
	if #members == 0 then return out end
	for i, node in ipairs(members) do keys[i] = p .. ':node:' .. node end
	local values = redis.call('MGET', unpack(keys))
	for i, node in ipairs(members) do
		if values[i] then
			table.insert(out, node)
			table.insert(out, values[i])
		else
			forget_node(node)
		end
	end
	return out
end
]==]

local function script(body)
	return PRELUDE .. body
end

local function names_script(body)
	return PRELUDE .. NAMES .. body
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

-- Renew this node's membership, forget dead nodes (and their names), read
-- the live nodes and the master.  Names are not sent: "fresh" tells the
-- caller its membership key was missing or held another value (first
-- contact, a restart, the key expired while cut off, Redis lost its data),
-- so it must re-announce its names (script announce).
-- ARGV: prefix, node, "<address> <start>", lease_ms.
-- -> {fresh (1 or 0), live nodes (node, value, ...), master value or false,
--     highest epoch or false}
S.heartbeat = names_script [==[
local node, member, lease = ARGV[2], ARGV[3], ARGV[4]
local before = redis.call('SET', p .. ':node:' .. node, member, 'PX', lease, 'GET')
local fresh = before ~= member
if fresh then
	redis.call('SADD', p .. ':nodes', node)
	publish('up ' .. node .. ' ' .. string.match(member, '^(%S*)'))
end
return {fresh and 1 or 0, live_nodes(), redis.call('GET', p .. ':master'), redis.call('GET', p .. ':epoch')}
]==]

-- Re-announce every name of this node (after a fresh heartbeat or a
-- reconnect): re-create those that vanished, unless another live node holds
-- them now, and publish each one again (nodes may have dropped them).
-- ARGV: prefix, node, then name, addr pairs.
-- -> lost names: name, holder value, ...
S.announce = names_script [==[
local node, lost = ARGV[2], {}
for i = 3, #ARGV, 2 do
	local name, want = ARGV[i], node .. ' ' .. ARGV[i + 1]
	local current = redis.call('GET', name_key(name))
	local holder = live_owner(current)
	if holder and holder ~= node then
		table.insert(lost, name)
		table.insert(lost, current)
	else
		write_name(name, node, want, current)
		publish('registered ' .. name .. ' ' .. want)
	end
end
return lost
]==]

-- The whole state.  ARGV: prefix.
-- -> {master value or false, epoch or false, nodes (node, value, ...),
--     names (name, value, ...)}; dead nodes are forgotten, names of an owner
--     without membership are left out, stale index entries pruned.
S.snapshot = names_script [==[
local nodes, alive, names = live_nodes(), {}, {}
for i = 1, #nodes, 2 do alive[nodes[i]] = true end
for _, name in ipairs(redis.call('SMEMBERS', p .. ':names')) do
	local value = redis.call('GET', name_key(name))
	if not value then
		redis.call('SREM', p .. ':names', name)
	elseif alive[owner_of(value)] then
		table.insert(names, name)
		table.insert(names, value)
	end
end
return {redis.call('GET', p .. ':master'), redis.call('GET', p .. ':epoch'), nodes, names}
]==]

-- Release the master key if it is still "<node> <epoch>" (compare and delete).
-- ARGV: prefix, master value.  -> 1 released, 0 not ours any more.
S.release = script [==[
return release_master(ARGV[2])
]==]

-- Take a name.  ARGV: prefix, name, node, addr.
-- -> {1, announced} taken (announced 0: this node's membership is missing,
--    the name counts only once its heartbeat re-announces it),
--    {0, holder value} held by another live node.
S.register = names_script [==[
local name, node, addr = ARGV[2], ARGV[3], ARGV[4]
local current = redis.call('GET', name_key(name))
local holder = live_owner(current)
if holder and holder ~= node then return {0, current} end
local want = node .. ' ' .. addr
write_name(name, node, want, current)
if not node_alive(node) then return {1, 0} end
if current ~= want then publish('registered ' .. name .. ' ' .. want) end
return {1, 1}
]==]

-- The name, if its owner is alive.  ARGV: prefix, name.  -> value or false.
S.lookup = names_script [==[
local value = redis.call('GET', name_key(ARGV[2]))
return live_owner(value) and value
]==]

-- Drop a name if held by node/addr.  ARGV: prefix, name, node, addr.
S.unregister = names_script [==[
local name, want = ARGV[2], ARGV[3] .. ' ' .. ARGV[4]
if redis.call('GET', name_key(name)) ~= want then return 0 end
drop_name(name, want)
return 1
]==]

-- A node's first contact: drop names a previous run of this node left behind,
-- except those listed.  ARGV: prefix, node, then name, addr pairs kept.
S.hello = names_script [==[
local node, keep = ARGV[2], {}
for i = 3, #ARGV, 2 do keep[ARGV[i]] = node .. ' ' .. ARGV[i + 1] end
for _, name in ipairs(redis.call('SMEMBERS', held_key(node))) do
	local current = redis.call('GET', name_key(name))
	if current and owner_of(current) == node and keep[name] ~= current then
		drop_name(name, current)
	elseif not current or owner_of(current) ~= node then
		redis.call('SREM', held_key(node), name)
	end
end
return 1
]==]

-- A clean stop: release the master key if it is still "<node> <epoch>" (ARGV[3],
-- may be empty), drop the membership and every name of this node.
-- ARGV: prefix, node, master value or "".
S.leave = names_script [==[
local node = ARGV[2]
release_master(ARGV[3])
redis.call('DEL', p .. ':node:' .. node)
forget_node(node)
return 1
]==]

return S
