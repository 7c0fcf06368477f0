/*
 * lua_seri.c: encoder and decoder of skynet's value serialization.
 *
 * A packed buffer is a sequence of values, each starting with a type byte:
 * the low 3 bits are the type, the high 5 bits a "cookie" (width, short
 * length, boolean, array length).  Multi-byte fields are little-endian;
 * light userdata pointers are copied in host order.  The full description is
 * spec/serialization.md.
 *
 * Packing writes into a growable buffer that starts on the C stack.  When it
 * outgrows that, the heap part is held by a guard userdata in a to-be-closed
 * stack slot, so that any error (ours, a __pairs metamethod's, out of memory)
 * frees it as it propagates; no protected call is needed.
 */
#include "lua_seri.h"
#include "skynet.h"

#include <lauxlib.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

/* Value types: the low 3 bits of a type byte. */
enum {
	TAG_NIL = 0,
	TAG_BOOLEAN = 1,
	TAG_NUMBER = 2,
	TAG_USERDATA = 3,
	TAG_SHORT_STRING = 4,
	TAG_LONG_STRING = 5,
	TAG_TABLE = 6,
};

/* Cookies of TAG_NUMBER: how the number is stored. */
enum {
	NUM_ZERO = 0,  /* no payload */
	NUM_BYTE = 1,  /* 1 byte, unsigned */
	NUM_WORD = 2,  /* 2 bytes, unsigned */
	NUM_DWORD = 4, /* 4 bytes, signed */
	NUM_QWORD = 6, /* 8 bytes, signed */
	NUM_REAL = 8,  /* 8-byte IEEE-754 double */
};

#define TYPE_BYTE(tag, cookie) ((uint8_t)((tag) | ((cookie) << 3)))
#define TAG_OF(byte) ((byte) & 0x07)
#define COOKIE_OF(byte) ((byte) >> 3)

#define SHORT_STRING_MAX 31
#define TABLE_LENGTH_FOLLOWS 31 /* table cookie: the length is a NUMBER value */
#define MAX_DEPTH 32            /* deepest value depth; top-level values are 0 */
#define INLINE_BUFFER 256

/* ---------------------------------------------------------------- writer */

struct writer {
	uint8_t *data; /* local or heap */
	size_t len;
	size_t cap;
	lua_State *L;
	int guard_slot;        /* stack slot reserved for the heap guard */
	void **guarded;        /* the guard's pointer to the heap part, or NULL */
	uint8_t local[INLINE_BUFFER];
};

#define GUARD_METATABLE "skynode.seri.buffer"

/* __close and __gc of a guard: frees the heap part it still holds. */
static int guard_release(lua_State *L)
{
	void **guarded = lua_touserdata(L, 1);
	skynet_free(*guarded);
	*guarded = NULL;
	return 0;
}

/* Reserves the guard's stack slot (nil until the buffer leaves the stack). */
static void writer_init(lua_State *L, struct writer *w)
{
	luaL_checkstack(L, 1, "out of memory");
	lua_pushnil(L);
	w->data = w->local;
	w->len = 0;
	w->cap = sizeof w->local;
	w->L = L;
	w->guard_slot = lua_gettop(L);
	w->guarded = NULL;
}

/* Puts a guard in the reserved slot and marks it to-be-closed.  Called
 * before the first heap allocation, so that nothing can leak. */
static void writer_guard(struct writer *w)
{
	lua_State *L = w->L;
	luaL_checkstack(L, 2, "out of memory");
	void **guarded = lua_newuserdatauv(L, sizeof *guarded, 0);
	*guarded = NULL;
	if (luaL_newmetatable(L, GUARD_METATABLE)) {
		lua_pushcfunction(L, guard_release);
		lua_setfield(L, -2, "__close");
		lua_pushcfunction(L, guard_release);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	lua_replace(L, w->guard_slot);
	lua_toclose(L, w->guard_slot);
	w->guarded = guarded;
}

/* Frees the heap part and closes the guard slot (left holding nil). */
static void writer_release(struct writer *w)
{
	if (w->guarded == NULL)
		return;
	lua_closeslot(w->L, w->guard_slot);
	w->guarded = NULL;
	w->data = w->local;
}

/* Hands the bytes over as a skynet_malloc'ed buffer (NULL when empty) and
 * pops the guard slot, which must be the top of the stack. */
static void *writer_take(struct writer *w, size_t *sz)
{
	void *out = NULL;
	*sz = w->len;
	if (w->guarded) {
		out = w->data;
		*w->guarded = NULL;
	} else if (w->len) {
		out = skynet_malloc(w->len);
		memcpy(out, w->local, w->len);
	}
	lua_settop(w->L, w->guard_slot - 1);
	w->guarded = NULL;
	w->data = w->local;
	return out;
}

static void writer_reserve(struct writer *w, size_t more)
{
	size_t cap = w->cap;
	if (cap - w->len >= more)
		return;
	while (cap - w->len < more)
		cap *= 2;
	if (w->guarded == NULL) {
		writer_guard(w);
		uint8_t *heap = skynet_malloc(cap);
		memcpy(heap, w->local, w->len);
		w->data = heap;
	} else {
		w->data = skynet_realloc(w->data, cap);
	}
	*w->guarded = w->data;
	w->cap = cap;
}

static void write_bytes(struct writer *w, const void *src, size_t n)
{
	writer_reserve(w, n);
	memcpy(w->data + w->len, src, n);
	w->len += n;
}

static void write_byte(struct writer *w, uint8_t b)
{
	write_bytes(w, &b, 1);
}

/* The byte tag followed by the low `width` bytes of v, little-endian. */
static void write_tagged_le(struct writer *w, uint8_t tag, uint64_t v,
                            int width)
{
	uint8_t out[9];
	out[0] = tag;
	for (int i = 0; i < width; i++)
		out[1 + i] = (uint8_t)(v >> (8 * i));
	write_bytes(w, out, (size_t)width + 1);
}

/* --------------------------------------------------------------- encoder */

static void pack_value(lua_State *L, struct writer *w, int idx, int depth);

/* Width by signed int32 fit first: negatives take 4 bytes, values above
 * INT32_MAX take 8, small positives take 1 or 2 (unsigned). */
static void pack_integer(struct writer *w, lua_Integer v)
{
	uint64_t bits = (uint64_t)v;
	if (v == 0)
		write_byte(w, TYPE_BYTE(TAG_NUMBER, NUM_ZERO));
	else if (v < INT32_MIN || v > INT32_MAX)
		write_tagged_le(w, TYPE_BYTE(TAG_NUMBER, NUM_QWORD), bits, 8);
	else if (v < 0 || v >= 0x10000)
		write_tagged_le(w, TYPE_BYTE(TAG_NUMBER, NUM_DWORD), bits, 4);
	else if (v < 0x100)
		write_tagged_le(w, TYPE_BYTE(TAG_NUMBER, NUM_BYTE), bits, 1);
	else
		write_tagged_le(w, TYPE_BYTE(TAG_NUMBER, NUM_WORD), bits, 2);
}

static void pack_real(struct writer *w, double d)
{
	uint64_t bits;
	memcpy(&bits, &d, sizeof bits);
	write_tagged_le(w, TYPE_BYTE(TAG_NUMBER, NUM_REAL), bits, 8);
}

static void pack_string(lua_State *L, struct writer *w, int idx)
{
	size_t len;
	const char *s = lua_tolstring(L, idx, &len);
	if (len <= SHORT_STRING_MAX)
		write_byte(w, TYPE_BYTE(TAG_SHORT_STRING, len));
	else if (len < 0x10000)
		write_tagged_le(w, TYPE_BYTE(TAG_LONG_STRING, 2), len, 2);
	else if (len <= INT32_MAX)
		write_tagged_le(w, TYPE_BYTE(TAG_LONG_STRING, 4), len, 4);
	else
		luaL_error(L, "serialize can't pack a string of %I bytes (2 GiB or more)",
		           (lua_Integer)len);
	write_bytes(w, s, len);
}

static void pack_lightuserdata(struct writer *w, void *ptr)
{
	write_byte(w, TYPE_BYTE(TAG_USERDATA, 0));
	write_bytes(w, &ptr, sizeof ptr);
}

static void pack_table_header(struct writer *w, lua_Integer array_len)
{
	if (array_len < TABLE_LENGTH_FOLLOWS) {
		write_byte(w, TYPE_BYTE(TAG_TABLE, array_len));
	} else {
		write_byte(w, TYPE_BYTE(TAG_TABLE, TABLE_LENGTH_FOLLOWS));
		pack_integer(w, array_len);
	}
}

static int in_array_part(lua_State *L, int key, lua_Integer array_len)
{
	if (!lua_isinteger(L, key))
		return 0;
	lua_Integer k = lua_tointeger(L, key);
	return k >= 1 && k <= array_len;
}

/* Array part t[1..#t] (raw), then every other pair in lua_next order. */
static void pack_table_raw(lua_State *L, struct writer *w, int idx, int depth)
{
	lua_Integer array_len = (lua_Integer)lua_rawlen(L, idx);
	pack_table_header(w, array_len);
	for (lua_Integer i = 1; i <= array_len; i++) {
		lua_rawgeti(L, idx, i);
		pack_value(L, w, -1, depth + 1);
		lua_pop(L, 1);
	}
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		if (!in_array_part(L, -2, array_len)) {
			pack_value(L, w, -2, depth + 1);
			pack_value(L, w, -1, depth + 1);
		}
		lua_pop(L, 1);
	}
	write_byte(w, TYPE_BYTE(TAG_NIL, 0));
}

/* Every pair the __pairs iterator yields goes into the hash part.  Expects
 * the metamethod on the top of the stack. */
static void pack_table_metapairs(lua_State *L, struct writer *w, int idx,
                                 int depth)
{
	write_byte(w, TYPE_BYTE(TAG_TABLE, 0));
	lua_pushvalue(L, idx);
	lua_call(L, 1, 3); /* iterator, state, control */
	for (;;) {
		lua_pushvalue(L, -3);
		lua_pushvalue(L, -3);
		lua_pushvalue(L, -3);
		lua_call(L, 2, 2); /* key, value */
		if (lua_isnil(L, -2)) {
			lua_pop(L, 5);
			break;
		}
		pack_value(L, w, -2, depth + 1);
		pack_value(L, w, -1, depth + 1);
		lua_pop(L, 1);
		lua_replace(L, -2); /* the key is the next control value */
	}
	write_byte(w, TYPE_BYTE(TAG_NIL, 0));
}

static void pack_table(lua_State *L, struct writer *w, int idx, int depth)
{
	if (!lua_checkstack(L, LUA_MINSTACK))
		luaL_error(L, "out of memory");
	if (luaL_getmetafield(L, idx, "__pairs") != LUA_TNIL)
		pack_table_metapairs(L, w, idx, depth);
	else
		pack_table_raw(L, w, idx, depth);
}

static void pack_value(lua_State *L, struct writer *w, int idx, int depth)
{
	if (depth > MAX_DEPTH)
		luaL_error(L, "serialize can't pack too depth table");
	idx = lua_absindex(L, idx);
	int type = lua_type(L, idx);
	switch (type) {
	case LUA_TNIL:
		write_byte(w, TYPE_BYTE(TAG_NIL, 0));
		break;
	case LUA_TBOOLEAN:
		write_byte(w, TYPE_BYTE(TAG_BOOLEAN, lua_toboolean(L, idx)));
		break;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			pack_integer(w, lua_tointeger(L, idx));
		else
			pack_real(w, lua_tonumber(L, idx));
		break;
	case LUA_TSTRING:
		pack_string(L, w, idx);
		break;
	case LUA_TLIGHTUSERDATA:
		pack_lightuserdata(w, lua_touserdata(L, idx));
		break;
	case LUA_TTABLE:
		pack_table(L, w, idx, depth);
		break;
	default:
		luaL_error(L, "Unsupport type %s to serialize",
		           lua_typename(L, type));
	}
}

/* Packs the absolute slots from..to into w, which was set up above them. */
static void pack_slots(lua_State *L, int from, int to, struct writer *w)
{
	for (int i = from; i <= to; i++)
		pack_value(L, w, i, 0);
}

/* Negative slots count from the top; 0 and positive slots are kept as they
 * are, so that (1, lua_gettop(L)) is empty on an empty stack. */
static int absolute_slot(lua_State *L, int idx)
{
	return idx < 0 ? lua_absindex(L, idx) : idx;
}

void *seri_pack_range(lua_State *L, int from, int to, size_t *sz)
{
	struct writer w;
	from = absolute_slot(L, from);
	to = absolute_slot(L, to);
	writer_init(L, &w);
	pack_slots(L, from, to, &w);
	return writer_take(&w, sz);
}

int luaseri_pack(lua_State *L)
{
	size_t sz;
	void *buf = seri_pack_range(L, 1, lua_gettop(L), &sz);
	lua_pushlightuserdata(L, buf);
	lua_pushinteger(L, (lua_Integer)sz);
	return 2;
}

int luaseri_packstring(lua_State *L)
{
	struct writer w;
	int top = lua_gettop(L);
	writer_init(L, &w);
	pack_slots(L, 1, top, &w);
	lua_pushlstring(L, (const char *)w.data, w.len);
	writer_release(&w);
	return 1;
}

/* --------------------------------------------------------------- decoder */

struct reader {
	const uint8_t *p;
	size_t left;
};

#define invalid_stream(L, r)                                                  \
	luaL_error(L, "Invalid serialize stream %I (line:%d)",                \
	           (lua_Integer)(r)->left, __LINE__)

static void decode_value(lua_State *L, struct reader *r, int depth);

/* Consumes n bytes and returns where they start; raises if cut off. */
static const uint8_t *take(lua_State *L, struct reader *r, size_t n)
{
	if (r->left < n)
		invalid_stream(L, r);
	const uint8_t *at = r->p;
	r->p += n;
	r->left -= n;
	return at;
}

static uint64_t take_le(lua_State *L, struct reader *r, int width)
{
	const uint8_t *at = take(L, r, (size_t)width);
	uint64_t v = 0;
	for (int i = width - 1; i >= 0; i--)
		v = (v << 8) | at[i];
	return v;
}

/* The integer forms; BYTE and WORD are unsigned, DWORD and QWORD signed. */
static lua_Integer read_integer(lua_State *L, struct reader *r, int cookie)
{
	switch (cookie) {
	case NUM_ZERO:
		return 0;
	case NUM_BYTE:
		return (lua_Integer)take_le(L, r, 1);
	case NUM_WORD:
		return (lua_Integer)take_le(L, r, 2);
	case NUM_DWORD:
		return (int32_t)(uint32_t)take_le(L, r, 4);
	case NUM_QWORD:
		return (int64_t)take_le(L, r, 8);
	default:
		return invalid_stream(L, r);
	}
}

static void decode_number(lua_State *L, struct reader *r, int cookie)
{
	if (cookie == NUM_REAL) {
		uint64_t bits = take_le(L, r, 8);
		double d;
		memcpy(&d, &bits, sizeof d);
		lua_pushnumber(L, d);
	} else {
		lua_pushinteger(L, read_integer(L, r, cookie));
	}
}

static void decode_string(lua_State *L, struct reader *r, size_t len)
{
	const uint8_t *s = take(L, r, len);
	lua_pushlstring(L, (const char *)s, len);
}

static void decode_long_string(lua_State *L, struct reader *r, int cookie)
{
	if (cookie != 2 && cookie != 4)
		invalid_stream(L, r);
	decode_string(L, r, (size_t)take_le(L, r, cookie));
}

static void decode_lightuserdata(lua_State *L, struct reader *r)
{
	void *ptr;
	memcpy(&ptr, take(L, r, sizeof ptr), sizeof ptr);
	lua_pushlightuserdata(L, ptr);
}

/* Array length: the cookie, or a following integer NUMBER value.  Each
 * array entry takes at least one byte, so a length beyond the remaining
 * input is rejected before anything is allocated. */
static int read_array_length(lua_State *L, struct reader *r, int cookie)
{
	lua_Integer n = cookie;
	if (cookie == TABLE_LENGTH_FOLLOWS) {
		uint8_t b = *take(L, r, 1);
		if (TAG_OF(b) != TAG_NUMBER)
			invalid_stream(L, r);
		n = read_integer(L, r, COOKIE_OF(b));
	}
	if (n < 0 || n > INT_MAX || (uint64_t)n > r->left)
		invalid_stream(L, r);
	return (int)n;
}

/* True (and consumed) when the next byte ends a table's hash part. */
static int at_hash_end(lua_State *L, struct reader *r)
{
	if (r->left == 0)
		invalid_stream(L, r);
	if (TAG_OF(r->p[0]) != TAG_NIL)
		return 0;
	take(L, r, 1);
	return 1;
}

static void decode_table(lua_State *L, struct reader *r, int cookie, int depth)
{
	int array_len = read_array_length(L, r, cookie);
	luaL_checkstack(L, LUA_MINSTACK, NULL);
	lua_createtable(L, array_len, 0);
	for (int i = 1; i <= array_len; i++) {
		decode_value(L, r, depth + 1);
		lua_rawseti(L, -2, i);
	}
	while (!at_hash_end(L, r)) {
		decode_value(L, r, depth + 1);
		decode_value(L, r, depth + 1);
		lua_rawset(L, -3);
	}
}

/* Depth follows the encoder's rule, so whatever decodes can be packed again. */
static void decode_value(lua_State *L, struct reader *r, int depth)
{
	if (depth > MAX_DEPTH)
		luaL_error(L, "deserialize can't unpack too depth table");
	uint8_t b = *take(L, r, 1);
	int cookie = COOKIE_OF(b);
	switch (TAG_OF(b)) {
	case TAG_NIL:
		lua_pushnil(L);
		break;
	case TAG_BOOLEAN:
		lua_pushboolean(L, cookie != 0);
		break;
	case TAG_NUMBER:
		decode_number(L, r, cookie);
		break;
	case TAG_USERDATA:
		decode_lightuserdata(L, r);
		break;
	case TAG_SHORT_STRING:
		decode_string(L, r, (size_t)cookie);
		break;
	case TAG_LONG_STRING:
		decode_long_string(L, r, cookie);
		break;
	case TAG_TABLE:
		decode_table(L, r, cookie, depth);
		break;
	default:
		invalid_stream(L, r);
	}
}

int seri_unpack_buffer(lua_State *L, const void *buf, size_t sz)
{
	if (sz == 0)
		return 0;
	if (buf == NULL)
		return luaL_error(L, "deserialize null pointer");
	struct reader r = {buf, sz};
	int count = 0;
	while (r.left > 0) {
		luaL_checkstack(L, LUA_MINSTACK, "too many values to unpack");
		decode_value(L, &r, 0);
		count++;
	}
	return count;
}

int luaseri_unpack(lua_State *L)
{
	if (lua_isnoneornil(L, 1))
		return 0;
	if (lua_type(L, 1) == LUA_TSTRING) {
		size_t sz;
		const char *s = lua_tolstring(L, 1, &sz);
		return seri_unpack_buffer(L, s, sz);
	}
	lua_Integer sz = luaL_checkinteger(L, 2);
	luaL_argcheck(L, sz >= 0, 2, "size must not be negative");
	return seri_unpack_buffer(L, lua_touserdata(L, 1), (size_t)sz);
}
