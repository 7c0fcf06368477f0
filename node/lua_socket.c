/*
 * lua_socket.c: the Lua module "skynet.socketdriver", the thin layer under
 * lualib/skynet/socket.lua.
 *
 * Socket calls (the owner is the calling service):
 *   connect(host, port) / connect("host:port") -> id
 *   listen(host, port [, backlog]) -> id, port     (raises on failure)
 *   bind(fd) -> id;  start(id); pause(id); close(id); shutdown(id)
 *   nodelay(id); keepalive(id)
 *   send(id, data) / lsend(id, data) -> true, or false if the socket is gone
 *     data: a string, a table of strings, or msg, sz (lightuserdata whose
 *     ownership passes to the socket server)
 *   udp([host [, port]]) -> id, port;  udp_connect(id, host, port)
 *   udp_send(id, address, data) -> boolean;  udp_address(address) -> ip, port
 *   unpack(msg, sz) -> type, id, ud, data [, address]
 *     data is msg, a lightuserdata the caller owns, for DATA and UDP (size
 *     ud; UDP adds the sender address string), else the message text
 *   info() -> { {id=, type=, address=, read=, write=, wbuffer=, paused=,
 *                owner=}, ... }
 *
 * Read buffers (a socket's received data, kept in nodes that are recycled
 * through a pool table shared by all the service's buffers):
 *   buffer() -> buffer;  push(buffer, pool, msg, sz) -> buffered size
 *   pop(buffer, pool, n) -> string of n bytes, or nil if fewer buffered
 *   readline(buffer, pool, sep) -> line without sep, or nil
 *   readline(buffer, nil, sep) -> whether a whole line is buffered
 *   readall(buffer, pool) -> string;  clear(buffer, pool)
 *   drop(msg, sz) frees a message;  str2p(str) -> msg, sz (a heap copy)
 *   header(str) -> the big-endian integer of a 1..4 byte string
 */
#include "skynet.h"
#include "skynet_socket.h"
#include "socket_server.h"

#include <lauxlib.h>
#include <lua.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define BUFFER_META "skynet.socketdriver.buffer"
#define POOL_FREE 1       /* pool[1]: the first free node, or false */
#define CHUNK_FIRST 16    /* nodes in the pool's first chunk */
#define CHUNK_LARGEST 4096

struct buffer_node {
	char *msg;
	int sz;
	struct buffer_node *next;
};

struct socket_buffer {
	int size;   /* bytes buffered */
	int offset; /* bytes of head already read */
	struct buffer_node *head;
	struct buffer_node *tail;
};

static struct skynet_context *context(lua_State *L) {
	return lua_touserdata(L, lua_upvalueindex(1));
}

/* ---- the node pool ---- */

static struct buffer_node *new_chunk(lua_State *L, int pool) {
	int chunks = (int)lua_rawlen(L, pool); /* pool[1] is the free list */
	int count = CHUNK_FIRST << (chunks < 8 ? chunks : 8);
	if (count > CHUNK_LARGEST)
		count = CHUNK_LARGEST;
	struct buffer_node *nodes =
	    lua_newuserdatauv(L, sizeof(*nodes) * (size_t)count, 0);
	for (int i = 0; i < count; i++) {
		nodes[i].msg = NULL;
		nodes[i].sz = 0;
		nodes[i].next = i + 1 < count ? &nodes[i + 1] : NULL;
	}
	if (chunks == 0) {
		lua_pushboolean(L, 0);
		lua_rawseti(L, pool, POOL_FREE);
		chunks = 1;
	}
	lua_rawseti(L, pool, chunks + 1); /* keeps the chunk alive */
	return nodes;
}

static void set_free_list(lua_State *L, int pool, struct buffer_node *node) {
	if (node != NULL)
		lua_pushlightuserdata(L, node);
	else
		lua_pushboolean(L, 0);
	lua_rawseti(L, pool, POOL_FREE);
}

static struct buffer_node *take_node(lua_State *L, int pool) {
	lua_rawgeti(L, pool, POOL_FREE);
	struct buffer_node *node = lua_touserdata(L, -1);
	lua_pop(L, 1);
	if (node == NULL)
		node = new_chunk(L, pool);
	set_free_list(L, pool, node->next);
	node->next = NULL;
	return node;
}

static void return_node(lua_State *L, int pool, struct buffer_node *node) {
	lua_rawgeti(L, pool, POOL_FREE);
	struct buffer_node *first = lua_touserdata(L, -1);
	lua_pop(L, 1);
	skynet_free(node->msg);
	node->msg = NULL;
	node->sz = 0;
	node->next = first;
	set_free_list(L, pool, node);
}

/* ---- read buffers ---- */

static struct socket_buffer *check_buffer(lua_State *L, int index) {
	return luaL_checkudata(L, index, BUFFER_META);
}

static int lbuffer(lua_State *L) {
	struct socket_buffer *sb = lua_newuserdatauv(L, sizeof *sb, 0);
	memset(sb, 0, sizeof *sb);
	luaL_setmetatable(L, BUFFER_META);
	return 1;
}

static int lpush(lua_State *L) {
	struct socket_buffer *sb = check_buffer(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	char *msg = lua_touserdata(L, 3);
	int sz = (int)luaL_checkinteger(L, 4);
	if (msg == NULL)
		return luaL_error(L, "socketdriver.push: need msg, sz");
	struct buffer_node *node = take_node(L, 2);
	node->msg = msg;
	node->sz = sz;
	if (sb->tail != NULL)
		sb->tail->next = node;
	else
		sb->head = node;
	sb->tail = node;
	sb->size += sz;
	lua_pushinteger(L, sb->size);
	return 1;
}

/* Drops the head node once fully read. */
static void advance_head(lua_State *L, int pool, struct socket_buffer *sb) {
	struct buffer_node *node = sb->head;
	sb->head = node->next;
	if (sb->head == NULL)
		sb->tail = NULL;
	sb->offset = 0;
	return_node(L, pool, node);
}

/* Pushes the next n buffered bytes as a string, then skips skip more. */
static void take_bytes(lua_State *L, int pool, struct socket_buffer *sb,
                       int n, int skip) {
	struct buffer_node *node = sb->head;
	if (n > 0 && node->sz - sb->offset >= n) {
		lua_pushlstring(L, node->msg + sb->offset, (size_t)n);
	} else {
		luaL_Buffer b;
		luaL_buffinit(L, &b);
		int left = n;
		for (node = sb->head; left > 0; node = node->next) {
			int start = node == sb->head ? sb->offset : 0;
			int part = node->sz - start < left ? node->sz - start : left;
			luaL_addlstring(&b, node->msg + start, (size_t)part);
			left -= part;
		}
		luaL_pushresult(&b);
	}
	int left = n + skip;
	sb->size -= left;
	while (left > 0) {
		int avail = sb->head->sz - sb->offset;
		if (left < avail) {
			sb->offset += left;
			return;
		}
		left -= avail;
		advance_head(L, pool, sb);
	}
}

static int lpop(lua_State *L) {
	struct socket_buffer *sb = check_buffer(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	int n = (int)luaL_checkinteger(L, 3);
	if (n < 0 || sb->size < n)
		return 0;
	if (n == 0) {
		lua_pushliteral(L, "");
		return 1;
	}
	take_bytes(L, 2, sb, n, 0);
	return 1;
}

static int lreadall(lua_State *L) {
	struct socket_buffer *sb = check_buffer(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	if (sb->size == 0) {
		lua_pushliteral(L, "");
		return 1;
	}
	take_bytes(L, 2, sb, sb->size, 0);
	return 1;
}

static int lclear(lua_State *L) {
	struct socket_buffer *sb = check_buffer(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	while (sb->head != NULL)
		advance_head(L, 2, sb);
	sb->size = 0;
	return 0;
}

/* Byte offset of the first sep in the buffer, or -1. */
static int find_separator(struct socket_buffer *sb, const char *sep,
                          size_t seplen) {
	int pos = 0;
	for (struct buffer_node *node = sb->head; node; node = node->next) {
		int start = node == sb->head ? sb->offset : 0;
		for (int i = start; i < node->sz; i++, pos++) {
			if (node->msg[i] != sep[0])
				continue;
			struct buffer_node *n = node;
			int j = i;
			size_t k = 0;
			while (k < seplen && n != NULL) {
				if (n->msg[j] != sep[k])
					break;
				k++;
				if (++j == n->sz) {
					n = n->next;
					j = 0;
				}
			}
			if (k == seplen)
				return pos;
		}
	}
	return -1;
}

static int lreadline(lua_State *L) {
	struct socket_buffer *sb = check_buffer(L, 1);
	bool check_only = lua_isnoneornil(L, 2);
	size_t seplen;
	const char *sep = luaL_checklstring(L, 3, &seplen);
	if (seplen == 0)
		return luaL_error(L, "socketdriver.readline: empty separator");
	int pos = find_separator(sb, sep, seplen);
	if (check_only) {
		lua_pushboolean(L, pos >= 0);
		return 1;
	}
	luaL_checktype(L, 2, LUA_TTABLE);
	if (pos < 0)
		return 0;
	take_bytes(L, 2, sb, pos, (int)seplen);
	return 1;
}

/* ---- raw messages ---- */

static int ldrop(lua_State *L) {
	skynet_free(lua_touserdata(L, 1));
	return 0;
}

static int lstr2p(lua_State *L) {
	size_t sz;
	const char *str = luaL_checklstring(L, 1, &sz);
	void *msg = skynet_malloc(sz);
	memcpy(msg, str, sz);
	lua_pushlightuserdata(L, msg);
	lua_pushinteger(L, (lua_Integer)sz);
	return 2;
}

static int lheader(lua_State *L) {
	size_t sz;
	const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &sz);
	if (sz < 1 || sz > 4)
		return luaL_error(L, "socketdriver.header: need 1 to 4 bytes, got %d",
		                  (int)sz);
	lua_Integer n = 0;
	for (size_t i = 0; i < sz; i++)
		n = n << 8 | s[i];
	lua_pushinteger(L, n);
	return 1;
}

static int lunpack(lua_State *L) {
	struct skynet_socket_message *m = lua_touserdata(L, 1);
	size_t sz = (size_t)luaL_checkinteger(L, 2);
	if (m == NULL || sz < sizeof *m)
		return luaL_error(L, "socketdriver.unpack: not a socket message");
	lua_pushinteger(L, m->type);
	lua_pushinteger(L, m->id);
	lua_pushinteger(L, m->ud);
	if (m->buffer == NULL) {
		const char *text = (const char *)(m + 1);
		lua_pushlstring(L, text, strnlen(text, sz - sizeof *m));
		return 4;
	}
	lua_pushlightuserdata(L, m->buffer);
	if (m->type != SKYNET_SOCKET_TYPE_UDP)
		return 4;
	int addrsz;
	const char *address = skynet_socket_udp_address(m, &addrsz);
	lua_pushlstring(L, address, (size_t)addrsz);
	return 5;
}

/* ---- sockets ---- */

static int lconnect(lua_State *L) {
	size_t len;
	const char *addr = luaL_checklstring(L, 1, &len);
	char host[256];
	int port;
	if (lua_isnoneornil(L, 2)) {
		const char *colon = strrchr(addr, ':');
		if (colon == NULL || (size_t)(colon - addr) >= sizeof host)
			return luaL_error(L, "socketdriver.connect: bad address %s", addr);
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = '\0';
		port = atoi(colon + 1);
	} else {
		if (len >= sizeof host)
			return luaL_error(L, "socketdriver.connect: host name too long");
		memcpy(host, addr, len + 1);
		port = (int)luaL_checkinteger(L, 2);
	}
	lua_pushinteger(L, skynet_socket_connect(context(L), host, port));
	return 1;
}

static int llisten(lua_State *L) {
	const char *host = luaL_optstring(L, 1, NULL);
	int port = (int)luaL_checkinteger(L, 2);
	int backlog = (int)luaL_optinteger(L, 3, 0);
	int id = skynet_socket_listen(context(L), host, port, backlog);
	if (id < 0)
		return luaL_error(L, "listen on %s:%d failed (see the log)",
		                  host ? host : "*", port);
	lua_pushinteger(L, id);
	lua_pushinteger(L, skynet_socket_port(id));
	return 2;
}

static int lbind(lua_State *L) {
	lua_pushinteger(L, skynet_socket_bind(context(L),
	                                      (int)luaL_checkinteger(L, 1)));
	return 1;
}

#define ID_COMMAND(name, call)                                               \
	static int name(lua_State *L) {                                      \
		call(context(L), (int)luaL_checkinteger(L, 1));              \
		return 0;                                                    \
	}

ID_COMMAND(lclose, skynet_socket_close)
ID_COMMAND(lshutdown, skynet_socket_shutdown)
ID_COMMAND(lstart, skynet_socket_start)
ID_COMMAND(lpause, skynet_socket_pause)
ID_COMMAND(lnodelay, skynet_socket_nodelay)
ID_COMMAND(lkeepalive, skynet_socket_keepalive)

/* The strings of the table at index, joined into one new heap buffer
 * (copied once, straight into it). */
static void *join_table(lua_State *L, int index, size_t *sz) {
	lua_Integer n = luaL_len(L, index);
	size_t total = 0;
	for (lua_Integer i = 1; i <= n; i++) {
		size_t len;
		int type = lua_rawgeti(L, index, i);
		if (type != LUA_TSTRING && type != LUA_TNUMBER)
			luaL_error(L, "socket data: item %d of the table is a %s, not "
			              "a string", (int)i, luaL_typename(L, -1));
		lua_tolstring(L, -1, &len);
		lua_pop(L, 1);
		total += len;
	}
	char *joined = skynet_malloc(total > 0 ? total : 1);
	size_t at = 0;
	for (lua_Integer i = 1; i <= n; i++) {
		size_t len;
		lua_rawgeti(L, index, i);
		const char *piece = lua_tolstring(L, -1, &len);
		memcpy(joined + at, piece, len);
		at += len;
		lua_pop(L, 1);
	}
	*sz = total;
	return joined;
}

/* The data argument at index: sets ptr, sz and the COPY flag when the
 * bytes stay Lua's (a table is joined into a new heap buffer). */
static void send_data(lua_State *L, int index, const void **ptr, size_t *sz,
                      int *flags) {
	switch (lua_type(L, index)) {
	case LUA_TSTRING:
		*ptr = lua_tolstring(L, index, sz);
		*flags |= SKYNET_SOCKET_SEND_COPY;
		return;
	case LUA_TLIGHTUSERDATA:
		*ptr = lua_touserdata(L, index);
		*sz = (size_t)luaL_checkinteger(L, index + 1);
		return;
	case LUA_TUSERDATA:
		*ptr = lua_touserdata(L, index);
		*sz = (size_t)luaL_optinteger(L, index + 1,
		                              (lua_Integer)lua_rawlen(L, index));
		*flags |= SKYNET_SOCKET_SEND_COPY;
		return;
	case LUA_TTABLE:
		*ptr = join_table(L, index, sz);
		return;
	default:
		luaL_error(L, "socket data must be a string, a table of strings or "
		              "msg, sz (got %s)",
		           luaL_typename(L, index));
	}
}

static int send_with(lua_State *L, int flags) {
	int id = (int)luaL_checkinteger(L, 1);
	const void *ptr;
	size_t sz;
	send_data(L, 2, &ptr, &sz, &flags);
	int err = skynet_socket_write(context(L), id, ptr, sz, flags);
	lua_pushboolean(L, err == 0);
	return 1;
}

static int lsend(lua_State *L) {
	return send_with(L, 0);
}

static int llsend(lua_State *L) {
	return send_with(L, SKYNET_SOCKET_SEND_LOW);
}

static int ludp(lua_State *L) {
	const char *host = luaL_optstring(L, 1, NULL);
	int port = (int)luaL_optinteger(L, 2, 0);
	int id = skynet_socket_udp(context(L), host, port);
	if (id < 0)
		return luaL_error(L, "udp on %s:%d failed (see the log)",
		                  host ? host : "*", port);
	lua_pushinteger(L, id);
	lua_pushinteger(L, skynet_socket_port(id));
	return 2;
}

static int ludp_connect(lua_State *L) {
	int id = (int)luaL_checkinteger(L, 1);
	const char *host = luaL_checkstring(L, 2);
	int port = (int)luaL_checkinteger(L, 3);
	if (skynet_socket_udp_connect(context(L), id, host, port) != 0)
		return luaL_error(L, "udp_connect %s:%d failed", host, port);
	return 0;
}

static int ludp_send(lua_State *L) {
	int id = (int)luaL_checkinteger(L, 1);
	size_t addrsz;
	const char *address = luaL_checklstring(L, 2, &addrsz);
	char host[64];
	int port;
	if (socket_udp_address_decode(address, (int)addrsz, host, sizeof host,
	                              &port) != 0)
		return luaL_error(L, "socketdriver.udp_send: bad address");
	const void *ptr;
	size_t sz;
	int flags = 0;
	send_data(L, 3, &ptr, &sz, &flags);
	int err = skynet_socket_udp_write(context(L), id, address, ptr, sz, flags);
	lua_pushboolean(L, err == 0);
	return 1;
}

static int ludp_address(lua_State *L) {
	size_t addrsz;
	const char *address = luaL_checklstring(L, 1, &addrsz);
	char host[64];
	int port;
	if (socket_udp_address_decode(address, (int)addrsz, host, sizeof host,
	                              &port) != 0)
		return luaL_error(L, "socketdriver.udp_address: bad address");
	lua_pushstring(L, host);
	lua_pushinteger(L, port);
	return 2;
}

static void set_integer(lua_State *L, const char *key, lua_Integer value) {
	lua_pushinteger(L, value);
	lua_setfield(L, -2, key);
}

static int linfo(lua_State *L) {
	int room = skynet_socket_info(NULL, 0) + 16; /* some may open meanwhile */
	struct socket_info *all =
	    lua_newuserdatauv(L, sizeof(*all) * (size_t)room, 0);
	int count = skynet_socket_info(all, room);
	if (count > room)
		count = room;
	lua_createtable(L, count, 0);
	for (int i = 0; i < count; i++) {
		lua_createtable(L, 0, 8);
		set_integer(L, "id", all[i].id);
		set_integer(L, "owner", (lua_Integer)all[i].opaque);
		set_integer(L, "read", (lua_Integer)all[i].bytes_read);
		set_integer(L, "write", (lua_Integer)all[i].bytes_written);
		set_integer(L, "wbuffer", (lua_Integer)all[i].pending);
		lua_pushstring(L, all[i].kind);
		lua_setfield(L, -2, "type");
		lua_pushstring(L, all[i].peer);
		lua_setfield(L, -2, "address");
		lua_pushboolean(L, !all[i].reading);
		lua_setfield(L, -2, "paused");
		lua_rawseti(L, -2, i + 1);
	}
	return 1;
}

int luaopen_skynet_socketdriver(lua_State *L) {
	luaL_checkversion(L);
	luaL_Reg plain[] = {
	    {"buffer", lbuffer},   {"push", lpush},     {"pop", lpop},
	    {"drop", ldrop},       {"readall", lreadall}, {"clear", lclear},
	    {"readline", lreadline}, {"str2p", lstr2p}, {"header", lheader},
	    {"unpack", lunpack},   {"udp_address", ludp_address},
	    {"info", linfo},       {NULL, NULL},
	};
	luaL_Reg with_context[] = {
	    {"connect", lconnect},   {"close", lclose},
	    {"shutdown", lshutdown}, {"listen", llisten},
	    {"send", lsend},         {"lsend", llsend},
	    {"bind", lbind},         {"start", lstart},
	    {"pause", lpause},       {"nodelay", lnodelay},
	    {"keepalive", lkeepalive}, {"udp", ludp},
	    {"udp_connect", ludp_connect}, {"udp_send", ludp_send},
	    {NULL, NULL},
	};
	luaL_newmetatable(L, BUFFER_META);
	lua_pop(L, 1);
	luaL_newlib(L, plain);
	lua_getfield(L, LUA_REGISTRYINDEX, "skynet_context");
	if (lua_touserdata(L, -1) == NULL)
		return luaL_error(L, "skynet.socketdriver needs a service context");
	luaL_setfuncs(L, with_context, 1);
	return 1;
}
