/*
 * lua_netpack.c: packet framing for the gate, Lua module "skynet.netpack".
 *
 * A TCP stream carries packets, each a 2-byte big-endian length (0..65535,
 * not counting itself) followed by that many bytes.  The gate feeds every
 * PTYPE_SOCKET message it gets to filter(), which cuts the bytes into
 * packets, keeping the unfinished one of each socket in a per-gate queue
 * object between reads.
 *
 * filter(queue, msg, sz) -> queue, event, ...
 *   queue is nil the first time: a new queue object is returned, keep it.
 *   msg, sz is the struct skynet_socket_message; its data buffer is taken
 *   over (freed or handed out as packets), the message itself is not.
 *     queue, "data", fd, msg, sz   exactly one packet was completed
 *     queue, "more"                several: call pop(queue) until it
 *                                  returns nothing
 *     queue                        no packet completed yet
 *     queue, "open", fd, addr      accepted connection fd, peer address
 *     queue, "close", fd           (the unfinished packet of fd dropped)
 *     queue, "error", fd, text     (idem)
 *     queue, "warning", fd, size   the socket's write buffer is large
 *   Packets (msg, sz) are heap buffers the caller owns (pass them on or
 *   free them with tostring).
 * pop(queue) -> fd, msg, sz, or nothing when empty.
 * pack(str) / pack(msg, sz) -> msg, sz: a new buffer with the length header
 *   prepended (input not freed); error if longer than 65535 bytes.
 * clear(queue): frees every queued and unfinished packet.
 * tostring(msg, sz) -> string, and frees msg.
 */
#include "skynet.h"
#include "skynet_socket.h"

#include <lua.h>
#include <lauxlib.h>

#include <stdint.h>
#include <string.h>

#define QUEUE_META "skynet.netpack.queue"
#define PARTIAL_BUCKETS 64
#define HEADER_SIZE 2
#define PACKET_MAX 0xFFFF

struct packet {
	int fd;
	int size;
	uint8_t *data;
};

/* The unfinished packet of one socket. */
struct partial {
	int fd;
	int header_bytes; /* 1: only the high length byte came; 2: data below */
	int size;
	int filled;
	uint8_t *data;
	struct partial *next;
};

struct queue {
	struct packet *ready; /* ring of completed packets */
	int capacity;
	int head;
	int count;
	struct partial *partial[PARTIAL_BUCKETS];
};

/* ---- completed packets ---- */

static void ready_push(struct queue *q, int fd, uint8_t *data, int size)
{
	if (q->count == q->capacity) {
		int capacity = q->capacity ? q->capacity * 2 : 16;
		struct packet *ring = skynet_malloc(sizeof(*ring) * capacity);
		for (int i = 0; i < q->count; i++)
			ring[i] = q->ready[(q->head + i) % q->capacity];
		skynet_free(q->ready);
		q->ready = ring;
		q->capacity = capacity;
		q->head = 0;
	}
	struct packet *p = &q->ready[(q->head + q->count) % q->capacity];
	p->fd = fd;
	p->data = data;
	p->size = size;
	q->count++;
}

static struct packet ready_pop(struct queue *q)
{
	struct packet p = q->ready[q->head];
	q->head = (q->head + 1) % q->capacity;
	q->count--;
	return p;
}

/* ---- unfinished packets, by fd ---- */

static struct partial **partial_slot(struct queue *q, int fd)
{
	struct partial **slot = &q->partial[(unsigned)fd % PARTIAL_BUCKETS];
	while (*slot && (*slot)->fd != fd)
		slot = &(*slot)->next;
	return slot;
}

static struct partial *partial_new(struct queue *q, int fd)
{
	struct partial *p = skynet_malloc(sizeof(*p));
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	struct partial **bucket = &q->partial[(unsigned)fd % PARTIAL_BUCKETS];
	p->next = *bucket;
	*bucket = p;
	return p;
}

static void partial_drop(struct queue *q, int fd)
{
	struct partial **slot = partial_slot(q, fd);
	struct partial *p = *slot;
	if (p == NULL)
		return;
	*slot = p->next;
	skynet_free(p->data);
	skynet_free(p);
}

static void partial_start_body(struct partial *p, int size)
{
	p->header_bytes = HEADER_SIZE;
	p->size = size;
	p->filled = 0;
	p->data = skynet_malloc(size);
}

/* Feeds bytes to the unfinished packet p; returns the bytes used. */
static size_t partial_feed(struct queue *q, struct partial *p,
                           const uint8_t *buf, size_t n)
{
	size_t used = 0;
	if (p->header_bytes == 1) {
		partial_start_body(p, p->size << 8 | buf[0]);
		used = 1;
	}
	size_t want = (size_t)(p->size - p->filled);
	size_t take = n - used < want ? n - used : want;
	memcpy(p->data + p->filled, buf + used, take);
	p->filled += (int)take;
	if (p->filled == p->size) {
		ready_push(q, p->fd, p->data, p->size);
		p->data = NULL;
		partial_drop(q, p->fd);
	}
	return used + take;
}

/*
 * Cuts a read buffer into packets.  Returns 1 if buf itself was handed out
 * as the packet (it held exactly one), 0 if the caller must free it.
 */
static int feed(struct queue *q, int fd, uint8_t *buf, size_t n)
{
	size_t off = 0;
	struct partial *p = *partial_slot(q, fd);
	if (n == 0)
		return 0;
	if (p != NULL)
		off = partial_feed(q, p, buf, n);
	while (off < n) {
		size_t left = n - off;
		if (left == 1) {
			p = partial_new(q, fd);
			p->header_bytes = 1;
			p->size = buf[off];
			return 0;
		}
		int size = buf[off] << 8 | buf[off + 1];
		off += HEADER_SIZE;
		left -= HEADER_SIZE;
		if (left < (size_t)size) {
			p = partial_new(q, fd);
			partial_start_body(p, size);
			memcpy(p->data, buf + off, left);
			p->filled = (int)left;
			return 0;
		}
		if (off == HEADER_SIZE && left == (size_t)size) {
			memmove(buf, buf + HEADER_SIZE, size);
			ready_push(q, fd, buf, size);
			return 1;
		}
		uint8_t *data = skynet_malloc(size);
		memcpy(data, buf + off, size);
		ready_push(q, fd, data, size);
		off += size;
	}
	return 0;
}

/* ---- the queue object ---- */

static void queue_clear(struct queue *q)
{
	while (q->count > 0)
		skynet_free(ready_pop(q).data);
	for (int i = 0; i < PARTIAL_BUCKETS; i++) {
		while (q->partial[i])
			partial_drop(q, q->partial[i]->fd);
	}
}

static int lqueue_gc(lua_State *L)
{
	struct queue *q = luaL_checkudata(L, 1, QUEUE_META);
	queue_clear(q);
	skynet_free(q->ready);
	q->ready = NULL;
	q->capacity = 0;
	return 0;
}

/* The queue at index 1, created (and put at index 1) when it is nil. */
static struct queue *get_queue(lua_State *L)
{
	if (!lua_isnoneornil(L, 1))
		return luaL_checkudata(L, 1, QUEUE_META);
	struct queue *q = lua_newuserdatauv(L, sizeof(*q), 0);
	memset(q, 0, sizeof(*q));
	luaL_setmetatable(L, QUEUE_META);
	lua_replace(L, 1);
	return q;
}

/* ---- filter ---- */

static int push_packet(lua_State *L, struct packet p)
{
	lua_pushinteger(L, p.fd);
	lua_pushlightuserdata(L, p.data);
	lua_pushinteger(L, p.size);
	return 3;
}

static int filter_data(lua_State *L, struct queue *q,
                       const struct skynet_socket_message *m)
{
	uint8_t *buf = (uint8_t *)m->buffer;
	int before = q->count;
	if (!feed(q, m->id, buf, m->ud > 0 ? (size_t)m->ud : 0))
		skynet_free(buf);
	int completed = q->count - before;
	if (completed == 0)
		return 1;
	if (completed == 1 && before == 0) {
		lua_pushliteral(L, "data");
		return 2 + push_packet(L, ready_pop(q));
	}
	lua_pushliteral(L, "more");
	return 2;
}

/* The text carried after the message struct (accept address, error). */
static void push_message_text(lua_State *L, const void *msg, size_t sz)
{
	size_t head = sizeof(struct skynet_socket_message);
	const char *text = (const char *)msg + head;
	lua_pushlstring(L, text, sz > head ? strnlen(text, sz - head) : 0);
}

static int lfilter(lua_State *L)
{
	struct queue *q = get_queue(L);
	const struct skynet_socket_message *m = lua_touserdata(L, 2);
	size_t sz = (size_t)luaL_checkinteger(L, 3);
	if (m == NULL || sz < sizeof(*m))
		return luaL_error(L, "netpack.filter: invalid socket message");
	lua_settop(L, 1);
	switch (m->type) {
	case SKYNET_SOCKET_TYPE_DATA:
		return filter_data(L, q, m);
	case SKYNET_SOCKET_TYPE_ACCEPT:
		lua_pushliteral(L, "open");
		lua_pushinteger(L, m->ud);
		push_message_text(L, m, sz);
		return 4;
	case SKYNET_SOCKET_TYPE_CLOSE:
		partial_drop(q, m->id);
		lua_pushliteral(L, "close");
		lua_pushinteger(L, m->id);
		return 3;
	case SKYNET_SOCKET_TYPE_ERROR:
		partial_drop(q, m->id);
		lua_pushliteral(L, "error");
		lua_pushinteger(L, m->id);
		push_message_text(L, m, sz);
		return 4;
	case SKYNET_SOCKET_TYPE_WARNING:
		lua_pushliteral(L, "warning");
		lua_pushinteger(L, m->id);
		lua_pushinteger(L, m->ud);
		return 4;
	case SKYNET_SOCKET_TYPE_UDP:
		skynet_free(m->buffer); /* a gate has no use for datagrams */
		return 1;
	default: /* CONNECT: the listening socket started */
		return 1;
	}
}

/* ---- other functions ---- */

static int lpop(lua_State *L)
{
	if (lua_isnoneornil(L, 1))
		return 0;
	struct queue *q = luaL_checkudata(L, 1, QUEUE_META);
	if (q->count == 0)
		return 0;
	return push_packet(L, ready_pop(q));
}

static int lclear(lua_State *L)
{
	if (!lua_isnoneornil(L, 1))
		queue_clear(luaL_checkudata(L, 1, QUEUE_META));
	return 0;
}

static int lpack(lua_State *L)
{
	size_t len;
	const char *data;
	if (lua_type(L, 1) == LUA_TLIGHTUSERDATA) {
		data = lua_touserdata(L, 1);
		lua_Integer sz = luaL_checkinteger(L, 2);
		if (sz < 0 || (data == NULL && sz > 0))
			return luaL_error(L, "netpack.pack: invalid message size %d",
			                  (int)sz);
		len = (size_t)sz;
	} else {
		data = luaL_checklstring(L, 1, &len);
	}
	if (len > PACKET_MAX)
		return luaL_error(L, "netpack.pack: packet of %d bytes is too long "
		                     "(at most 65535)", (int)len);
	uint8_t *packet = skynet_malloc(len + HEADER_SIZE);
	packet[0] = (uint8_t)(len >> 8);
	packet[1] = (uint8_t)len;
	if (len > 0)
		memcpy(packet + HEADER_SIZE, data, len);
	lua_pushlightuserdata(L, packet);
	lua_pushinteger(L, (lua_Integer)(len + HEADER_SIZE));
	return 2;
}

static int ltostring(lua_State *L)
{
	void *msg = lua_touserdata(L, 1);
	lua_Integer sz = luaL_checkinteger(L, 2);
	if (msg == NULL || sz <= 0) {
		skynet_free(msg);
		lua_pushliteral(L, "");
		return 1;
	}
	lua_pushlstring(L, msg, (size_t)sz);
	skynet_free(msg);
	return 1;
}

LUAMOD_API int luaopen_skynet_netpack(lua_State *L)
{
	static const luaL_Reg functions[] = {
		{"filter", lfilter},
		{"pop", lpop},
		{"pack", lpack},
		{"clear", lclear},
		{"tostring", ltostring},
		{NULL, NULL},
	};
	luaL_checkversion(L);
	if (luaL_newmetatable(L, QUEUE_META)) {
		lua_pushcfunction(L, lqueue_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_pop(L, 1);
	luaL_newlib(L, functions);
	return 1;
}
