/*
 * lua_cluster.c: the cluster wire codec, Lua module "skynet.cluster.core".
 *
 * Turns cluster requests and responses into the packets of
 * spec/cluster-protocol.md and back.  Every packet is a 2-byte big-endian
 * length (not counting itself) followed by the payload; integers inside the
 * payload are 32-bit little-endian.  The services clustersender,
 * clusteragent and clusterd use this module; it keeps no state.
 *
 * A body is given as (msg, sz), a lightuserdata and its size, or as a
 * string; nil means an empty body.
 *
 * packrequest(addr, session, msg, sz) -> packet, next_session [, size]
 * packpush(addr, session, msg, sz)    -> packet, next_session [, size]
 *   addr is an integer (numeric address) or a 1..255-byte name.  session
 *   must be 1..0x7FFFFFFF ("Invalid request session N" otherwise).  A
 *   lightuserdata body is freed here.  A body under 0x8000 bytes gives one
 *   packet, a string.  A larger one gives the multi-part header and every
 *   piece packet after it in one heap buffer: packet is its lightuserdata,
 *   size its length, and it is the caller's (to send, or free).
 *   next_session is the counter value to use next: session + 1, wrapping
 *   from 0x7FFFFFFF to 1, except after a single push, which writes session
 *   0 and uses no session (next_session is then session, unchanged).
 * packtrace(tag) -> packet
 *
 * unpackrequest(payload) / unpackrequest(msg, sz), the payload without its
 * length header (msg is not freed), returns according to the first byte:
 *   trace           tag                                (session is nil)
 *   single request  addr, session, body, size, false, is_push
 *   multi header    addr, session, nil, total, true, is_push
 *   piece           false, session, body, size, more, false
 *   body is a string, except for a piece of a payload given as (msg, sz):
 *   then a lightuserdata pointing into msg (valid while msg is), so that
 *   append copies it only once.  is_push is true for a single request
 *   with session 0 and for multi push headers; more is true for 0x02
 *   pieces, false for the last (0x03).  The fifth value ("padding") is true when more packets
 *   of this session follow.  Malformed payloads raise an error.
 *
 * packresponse(session, ok, msg, sz) -> packet [, size]
 *   packet is a string, or for an ok body over 0x8000 bytes a heap buffer
 *   (and its size) holding the begin, part and end packets: the caller's.
 *   An error body (ok false) is raw text, converted with tostring if
 *   needed, and cut to 0x8000 bytes.  msg is not freed and is left
 *   unchanged.
 * unpackresponse(payload) / (msg, sz) -> session, ok, data, padding [, size]
 *   data is the text or body string, or for a multi begin the announced
 *   total (integer).  For a part or an end, size follows and data is a
 *   piece as unpackrequest gives one.  padding is true for begin and
 *   middle parts.  An invalid packet returns nothing: the caller closes
 *   the connection.
 *
 * collect(total) -> a collector: the buffer a large message of total bytes
 *   is put together in (freed with the collector unless taken by concat).
 * append(collector, piece [, sz]) -> true; false, adding nothing, when the
 *   piece (a string, or lightuserdata+sz, not freed) would make the
 *   message longer than its total.
 * concat(collector) -> msg, sz once the message is complete: the heap
 *   buffer, now the caller's; nothing while pieces are missing.
 *
 * isname(addr) -> true for a string starting with '@' (a cluster registry
 *   name), else false.
 * nodename() -> host name with bytes <= 0x20 replaced by '_', then the pid.
 */
#include "skynet.h"

#include <lua.h>
#include <lauxlib.h>

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define MULTI_PART 0x8000     /* largest piece of a multi-part body */
#define NAME_MAX_LEN 255      /* names carry their length in one byte */
#define SESSION_MAX 0x7FFFFFFF
#define PIECE_HEAD 7          /* length, then type+session or session+type */
#define SCRATCH_SIZE 0x8200   /* holds the largest packet produced */

/* Request payload types (first byte) */
#define REQ_SINGLE 0x00
#define REQ_MULTI 0x01
#define REQ_MORE 0x02
#define REQ_LAST 0x03
#define REQ_TRACE 0x04
#define REQ_PUSH_BIT 0x40
#define REQ_NAME_BIT 0x80

/* Response type byte (after the session) */
#define RESP_ERROR 0
#define RESP_OK 1
#define RESP_BEGIN 2
#define RESP_PART 3
#define RESP_END 4

struct body {
	const uint8_t *data;
	size_t size;
	void *heap;   /* the lightuserdata, or NULL for a string body */
};

struct address {
	uint32_t number;
	const char *name; /* NULL for a numeric address */
	size_t name_len;
};

static void put_u16be(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_u32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Reads a body at index i (and its size at i+1).  Raises on bad types. */
static void read_body(lua_State *L, int i, struct body *b)
{
	b->heap = NULL;
	switch (lua_type(L, i)) {
	case LUA_TLIGHTUSERDATA: {
		lua_Integer sz = luaL_checkinteger(L, i + 1);
		if (sz < 0)
			luaL_error(L, "Invalid message size %d", (int)sz);
		b->heap = lua_touserdata(L, i);
		b->data = b->heap;
		b->size = (size_t)sz;
		if (b->data == NULL && sz > 0)
			luaL_error(L, "NULL message with size %d", (int)sz);
		break;
	}
	case LUA_TNIL:
	case LUA_TNONE:
		b->data = NULL;
		b->size = 0;
		break;
	default:
		b->data = (const uint8_t *)luaL_checklstring(L, i, &b->size);
	}
}

/* The payload argument; *is_heap tells a (msg, sz) one from a string. */
static const uint8_t *read_payload(lua_State *L, size_t *size, int *is_heap)
{
	struct body b;
	read_body(L, 1, &b);
	*size = b.size;
	*is_heap = b.heap != NULL;
	return b.data;
}

/* Pushes the string head..data as one packet (built on the C stack). */
static void push_joined(lua_State *L, const uint8_t *head, size_t head_len,
                        const uint8_t *data, size_t data_len)
{
	uint8_t scratch[SCRATCH_SIZE];
	memcpy(scratch, head, head_len);
	if (data_len > 0)
		memcpy(scratch + head_len, data, data_len);
	lua_pushlstring(L, (const char *)scratch, head_len + data_len);
}

static size_t piece_count(size_t size)
{
	return (size + MULTI_PART - 1) / MULTI_PART;
}

/* Writes the 7-byte head of a piece of n bytes (the last one or not). */
typedef void (*piece_head)(uint8_t head[PIECE_HEAD], uint32_t session,
                           int last, size_t n);

/*
 * Pushes a heap buffer (lightuserdata) and its size: first (first_len
 * bytes, the multi-part header or begin packet), then every piece of the
 * body behind its head, each byte copied once.  The caller owns it.
 */
static void push_large(lua_State *L, const uint8_t *first, size_t first_len,
                       uint32_t session, const struct body *b,
                       piece_head put_head)
{
	size_t count = piece_count(b->size);
	size_t total = first_len + b->size + count * PIECE_HEAD;
	uint8_t *out = skynet_malloc(total);
	memcpy(out, first, first_len);
	uint8_t *p = out + first_len;
	for (size_t i = 0; i < count; i++) {
		size_t offset = i * MULTI_PART;
		size_t n = b->size - offset < MULTI_PART ? b->size - offset
		                                          : MULTI_PART;
		put_head(p, session, i + 1 == count, n);
		memcpy(p + PIECE_HEAD, b->data + offset, n);
		p += PIECE_HEAD + n;
	}
	lua_pushlightuserdata(L, out);
	lua_pushinteger(L, (lua_Integer)total);
}

/* The n bytes of a piece at p: a lightuserdata into a heap payload, else
 * a string. */
static void push_piece_data(lua_State *L, const uint8_t *p, size_t n,
                            int is_heap)
{
	if (is_heap)
		lua_pushlightuserdata(L, (void *)p);
	else
		lua_pushlstring(L, (const char *)p, n);
}

/* ---- requests ---- */

/* Returns an error text, or NULL when the address at index i is valid. */
static const char *read_address(lua_State *L, int i, struct address *a)
{
	switch (lua_type(L, i)) {
	case LUA_TNUMBER:
		a->name = NULL;
		a->number = (uint32_t)lua_tointeger(L, i); /* 0 if not integral */
		return NULL;
	case LUA_TSTRING:
		a->name = lua_tolstring(L, i, &a->name_len);
		if (a->name_len == 0 || a->name_len > NAME_MAX_LEN)
			return "Invalid cluster name: it must be 1..255 bytes";
		return NULL;
	default:
		return "Invalid cluster address: need an integer or a name";
	}
}

/* Writes type, address and session at p; returns the bytes written. */
static size_t put_request_head(uint8_t *p, uint8_t type,
                               const struct address *a, uint32_t session)
{
	if (a->name == NULL) {
		p[0] = type;
		put_u32le(p + 1, a->number);
		put_u32le(p + 5, session);
		return 9;
	}
	p[0] = type | REQ_NAME_BIT;
	p[1] = (uint8_t)a->name_len;
	memcpy(p + 2, a->name, a->name_len);
	put_u32le(p + 2 + a->name_len, session);
	return 6 + a->name_len;
}

static void push_single_request(lua_State *L, const struct address *a,
                                uint32_t session, const struct body *b)
{
	uint8_t head[2 + 6 + NAME_MAX_LEN];
	size_t n = put_request_head(head + 2, REQ_SINGLE, a, session);
	put_u16be(head, n + b->size);
	push_joined(L, head, 2 + n, b->data, b->size);
}

static void request_piece_head(uint8_t head[PIECE_HEAD], uint32_t session,
                               int last, size_t n)
{
	put_u16be(head, n + 5);
	head[2] = last ? REQ_LAST : REQ_MORE;
	put_u32le(head + 3, session);
}

/* The multi-part header, then the pieces, as one heap buffer. */
static void push_multi_request(lua_State *L, const struct address *a,
                               uint32_t session, int is_push,
                               const struct body *b)
{
	uint8_t head[2 + 10 + NAME_MAX_LEN];
	uint8_t type = REQ_MULTI | (is_push ? REQ_PUSH_BIT : 0);
	size_t n = put_request_head(head + 2, type, a, session);
	put_u32le(head + 2 + n, (uint32_t)b->size);
	put_u16be(head, n + 4);
	push_large(L, head, 2 + n + 4, session, b, request_piece_head);
}

static int pack_request(lua_State *L, int is_push)
{
	struct body b;
	struct address a;
	read_body(L, 3, &b);
	const char *err = read_address(L, 1, &a);
	int isnum;
	int session = (int)lua_tointegerx(L, 2, &isnum);
	if (err == NULL && b.size > UINT32_MAX)
		err = "Invalid cluster message: larger than 4 GiB";
	if (err != NULL || !isnum || session <= 0) {
		skynet_free(b.heap);
		if (err != NULL)
			return luaL_error(L, "%s", err);
		return luaL_error(L, "Invalid request session %d", session);
	}
	int next = session == SESSION_MAX ? 1 : session + 1;
	if (b.size < MULTI_PART) {
		push_single_request(L, &a, is_push ? 0 : (uint32_t)session, &b);
		lua_pushinteger(L, is_push ? session : next);
		skynet_free(b.heap);
		return 2;
	}
	push_multi_request(L, &a, (uint32_t)session, is_push, &b);
	lua_pushinteger(L, next);
	lua_rotate(L, -2, 1); /* packet, size, next -> packet, next, size */
	skynet_free(b.heap);
	return 3;
}

static int lpackrequest(lua_State *L) { return pack_request(L, 0); }

static int lpackpush(lua_State *L) { return pack_request(L, 1); }

static int lpacktrace(lua_State *L)
{
	size_t len;
	const char *tag = luaL_checklstring(L, 1, &len);
	if (len > MULTI_PART)
		return luaL_error(L, "trace tag is too long");
	uint8_t head[3];
	put_u16be(head, len + 1);
	head[2] = REQ_TRACE;
	push_joined(L, head, 3, (const uint8_t *)tag, len);
	return 1;
}

/* Pushes the address at p (size left bytes); returns its encoded length. */
static size_t push_name_address(lua_State *L, const uint8_t *p, size_t size,
                                size_t fixed)
{
	if (size < 2 || size < (size_t)p[1] + fixed)
		luaL_error(L, "Invalid cluster message size %d (name %d)", (int)size,
		           size < 2 ? 0 : p[1]);
	lua_pushlstring(L, (const char *)p + 2, p[1]);
	return 2 + p[1];
}

static int unpack_single(lua_State *L, const uint8_t *p, size_t size)
{
	size_t at;
	if (p[0] & REQ_NAME_BIT) {
		at = push_name_address(L, p, size, 6);
	} else {
		if (size < 9)
			return luaL_error(L, "Invalid cluster message size %d", (int)size);
		lua_pushinteger(L, get_u32le(p + 1));
		at = 5;
	}
	uint32_t session = get_u32le(p + at);
	lua_pushinteger(L, session);
	lua_pushlstring(L, (const char *)p + at + 4, size - at - 4);
	lua_pushinteger(L, (lua_Integer)(size - at - 4));
	lua_pushboolean(L, 0);
	lua_pushboolean(L, session == 0);
	return 6;
}

static int unpack_multi_header(lua_State *L, const uint8_t *p, size_t size)
{
	size_t at;
	if (p[0] & REQ_NAME_BIT) {
		at = push_name_address(L, p, size, 10);
	} else {
		if (size != 13)
			return luaL_error(L, "Invalid cluster message size %d "
			                     "(multi header must be 13)", (int)size);
		lua_pushinteger(L, get_u32le(p + 1));
		at = 5;
	}
	lua_pushinteger(L, get_u32le(p + at));
	lua_pushnil(L);
	lua_pushinteger(L, get_u32le(p + at + 4));
	lua_pushboolean(L, 1);
	lua_pushboolean(L, (p[0] & REQ_PUSH_BIT) != 0);
	return 6;
}

static int unpack_piece(lua_State *L, const uint8_t *p, size_t size,
                        int is_heap)
{
	if (size < 5)
		return luaL_error(L, "Invalid cluster multi part size %d", (int)size);
	lua_pushboolean(L, 0);
	lua_pushinteger(L, get_u32le(p + 1));
	push_piece_data(L, p + 5, size - 5, is_heap);
	lua_pushinteger(L, (lua_Integer)(size - 5));
	lua_pushboolean(L, p[0] == REQ_MORE);
	lua_pushboolean(L, 0);
	return 6;
}

static int lunpackrequest(lua_State *L)
{
	size_t size;
	int is_heap;
	const uint8_t *p = read_payload(L, &size, &is_heap);
	if (size == 0)
		return luaL_error(L, "Invalid req package. size == 0");
	switch (p[0]) {
	case REQ_SINGLE:
	case REQ_SINGLE | REQ_NAME_BIT:
		return unpack_single(L, p, size);
	case REQ_MULTI:
	case REQ_MULTI | REQ_PUSH_BIT:
	case REQ_MULTI | REQ_NAME_BIT:
	case REQ_MULTI | REQ_NAME_BIT | REQ_PUSH_BIT:
		return unpack_multi_header(L, p, size);
	case REQ_MORE:
	case REQ_LAST:
		return unpack_piece(L, p, size, is_heap);
	case REQ_TRACE:
		lua_pushlstring(L, (const char *)p + 1, size - 1);
		return 1;
	default:
		return luaL_error(L, "Invalid req package type %d", p[0]);
	}
}

/* ---- responses ---- */

static void put_response_head(uint8_t head[PIECE_HEAD], uint32_t session,
                              uint8_t type, size_t n)
{
	put_u16be(head, n + 5);
	put_u32le(head + 2, session);
	head[6] = type;
}

static void response_piece_head(uint8_t head[PIECE_HEAD], uint32_t session,
                                int last, size_t n)
{
	put_response_head(head, session, last ? RESP_END : RESP_PART, n);
}

/* The begin packet, then the parts and the end, as one heap buffer. */
static void push_response_parts(lua_State *L, uint32_t session,
                                const struct body *b)
{
	uint8_t begin[2 + 9];
	put_response_head(begin, session, RESP_BEGIN, 4);
	put_u32le(begin + PIECE_HEAD, (uint32_t)b->size);
	push_large(L, begin, sizeof(begin), session, b, response_piece_head);
}

/* Reads the error text at index 3: raw bytes, or any value's tostring. */
static void read_error_text(lua_State *L, struct body *b)
{
	int t = lua_type(L, 3);
	if (t == LUA_TLIGHTUSERDATA || t == LUA_TSTRING || t <= LUA_TNIL) {
		read_body(L, 3, b);
	} else {
		b->heap = NULL;
		b->data = (const uint8_t *)luaL_tolstring(L, 3, &b->size);
	}
	if (b->size > MULTI_PART)
		b->size = MULTI_PART;
}

static int lpackresponse(lua_State *L)
{
	uint32_t session = (uint32_t)luaL_checkinteger(L, 1);
	int ok = lua_toboolean(L, 2);
	struct body b;
	if (ok)
		read_body(L, 3, &b);
	else
		read_error_text(L, &b);
	if (ok && b.size > UINT32_MAX)
		return luaL_error(L, "Invalid cluster response: larger than 4 GiB");
	if (ok && b.size > MULTI_PART) {
		push_response_parts(L, session, &b);
		return 2;
	}
	uint8_t head[PIECE_HEAD];
	put_response_head(head, session, ok ? RESP_OK : RESP_ERROR, b.size);
	push_joined(L, head, PIECE_HEAD, b.data, b.size);
	return 1;
}

static int lunpackresponse(lua_State *L)
{
	size_t size;
	int is_heap;
	const uint8_t *p = read_payload(L, &size, &is_heap);
	if (size < 5)
		return 0;
	uint8_t type = p[4];
	if (type > RESP_END || (type == RESP_BEGIN && size != 9))
		return 0;
	lua_pushinteger(L, get_u32le(p));
	lua_pushboolean(L, type != RESP_ERROR);
	int piece = type == RESP_PART || type == RESP_END;
	if (type == RESP_BEGIN)
		lua_pushinteger(L, get_u32le(p + 5));
	else if (piece)
		push_piece_data(L, p + 5, size - 5, is_heap);
	else
		lua_pushlstring(L, (const char *)p + 5, size - 5);
	lua_pushboolean(L, type == RESP_BEGIN || type == RESP_PART);
	if (!piece)
		return 4;
	lua_pushinteger(L, (lua_Integer)(size - 5));
	return 5;
}

/* ---- reassembly ---- */

#define COLLECTOR "skynet.cluster.collector"
/* Allocated at once; a larger announced total grows as its pieces come
 * (a peer's header alone does not get it more memory). */
#define COLLECT_AT_ONCE (8u << 20)

struct collector {
	uint8_t *buffer;
	size_t total;   /* announced */
	size_t filled;
	size_t cap;
};

static int collector_gc(lua_State *L)
{
	struct collector *c = luaL_checkudata(L, 1, COLLECTOR);
	skynet_free(c->buffer);
	c->buffer = NULL;
	return 0;
}

static int lcollect(lua_State *L)
{
	lua_Integer total = luaL_checkinteger(L, 1);
	if (total < 0 || total > UINT32_MAX)
		return luaL_error(L, "Invalid large message size %I", total);
	struct collector *c = lua_newuserdatauv(L, sizeof(*c), 0);
	c->buffer = NULL;
	luaL_setmetatable(L, COLLECTOR);
	c->total = (size_t)total;
	c->filled = 0;
	c->cap = c->total < COLLECT_AT_ONCE ? c->total : COLLECT_AT_ONCE;
	c->buffer = skynet_malloc(c->cap > 0 ? c->cap : 1);
	return 1;
}

static void make_room(struct collector *c, size_t n)
{
	if (c->filled + n <= c->cap)
		return;
	size_t cap = c->cap * 2 > c->filled + n ? c->cap * 2 : c->filled + n;
	c->cap = cap < c->total ? cap : c->total;
	c->buffer = skynet_realloc(c->buffer, c->cap);
}

static int lappend(lua_State *L)
{
	struct collector *c = luaL_checkudata(L, 1, COLLECTOR);
	int t = lua_type(L, 2);
	if (t != LUA_TSTRING && t != LUA_TLIGHTUSERDATA)
		return luaL_error(L, "cluster.append: need a string or a message, "
		                     "got %s", luaL_typename(L, 2));
	struct body b;
	read_body(L, 2, &b);
	if (c->buffer == NULL || b.size > c->total - c->filled) {
		lua_pushboolean(L, 0);
		return 1;
	}
	make_room(c, b.size);
	if (b.size > 0)
		memcpy(c->buffer + c->filled, b.data, b.size);
	c->filled += b.size;
	lua_pushboolean(L, 1);
	return 1;
}

static int lconcat(lua_State *L)
{
	struct collector *c = luaL_checkudata(L, 1, COLLECTOR);
	if (c->buffer == NULL || c->filled != c->total)
		return 0;
	lua_pushlightuserdata(L, c->buffer);
	lua_pushinteger(L, (lua_Integer)c->total);
	c->buffer = NULL;
	return 2;
}

/* ---- names ---- */

static int lisname(lua_State *L)
{
	size_t len = 0;
	const char *s = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &len)
	                                              : NULL;
	lua_pushboolean(L, s != NULL && len > 0 && s[0] == '@');
	return 1;
}

static int lnodename(lua_State *L)
{
	char host[256];
	if (gethostname(host, sizeof(host)) != 0) {
		lua_pushfstring(L, "noname%d", (int)getpid());
		return 1;
	}
	host[sizeof(host) - 1] = '\0';
	for (char *c = host; *c; c++) {
		if ((unsigned char)*c <= 0x20)
			*c = '_';
	}
	lua_pushfstring(L, "%s%d", host, (int)getpid());
	return 1;
}

LUAMOD_API int luaopen_skynet_cluster_core(lua_State *L)
{
	static const luaL_Reg functions[] = {
		{"packrequest", lpackrequest},
		{"packpush", lpackpush},
		{"packtrace", lpacktrace},
		{"unpackrequest", lunpackrequest},
		{"packresponse", lpackresponse},
		{"unpackresponse", lunpackresponse},
		{"collect", lcollect},
		{"append", lappend},
		{"concat", lconcat},
		{"isname", lisname},
		{"nodename", lnodename},
		{NULL, NULL},
	};
	luaL_checkversion(L);
	if (luaL_newmetatable(L, COLLECTOR)) {
		lua_pushcfunction(L, collector_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_pop(L, 1);
	luaL_newlib(L, functions);
	return 1;
}
