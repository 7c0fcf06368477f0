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
 * packrequest(addr, session, msg, sz) -> packet, next_session [, pieces]
 * packpush(addr, session, msg, sz)    -> packet, next_session [, pieces]
 *   addr is an integer (numeric address) or a 1..255-byte name.  session
 *   must be 1..0x7FFFFFFF ("Invalid request session N" otherwise).  A
 *   lightuserdata body is freed here, and must be writable heap memory.
 *   A body under 0x8000 bytes gives one packet and no pieces; a larger one
 *   gives the multi-part header as packet and a sequence of piece packets.
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
 *   body is a string; is_push is true for a single request with session 0
 *   and for multi push headers; more is true for 0x02 pieces, false for
 *   the last (0x03).  The fifth value ("padding") is true when more packets
 *   of this session follow.  Malformed payloads raise an error.
 *
 * packresponse(session, ok, msg, sz) -> packet, or a sequence of packets
 *   (begin, parts..., end) for an ok body over 0x8000 bytes.  An error body
 *   (ok false) is raw text, converted with tostring if needed, and cut to
 *   0x8000 bytes.  msg is not freed and is left unchanged.
 * unpackresponse(payload) / (msg, sz) -> session, ok, data, padding
 *   data is the text or body string, or for a multi begin the announced
 *   total (integer).  padding is true for begin and middle parts.  An
 *   invalid packet returns nothing: the caller closes the connection.
 *
 * append(t, data [, sz]) adds to a reassembly sequence t: an integer (or
 *   nil with sz) is the announced total, a string or lightuserdata+sz (not
 *   freed) a piece.  So append(t, select(3, unpackrequest(...))) works.
 * concat(t) -> msg, sz: joins t = { total, piece, piece, ... } into a new
 *   heap buffer owned by the caller; returns nothing unless t[1] is the
 *   total, every later entry is a string and their lengths add up to it.
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

static const uint8_t *read_payload(lua_State *L, size_t *size)
{
	struct body b;
	read_body(L, 1, &b);
	*size = b.size;
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

/*
 * Pushes a piece packet: the 7-byte head then n bytes at data.  When the
 * body is heap memory and data is not its start, the head is written over
 * the 7 bytes before data (already sent in the previous piece) and put back
 * afterwards, so the piece is copied only once.
 */
static void push_piece(lua_State *L, const struct body *b,
                       const uint8_t head[PIECE_HEAD], const uint8_t *data,
                       size_t n)
{
	if (b->heap == NULL || data - b->data < PIECE_HEAD) {
		push_joined(L, head, PIECE_HEAD, data, n);
		return;
	}
	uint8_t *at = (uint8_t *)data - PIECE_HEAD;
	uint8_t saved[PIECE_HEAD];
	memcpy(saved, at, PIECE_HEAD);
	memcpy(at, head, PIECE_HEAD);
	lua_pushlstring(L, (const char *)at, PIECE_HEAD + n);
	memcpy(at, saved, PIECE_HEAD);
}

static size_t piece_count(size_t size)
{
	return (size + MULTI_PART - 1) / MULTI_PART;
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

static void push_multi_header(lua_State *L, const struct address *a,
                              uint32_t session, int is_push,
                              const struct body *b)
{
	uint8_t head[2 + 10 + NAME_MAX_LEN];
	uint8_t type = REQ_MULTI | (is_push ? REQ_PUSH_BIT : 0);
	size_t n = put_request_head(head + 2, type, a, session);
	put_u32le(head + 2 + n, (uint32_t)b->size);
	put_u16be(head, n + 4);
	lua_pushlstring(L, (const char *)head, 2 + n + 4);
}

static void push_request_pieces(lua_State *L, uint32_t session,
                                const struct body *b)
{
	size_t count = piece_count(b->size);
	lua_createtable(L, (int)count, 0);
	for (size_t i = 0; i < count; i++) {
		size_t offset = i * MULTI_PART;
		size_t n = b->size - offset < MULTI_PART ? b->size - offset
		                                          : MULTI_PART;
		uint8_t head[PIECE_HEAD];
		put_u16be(head, n + 5);
		head[2] = i + 1 < count ? REQ_MORE : REQ_LAST;
		put_u32le(head + 3, session);
		push_piece(L, b, head, b->data + offset, n);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
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
	push_multi_header(L, &a, (uint32_t)session, is_push, &b);
	lua_pushinteger(L, next);
	push_request_pieces(L, (uint32_t)session, &b);
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

static int unpack_piece(lua_State *L, const uint8_t *p, size_t size)
{
	if (size < 5)
		return luaL_error(L, "Invalid cluster multi part size %d", (int)size);
	lua_pushboolean(L, 0);
	lua_pushinteger(L, get_u32le(p + 1));
	lua_pushlstring(L, (const char *)p + 5, size - 5);
	lua_pushinteger(L, (lua_Integer)(size - 5));
	lua_pushboolean(L, p[0] == REQ_MORE);
	lua_pushboolean(L, 0);
	return 6;
}

static int lunpackrequest(lua_State *L)
{
	size_t size;
	const uint8_t *p = read_payload(L, &size);
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
		return unpack_piece(L, p, size);
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

static void push_response_parts(lua_State *L, uint32_t session,
                                const struct body *b)
{
	size_t count = piece_count(b->size);
	lua_createtable(L, (int)count + 1, 0);
	uint8_t begin[2 + 9];
	put_response_head(begin, session, RESP_BEGIN, 4);
	put_u32le(begin + PIECE_HEAD, (uint32_t)b->size);
	lua_pushlstring(L, (const char *)begin, sizeof(begin));
	lua_rawseti(L, -2, 1);
	for (size_t i = 0; i < count; i++) {
		size_t offset = i * MULTI_PART;
		size_t n = b->size - offset < MULTI_PART ? b->size - offset
		                                          : MULTI_PART;
		uint8_t head[PIECE_HEAD];
		put_response_head(head, session,
		                  i + 1 < count ? RESP_PART : RESP_END, n);
		push_piece(L, b, head, b->data + offset, n);
		lua_rawseti(L, -2, (lua_Integer)i + 2);
	}
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
		return 1;
	}
	uint8_t head[PIECE_HEAD];
	put_response_head(head, session, ok ? RESP_OK : RESP_ERROR, b.size);
	push_joined(L, head, PIECE_HEAD, b.data, b.size);
	return 1;
}

static int lunpackresponse(lua_State *L)
{
	size_t size;
	const uint8_t *p = read_payload(L, &size);
	if (size < 5)
		return 0;
	uint8_t type = p[4];
	if (type > RESP_END || (type == RESP_BEGIN && size != 9))
		return 0;
	lua_pushinteger(L, get_u32le(p));
	lua_pushboolean(L, type != RESP_ERROR);
	if (type == RESP_BEGIN)
		lua_pushinteger(L, get_u32le(p + 5));
	else
		lua_pushlstring(L, (const char *)p + 5, size - 5);
	lua_pushboolean(L, type == RESP_BEGIN || type == RESP_PART);
	return 4;
}

/* ---- reassembly ---- */

static int lappend(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
	switch (lua_type(L, 2)) {
	case LUA_TNUMBER:
		lua_pushinteger(L, luaL_checkinteger(L, 2));
		break;
	case LUA_TNIL:
	case LUA_TNONE:
		lua_pushinteger(L, luaL_checkinteger(L, 3));
		break;
	case LUA_TSTRING:
		lua_pushvalue(L, 2);
		break;
	case LUA_TLIGHTUSERDATA: {
		struct body b;
		read_body(L, 2, &b);
		lua_pushlstring(L, (const char *)b.data, b.size);
		break;
	}
	default:
		return luaL_error(L, "cluster.append: need a size, a string or "
		                     "a message, got %s", luaL_typename(L, 2));
	}
	lua_rawseti(L, 1, n + 1);
	return 0;
}

/* Sum of the string lengths in t[2..n], or -1 if one is not a string. */
static lua_Integer pieces_length(lua_State *L, lua_Integer n)
{
	lua_Integer total = 0;
	for (lua_Integer i = 2; i <= n; i++) {
		int t = lua_rawgeti(L, 1, i);
		size_t len = lua_rawlen(L, -1);
		lua_pop(L, 1);
		if (t != LUA_TSTRING)
			return -1;
		total += (lua_Integer)len;
	}
	return total;
}

static int lconcat(lua_State *L)
{
	if (!lua_istable(L, 1))
		return 0;
	lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
	lua_rawgeti(L, 1, 1);
	int announced = lua_isinteger(L, -1);
	lua_Integer total = lua_tointeger(L, -1);
	lua_pop(L, 1);
	if (!announced || total < 0 || pieces_length(L, n) != total)
		return 0;
	uint8_t *joined = skynet_malloc((size_t)total);
	size_t offset = 0;
	for (lua_Integer i = 2; i <= n; i++) {
		size_t len;
		lua_rawgeti(L, 1, i);
		const char *s = lua_tolstring(L, -1, &len);
		memcpy(joined + offset, s, len);
		offset += len;
		lua_pop(L, 1);
	}
	lua_pushlightuserdata(L, joined);
	lua_pushinteger(L, total);
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
		{"append", lappend},
		{"concat", lconcat},
		{"isname", lisname},
		{"nodename", lnodename},
		{NULL, NULL},
	};
	luaL_checkversion(L);
	luaL_newlib(L, functions);
	return 1;
}
