-- skynet.lua: the Lua API of a skynode service, compatible with skynet's.
--
-- Every message a service receives is handled by a task: a coroutine with a
-- record, taken from a small pool.  A task that waits (skynet.call, sleep,
-- wait) yields "SUSPEND" after recording which session will wake it; the
-- dispatcher below resumes it when the response, timer or error for that
-- session arrives.
-- Wake-ups, failed sessions and forked tasks are queued and run after the
-- current message, in that order, so a handler never re-enters another one.

local c = require "skynet.core"

local coroutine_resume = coroutine.resume
local coroutine_yield = coroutine.yield
local traceback = debug.traceback
local tinsert = table.insert
local tremove = table.remove

local skynet = {
	PTYPE_TEXT = 0,
	PTYPE_RESPONSE = 1,
	PTYPE_MULTICAST = 2,
	PTYPE_CLIENT = 3,
	PTYPE_SYSTEM = 4,
	PTYPE_HARBOR = 5,
	PTYPE_SOCKET = 6,
	PTYPE_ERROR = 7,
	PTYPE_QUEUE = 8,
	PTYPE_DEBUG = 9,
	PTYPE_LUA = 10,
	PTYPE_SNAX = 11,
	PTYPE_TRACE = 12,
}

local proto = {}               -- protocol by name and by id

-- Task bookkeeping.  A task is a record: co (its coroutine), session (of
-- the request it must answer, or false), source (the sender of that
-- request, or false), body (the function it runs when next resumed, or
-- false), args (what body is called with: a table.pack, or false) and,
-- once tracing is used, tag (its trace tag; false: tracing forced off).
-- Fields, not tables keyed by coroutine: every message reads and writes
-- them.
local waiting_task = {}        -- session -> task waiting for it, or "BREAK" (answer to drop)
local call_target = {}         -- session -> address a pending call went to
local sleep_session = {}       -- token -> session of a sleep/wait
local task_of = setmetatable({}, { __mode = "k" }) -- coroutine -> its task
local pending_responses = {}   -- response closure -> true until it is used
local trace_source = {}        -- address -> trace tag announced for its next request
local requests_traced = false  -- a protocol's trace flag or a trace_source was ever set

local wakeup_queue = {}        -- tokens woken by skynet.wakeup
local error_queue = {}         -- sessions whose call failed
local fork_queue = { head = 1, tail = 0 } -- tasks
local work_queued = false      -- something may wait in the three queues above

local running_task             -- the task being resumed, nil in the dispatcher
local init_task                -- the task running the start function
local exiting = false
local traceid = 0
local tracing = false          -- a trace tag has been set at least once

local PTYPE_RESPONSE = skynet.PTYPE_RESPONSE
local PTYPE_ERROR = skynet.PTYPE_ERROR
local PTYPE_TRACE = skynet.PTYPE_TRACE
local c_send = c.send

----------------------------------------------------------------------------
-- Task pool
----------------------------------------------------------------------------

local POOL_LIMIT = 256
local task_pool = {}
local pool_size = 0

-- The task will not answer its request: the caller gets an error.
local function fail_request(task)
	local session = task.session
	if session and session ~= 0 then
		c_send(task.source, PTYPE_ERROR, session, "")
	end
	task.session = false
	task.source = false
	if tracing then
		task.tag = nil
	end
end

-- The request the dispatcher resumes a task to run: it sets these just
-- before it resumes the task with REQUEST, and the task reads them first.
local REQUEST = {}
local request_dispatch, request_unpack, request_msg, request_sz

-- A request's body: unpack the message inside the task, so that a message
-- that does not unpack fails the task and its caller gets an error.  Warns
-- when the dispatch function left the request unanswered.
local function run_request(task)
	local f = request_dispatch
	f(task.session, task.source, request_unpack(request_msg, request_sz))
	local unanswered = task.session
	if unanswered then
		if unanswered ~= 0 then
			local info = debug.getinfo(f, "S")
			skynet.error(string.format("Maybe forgot response session %d from %s : %s:%d",
				unanswered, skynet.address(task.source), info.short_src, info.linedefined))
		end
		task.session = false
	end
	task.source = false
end

-- The life of a pooled task.  It is resumed with REQUEST to run a request,
-- else to run its body.  When that returns, the task parks in the pool and
-- yields; its next resume starts the next one (a tail call, so the stack
-- does not grow).  No varargs here: this runs for every message.
local function run_bodies(task, first)
	if first == REQUEST then
		run_request(task)
	else
		local f, args = task.body, task.args
		task.body, task.args = false, false
		if args then
			f(table.unpack(args, 1, args.n))
		else
			f()
		end
	end
	if tracing then
		task.tag = nil
	end
	if pool_size >= POOL_LIMIT then
		return "EXIT"
	end
	pool_size = pool_size + 1
	task_pool[pool_size] = task
	return run_bodies(task, coroutine_yield "EXIT")
end

local function take_task()
	local task = task_pool[pool_size]
	if task == nil then
		task = { session = false, source = false, body = false, args = false }
		task.co = coroutine.create(function(first)
			return run_bodies(task, first)
		end)
		task_of[task.co] = task
		return task
	end
	task_pool[pool_size] = nil
	pool_size = pool_size - 1
	return task
end

local function new_task(f)
	local task = take_task()
	task.body = f
	return task
end

----------------------------------------------------------------------------
-- Resuming tasks
----------------------------------------------------------------------------

local function task_failed(task, err)
	fail_request(task)
	task.body, task.args = false, false
	skynet.error(traceback(task.co, tostring(err)))
	coroutine.close(task.co)
end

-- Resume a task with up to three values and act on what it yielded:
-- "SUSPEND" (waits for a session), "EXIT" (finished, back in the pool) or
-- "QUIT" (the service exits).
local function resume(task, a, b, c)
	local previous = running_task
	running_task = task
	local ok, command = coroutine_resume(task.co, a, b, c)
	running_task = previous
	if not ok then
		return task_failed(task, command)
	end
	if command == "SUSPEND" or command == "EXIT" then
		return
	end
	if command == "QUIT" then
		coroutine.close(task.co)
	else
		task_failed(task, "a task yielded outside skynet (unknown command " .. tostring(command) .. ")")
	end
end

local function trace_resume(task)
	local tag = task.tag
	if tag then c.trace(tag, "resume") end
end

local function wake_one()
	local token = tremove(wakeup_queue, 1)
	if token ~= nil then
		local session = sleep_session[token]
		if session then
			local task = waiting_task[session]
			if type(task) == "table" then
				waiting_task[session] = "BREAK"
				if tracing then trace_resume(task) end
				resume(task, false, "BREAK")
			end
		end
		return true
	end
	local session = tremove(error_queue, 1)
	if session ~= nil then
		local task = waiting_task[session]
		waiting_task[session] = nil
		if type(task) == "table" then
			resume(task, false)
		end
		return true
	end
	local head = fork_queue.head
	if head <= fork_queue.tail then
		local task = fork_queue[head]
		fork_queue[head] = nil
		fork_queue.head = head + 1
		resume(task)
		return true
	end
	return false
end

local function drain_queues()
	repeat
		if exiting then return end
	until not wake_one()
	work_queued = false
end

----------------------------------------------------------------------------
-- Message dispatch
----------------------------------------------------------------------------

local function default_unknown_request(session, source, msg, sz, prototype)
	skynet.error(string.format("Unknown request (%s) from %s session %d, %d bytes",
		tostring(prototype), skynet.address(source), session, sz or 0))
end

local function default_unknown_response(session, source, msg, sz)
	skynet.error(string.format("Unknown response for session %d from %s, %d bytes",
		session, skynet.address(source), sz or 0))
end

local unknown_request = default_unknown_request
local unknown_response = default_unknown_response

function skynet.dispatch_unknown_request(f)
	local previous = unknown_request
	unknown_request = f
	return previous
end

function skynet.dispatch_unknown_response(f)
	local previous = unknown_response
	unknown_response = f
	return previous
end

local function refuse_request(prototype, session, source, msg, sz)
	if session ~= 0 then
		c_send(source, PTYPE_ERROR, session, "")
	end
	unknown_request(session, source, msg, sz, prototype)
end

local function new_trace_tag(info)
	traceid = traceid + 1
	local tag = string.format("%s-%d", skynet.address(skynet.self()), traceid)
	c.trace(tag, "trace", info)
	return tag
end

local function set_tracetag(task, tag)
	tracing = true
	task.tag = tag
end

local function start_trace(task, p, source)
	local tag = trace_source[source]
	if p.trace == false then
		trace_source[source] = nil
		set_tracetag(task, false)
	elseif tag then
		trace_source[source] = nil
		c.trace(tag, "request")
		set_tracetag(task, tag)
	elseif p.trace then
		set_tracetag(task, new_trace_tag())
	end
end

-- Every message other than a response or a request for a protocol with a
-- dispatch function.  These call functions the
-- service may have replaced, so the caller runs them protected.
local function handle_other(prototype, msg, sz, session, source)
	local p = proto[prototype]
	if p == nil then
		if prototype == PTYPE_TRACE then
			trace_source[source] = c.tostring(msg, sz)
			requests_traced = true
		else
			refuse_request(prototype, session, source, msg, sz)
		end
	elseif p.dispatch == nil then
		trace_source[source] = nil
		refuse_request(p.name, session, source, msg, sz)
	else -- PTYPE_ERROR
		p.dispatch(session, source, msg, sz)
	end
end

local function report_dispatch_error(session, source, sz, err)
	skynet.error(string.format("lua call [%s to %s : %d msgsz = %d] error : %s",
		skynet.address(source), skynet.address(skynet.self()), session, sz or 0, tostring(err)))
end

-- The callback installed by skynet.start: never raises into the runtime;
-- errors are logged with the message that caused them.  Responses resume
-- the task waiting for them; a request for a protocol with a dispatch
-- function runs in a new task (see run_request).  Tasks catch their own
-- errors, so only the other messages need a protected call.
function skynet.dispatch_message(prototype, msg, sz, session, source)
	if prototype == PTYPE_RESPONSE then
		local task = waiting_task[session]
		if task == nil then
			local ok, err = xpcall(unknown_response, traceback, session, source, msg, sz)
			if not ok then report_dispatch_error(session, source, sz, err) end
		elseif task == "BREAK" then
			waiting_task[session] = nil
		else
			waiting_task[session] = nil
			if tracing then trace_resume(task) end
			resume(task, true, msg, sz)
		end
	else
		local p = proto[prototype]
		if p and p.dispatch and prototype ~= PTYPE_ERROR then
			local task = take_task()
			task.session, task.source = session, source
			if requests_traced and (p.trace ~= nil or trace_source[source]) then
				start_trace(task, p, source)
			end
			request_dispatch, request_unpack, request_msg, request_sz = p.dispatch, p.unpack, msg, sz
			resume(task, REQUEST)
		else
			local ok, err = xpcall(handle_other, traceback, prototype, msg, sz, session, source)
			if not ok then report_dispatch_error(session, source, sz, err) end
		end
	end
	if work_queued then
		drain_queues()
	end
end

-- Errors: a PTYPE_ERROR with a session fails that call; with session 0 it
-- says its source is gone, failing every call still waiting on it.
local function error_dispatch(session, source)
	if session == 0 then
		for s, target in pairs(call_target) do
			if target == source then
				tinsert(error_queue, s)
				work_queued = true
			end
		end
	elseif call_target[session] ~= nil then
		tinsert(error_queue, session)
		work_queued = true
	elseif waiting_task[session] == "BREAK" then
		waiting_task[session] = nil
	end
end

----------------------------------------------------------------------------
-- Protocols
----------------------------------------------------------------------------

function skynet.register_protocol(class)
	local name, id = class.name, class.id
	assert(type(name) == "string" and math.type(id) == "integer" and id >= 0 and id <= 255,
		"register_protocol needs a string name and an integer id in 0..255")
	assert(proto[name] == nil and proto[id] == nil,
		"protocol " .. name .. " (" .. id .. ") is already registered")
	proto[name] = class
	proto[id] = class
	if class.trace ~= nil then
		requests_traced = true
	end
end

function skynet.dispatch(typename, func)
	local p = proto[typename]
	if func then
		assert(p, "unknown protocol " .. tostring(typename))
		local previous = p.dispatch
		p.dispatch = func
		return previous
	end
	return p and p.dispatch
end

local function protocol(typename)
	return proto[typename] or error("unknown protocol " .. tostring(typename), 3)
end

----------------------------------------------------------------------------
-- Addresses, environment, clock, logging
----------------------------------------------------------------------------

local self_handle

function skynet.self()
	if self_handle == nil then
		self_handle = c.addresscommand "REG"
	end
	return self_handle
end

function skynet.localname(name)
	return c.addresscommand("QUERY", name)
end

function skynet.address(addr)
	if type(addr) == "number" then
		return string.format(":%08x", addr)
	end
	return tostring(addr)
end

function skynet.harbor(addr)
	return c.harbor(addr)
end

function skynet.error(...)
	local n = select("#", ...)
	local parts = {}
	for i = 1, n do
		parts[i] = tostring((select(i, ...)))
	end
	c.error(table.concat(parts, " "))
end

function skynet.getenv(key)
	return c.command("GETENV", key)
end

function skynet.setenv(key, value)
	assert(c.command("GETENV", key) == nil, "Can't setenv exist key : " .. key)
	c.command("SETENV", key .. " " .. value)
end

local start_seconds

function skynet.starttime()
	if start_seconds == nil then
		start_seconds = c.intcommand "STARTTIME"
	end
	return start_seconds
end

skynet.now = c.now
skynet.hpc = c.hpc

function skynet.time()
	return skynet.now() / 100 + skynet.starttime()
end

function skynet.stat(what)
	return c.intcommand("STAT", what)
end

skynet.mqlen = c.mqlen

skynet.pack = c.pack
skynet.packstring = c.packstring
skynet.unpack = c.unpack
skynet.tostring = c.tostring
skynet.trash = c.trash

function skynet.memlimit(bytes)
	debug.getregistry().memlimit = bytes
	skynet.memlimit = nil -- only once, before the service starts
end

----------------------------------------------------------------------------
-- Sending and calling
----------------------------------------------------------------------------

local function announce_trace(addr)
	local tag = running_task.tag
	if tag then
		c.trace(tag, "call", skynet.address(addr))
		c_send(addr, PTYPE_TRACE, 0, tag)
	end
end

-- Sends a request and waits for the answer; returns its msg, sz.  Errors
-- are reported at the caller of skynet.call / rawcall.
local function request(addr, id, msg, sz)
	if tracing then announce_trace(addr) end
	local session = c_send(addr, id, nil, msg, sz)
	if session == nil then
		error("call to invalid address " .. skynet.address(addr), 3)
	end
	call_target[session] = addr
	waiting_task[session] = running_task
	local ok, answer, answer_sz = coroutine_yield "SUSPEND"
	call_target[session] = nil
	if not ok then
		error(string.format("call failed: %s answered session %d with an error (it refused the request, raised an error or exited)",
			skynet.address(addr), session), 3)
	end
	return answer, answer_sz
end

function skynet.call(addr, typename, ...)
	local p = proto[typename] or protocol(typename)
	return p.unpack(request(addr, p.id, p.pack(...)))
end

function skynet.rawcall(addr, typename, msg, sz)
	local p = proto[typename] or protocol(typename)
	return request(addr, p.id, msg, sz)
end

function skynet.send(addr, typename, ...)
	local p = proto[typename] or protocol(typename)
	return c_send(addr, p.id, 0, p.pack(...))
end

function skynet.rawsend(addr, typename, msg, sz)
	local p = proto[typename] or protocol(typename)
	return c_send(addr, p.id, 0, msg, sz)
end

function skynet.redirect(dest, source, typename, ...)
	return c.redirect(dest, source, protocol(typename).id, ...)
end

function skynet.genid()
	return c.genid()
end

----------------------------------------------------------------------------
-- Answering requests
----------------------------------------------------------------------------

function skynet.ret(msg, sz)
	msg = msg or ""
	local task = running_task
	local session = task and task.session
	if not session then
		if sz ~= nil then c.trash(msg, sz) end
		error("No session: skynet.ret called twice, or outside a request", 2)
	end
	local source = task.source
	task.session = false
	if tracing and task.tag then c.trace(task.tag, "response") end
	if session == 0 then
		if sz ~= nil then c.trash(msg, sz) end
		return false
	end
	return c_send(source, PTYPE_RESPONSE, session, msg, sz) ~= nil
end

function skynet.retpack(...)
	return skynet.ret(skynet.pack(...))
end

function skynet.context()
	local task = running_task
	if task then
		return task.session or nil, task.source or nil
	end
end

function skynet.ignoreret()
	running_task.session = false
end

-- A closure answering the current request later, from any task.  Calling it
-- with ok = false sends an error; "TEST" asks whether it is still unused.
function skynet.response(pack)
	pack = pack or skynet.pack
	local task = running_task
	local session = task and task.session
	if not session then
		error("No session: skynet.response called twice, or outside a request", 2)
	end
	local source = task.source
	task.session = false
	if session == 0 then
		return function() end
	end
	local response
	response = function(ok, ...)
		if ok == "TEST" then
			return pending_responses[response] ~= nil
		end
		if not pending_responses[response] then
			error("Can't response more than once", 2)
		end
		pending_responses[response] = nil
		if ok then
			return c_send(source, PTYPE_RESPONSE, session, pack(...)) ~= nil
		end
		return c_send(source, PTYPE_ERROR, session, "") ~= nil
	end
	pending_responses[response] = true
	return response
end

----------------------------------------------------------------------------
-- Tasks: fork, sleep, timeout, wait, wakeup
----------------------------------------------------------------------------

function skynet.fork(func, ...)
	local task = new_task(func)
	if select("#", ...) > 0 then
		task.args = table.pack(...)
	end
	local tail = fork_queue.tail + 1
	fork_queue[tail] = task
	fork_queue.tail = tail
	work_queued = true
	return task.co
end

function skynet.timeout(ti, func)
	local session = c.intcommand("TIMEOUT", ti)
	assert(session, "the runtime refused a timer")
	local task = new_task(func)
	assert(waiting_task[session] == nil, "timer session reused")
	waiting_task[session] = task
	return task.co
end

-- Suspend until session answers or the token is woken; ok is false on wakeup.
local function suspend_on(session, token)
	local tag = running_task.tag
	if tag then c.trace(tag, "sleep") end
	assert(sleep_session[token] == nil, "token duplicative: this token is already sleeping")
	waiting_task[session] = running_task
	sleep_session[token] = session
	local ok, reason = coroutine_yield "SUSPEND"
	sleep_session[token] = nil
	return ok, reason
end

function skynet.sleep(ti, token)
	local session = c.intcommand("TIMEOUT", ti)
	assert(session, "the runtime refused a timer")
	local ok, reason = suspend_on(session, token or running_task.co)
	if ok then
		return
	end
	if reason == "BREAK" then
		return "BREAK"
	end
	error(reason)
end

function skynet.yield()
	return skynet.sleep(0)
end

function skynet.wait(token)
	local session = c.genid()
	suspend_on(session, token or running_task.co)
	waiting_task[session] = nil
end

function skynet.wakeup(token)
	if sleep_session[token] then
		tinsert(wakeup_queue, token)
		work_queued = true
		return true
	end
	return false
end

----------------------------------------------------------------------------
-- Introspection: task, killthread, term, trace
----------------------------------------------------------------------------

-- session -> coroutine of every waiting task
local function task_sessions()
	local list = {}
	for session, task in pairs(waiting_task) do
		if type(task) == "table" then
			list[session] = task.co
		end
	end
	return list
end

-- skynet.task() counts waiting tasks; task(t) fills t with session ->
-- traceback; task(session) returns that task's traceback; task("init") the
-- start function's.
function skynet.task(query)
	if query == nil then
		local n = 0
		for _ in pairs(task_sessions()) do n = n + 1 end
		return n
	end
	if query == "init" then
		return init_task and traceback(init_task)
	end
	if type(query) == "table" then
		for session, task in pairs(task_sessions()) do
			query[session] = traceback(task)
		end
		return query
	end
	local task = waiting_task[query]
	if type(task) == "table" then
		return traceback(task.co)
	end
end

-- Tasks grouped by where they wait: traceback -> { n = count, sessions }.
function skynet.uniqtask()
	local groups = {}
	for session, task in pairs(task_sessions()) do
		local where = traceback(task)
		local group = groups[where]
		if group == nil then
			group = { n = 0, sessions = {} }
			groups[where] = group
		end
		group.n = group.n + 1
		tinsert(group.sessions, session)
	end
	return groups
end

-- Stop a waiting task (a thread, or its tostring()); its caller gets an error.
function skynet.killthread(target)
	local session, co
	for s, t in pairs(task_sessions()) do
		if t == target or tostring(t) == target then
			session, co = s, t
			break
		end
	end
	if co == nil then
		return
	end
	fail_request(task_of[co])
	waiting_task[session] = "BREAK"
	call_target[session] = nil
	for token, s in pairs(sleep_session) do
		if s == session then
			sleep_session[token] = nil
			break
		end
	end
	coroutine.close(co)
	return co
end

-- Treat addr as dead: every call waiting on it fails.
function skynet.term(addr)
	error_dispatch(0, addr)
end

function skynet.trace(info)
	local task = running_task
	if task.tag == false then
		return
	end
	set_tracetag(task, new_trace_tag(info))
end

function skynet.tracetag()
	return running_task.tag
end

-- Turn tracing of every request of a protocol on (true), off (false) or back
-- to following the callers (nil).
function skynet.traceproto(typename, flag)
	protocol(typename).trace = flag
	requests_traced = true
end

skynet.tracelog = skynet.traceproto

----------------------------------------------------------------------------
-- Services: start, exit, newservice
----------------------------------------------------------------------------

function skynet.newservice(name, ...)
	return skynet.call(".launcher", "lua", "LAUNCH", "snlua", name, ...)
end

-- The coordinator, when this deployment has one (lualib/skynet/coord.lua
-- with uniqueservice and queryservice), owns global unique services;
-- otherwise service_mgr does.  Looked up once.
local coord_lib

local function coordinator()
	if coord_lib == nil then
		local found, coord = pcall(require, "skynet.coord")
		coord_lib = found and type(coord) == "table" and coord.uniqueservice and coord or false
	end
	return coord_lib or nil
end

function skynet.uniqueservice(global, ...)
	if global == true then
		local coord = coordinator()
		if coord then
			return assert(coord.uniqueservice(...))
		end
		return assert(skynet.call(".service", "lua", "GLAUNCH", ...))
	end
	return assert(skynet.call(".service", "lua", "LAUNCH", global, ...))
end

function skynet.queryservice(global, ...)
	if global == true then
		local coord = coordinator()
		if coord then
			return assert(coord.queryservice(...))
		end
		return assert(skynet.call(".service", "lua", "GQUERY", ...))
	end
	return assert(skynet.call(".service", "lua", "QUERY", global, ...))
end

-- Fail every request this service still owes, and tell the services it is
-- calling that it is gone.
local function fail_pending()
	if running_task then
		fail_request(running_task)
	end
	for _, task in pairs(waiting_task) do
		if type(task) == "table" then
			fail_request(task)
		end
	end
	for response in pairs(pending_responses) do
		response(false)
	end
	local called = {}
	for _, target in pairs(call_target) do
		called[target] = true
	end
	for target in pairs(called) do
		c_send(target, PTYPE_ERROR, 0, "")
	end
end

local function close_waiting_tasks()
	for _, task in pairs(waiting_task) do
		if type(task) == "table" and task ~= running_task then
			coroutine.close(task.co)
		end
	end
end

-- A killed service never runs skynet.exit: its Lua state is closed, which
-- runs this finalizer, so its callers still get their errors.
debug.getregistry()[fail_pending] = setmetatable({}, {
	__gc = function()
		if not exiting then
			fail_pending()
		end
	end,
})

function skynet.exit()
	exiting = true
	fork_queue = { head = 1, tail = 0 }
	skynet.send(".launcher", "lua", "REMOVE", skynet.self(), false)
	fail_pending()
	close_waiting_tasks()
	c.callback(function(_, _, _, session, source)
		if session ~= 0 and source ~= 0 then
			c_send(source, PTYPE_ERROR, session, "")
		end
	end)
	c.command "EXIT"
	if running_task then
		coroutine_yield "QUIT"
	end
end

local init_functions = {}

-- Run f before the start function (skynet.init from skynet's require module).
function skynet.init(f)
	if init_functions then
		tinsert(init_functions, f)
	else
		f()
	end
end

local function run_start(start)
	local inits = init_functions
	init_functions = nil
	for _, f in ipairs(inits) do
		f()
	end
	start()
end

function skynet.init_service(start)
	local ok, err = xpcall(run_start, traceback, start)
	if not ok then
		skynet.error("init service failed: " .. tostring(err))
		skynet.send(".launcher", "lua", "ERROR")
		skynet.exit()
	else
		skynet.send(".launcher", "lua", "LAUNCHOK")
	end
end

function skynet.start(start)
	c.callback(skynet.dispatch_message)
	init_task = skynet.timeout(0, function()
		skynet.init_service(start)
		init_task = nil
	end)
end

----------------------------------------------------------------------------
-- Shutdown hook (skynode extension)
----------------------------------------------------------------------------

local shutdown_hooks

local function run_shutdown_hooks(_, _, text)
	if text ~= "SHUTDOWN" then
		return
	end
	for _, hook in ipairs(shutdown_hooks) do
		local ok, err = xpcall(hook, traceback)
		if not ok then
			skynet.error("shutdown hook failed: " .. tostring(err))
		end
	end
	c.command "SHUTDOWNDONE"
end

-- fn runs in a task when the node stops (abort, SIGTERM); the node waits for
-- it (at most 500 ms) before killing the services.
function skynet.onshutdown(fn)
	if shutdown_hooks == nil then
		shutdown_hooks = {}
		skynet.register_protocol {
			name = "system",
			id = skynet.PTYPE_SYSTEM,
			unpack = c.tostring,
			dispatch = run_shutdown_hooks,
		}
		c.command "SHUTDOWNHOOK"
	end
	tinsert(shutdown_hooks, fn)
end

----------------------------------------------------------------------------
-- Built-in protocols and the debug protocol
----------------------------------------------------------------------------

skynet.register_protocol {
	name = "lua",
	id = skynet.PTYPE_LUA,
	pack = skynet.pack,
	unpack = skynet.unpack,
}

skynet.register_protocol {
	name = "response",
	id = skynet.PTYPE_RESPONSE,
}

skynet.register_protocol {
	name = "error",
	id = skynet.PTYPE_ERROR,
	unpack = function(...) return ... end,
	dispatch = error_dispatch,
}

require("skynet.debug").init(skynet)

return skynet
