/*
 * fuzz_netpack.c: libFuzzer target for the gate's packet framing
 * (netpack.filter/pop/clear, node/lua_netpack.c).  The input (after a seed
 * byte) is cut at pseudo-random places into reads spread over up to three
 * sockets, with an occasional close.  Every packet netpack returns must be
 * the next complete packet of that socket's byte stream, checked against a
 * plain parser here, and what is left at the end must be unfinished.
 */
#include "skynet.h"
#include "skynet_socket.h"

#include "lua_checker.h"

#include <lua.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int luaopen_skynet_netpack(lua_State *L);

#define SOCKETS 3

/* The bytes one socket received since its last close, and how far the
 * packets handed out so far reach. */
struct stream {
	uint8_t *bytes;
	size_t len;
	size_t cursor;
};

struct run {
	lua_State *L;
	struct stream sockets[SOCKETS];
	uint32_t rng;
};

#define CHECK(cond)                                                      \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "check failed: %s (line %d)\n", #cond, \
			        __LINE__);                               \
			abort();                                         \
		}                                                        \
	} while (0)

static uint32_t next_random(struct run *r)
{
	r->rng = r->rng * 1103515245u + 12345u;
	return r->rng >> 8;
}

/* Pushes netpack[name] (the module sits in the registry, see
 * lua_checker.h) and the queue (nil the first time). */
static void push_call(lua_State *L, const char *name)
{
	lua_getfield(L, LUA_REGISTRYINDEX, "netpack");
	lua_getfield(L, -1, name);
	lua_remove(L, -2);
	lua_getfield(L, LUA_REGISTRYINDEX, "netpack.queue");
}

/* A packet handed out for fd must be the next one of its stream. */
static void expect_packet(struct run *r, int fd, void *msg, size_t sz)
{
	CHECK(fd >= 0 && fd < SOCKETS);
	struct stream *s = &r->sockets[fd];
	CHECK(s->len - s->cursor >= 2);
	size_t want = (size_t)s->bytes[s->cursor] << 8 | s->bytes[s->cursor + 1];
	CHECK(want == sz);
	CHECK(s->len - s->cursor - 2 >= sz);
	CHECK(sz == 0 || memcmp(s->bytes + s->cursor + 2, msg, sz) == 0);
	s->cursor += 2 + sz;
	skynet_free(msg);
}

/* pop() until empty; returns how many packets came out. */
static int drain(struct run *r)
{
	lua_State *L = r->L;
	int count = 0;
	for (;;) {
		push_call(L, "pop");
		CHECK(lua_pcall(L, 1, 3, 0) == LUA_OK);
		if (lua_isnil(L, -3)) {
			lua_pop(L, 3);
			return count;
		}
		expect_packet(r, (int)lua_tointeger(L, -3), lua_touserdata(L, -2),
		              (size_t)lua_tointeger(L, -1));
		lua_pop(L, 3);
		count++;
	}
}

/* Feeds one socket message to filter and checks what comes back. */
static void filter(struct run *r, struct skynet_socket_message *m)
{
	lua_State *L = r->L;
	int top = lua_gettop(L);
	push_call(L, "filter");
	lua_pushlightuserdata(L, m);
	lua_pushinteger(L, sizeof(*m));
	CHECK(lua_pcall(L, 3, LUA_MULTRET, 0) == LUA_OK);
	lua_pushvalue(L, top + 1);
	lua_setfield(L, LUA_REGISTRYINDEX, "netpack.queue");
	const char *event = lua_tostring(L, top + 2);
	if (event == NULL) {
		CHECK(lua_gettop(L) == top + 1);
	} else if (strcmp(event, "data") == 0) {
		expect_packet(r, (int)lua_tointeger(L, top + 3),
		              lua_touserdata(L, top + 4),
		              (size_t)lua_tointeger(L, top + 5));
		CHECK(drain(r) == 0);
	} else if (strcmp(event, "more") == 0) {
		CHECK(drain(r) >= 2);
	} else {
		CHECK(strcmp(event, "close") == 0 && m->type == SKYNET_SOCKET_TYPE_CLOSE);
	}
	lua_settop(L, top);
}

static void feed(struct run *r, int fd, const uint8_t *data, size_t n)
{
	struct stream *s = &r->sockets[fd];
	s->bytes = realloc(s->bytes, s->len + n);
	memcpy(s->bytes + s->len, data, n);
	s->len += n;
	struct skynet_socket_message m = {SKYNET_SOCKET_TYPE_DATA, fd, (int)n,
	                                  skynet_malloc(n)};
	memcpy(m.buffer, data, n);
	filter(r, &m);
}

static void close_socket(struct run *r, int fd)
{
	struct skynet_socket_message m = {SKYNET_SOCKET_TYPE_CLOSE, fd, 0, NULL};
	filter(r, &m);
	struct stream *s = &r->sockets[fd];
	s->len = s->cursor = 0;
}

/* What netpack still holds for a socket must be an unfinished packet. */
static void check_unfinished(const struct stream *s)
{
	size_t left = s->len - s->cursor;
	if (left >= 2) {
		size_t want = (size_t)s->bytes[s->cursor] << 8 | s->bytes[s->cursor + 1];
		CHECK(left < 2 + want);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct run r = {.L = checker_state("netpack", luaopen_skynet_netpack, NULL, NULL, 0),
	                .rng = data[0]};
	int sockets = 1 + data[0] % SOCKETS;
	size_t off = 1;
	while (off < size) {
		int fd = (int)(next_random(&r) % sockets);
		uint32_t roll = next_random(&r);
		if (roll % 29 == 0) {
			close_socket(&r, fd);
			continue;
		}
		size_t limit = roll % 4 == 0 ? 70000 : 8;
		size_t n = 1 + next_random(&r) % limit;
		if (n > size - off)
			n = size - off;
		feed(&r, fd, data + off, n);
		off += n;
	}
	for (int fd = 0; fd < SOCKETS; fd++) {
		check_unfinished(&r.sockets[fd]);
		free(r.sockets[fd].bytes);
	}
	push_call(r.L, "clear");
	CHECK(lua_pcall(r.L, 1, 0, 0) == LUA_OK);
	CHECK(drain(&r) == 0);
	lua_gc(r.L, LUA_GCCOLLECT);
	return 0;
}
