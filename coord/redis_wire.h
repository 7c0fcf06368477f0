/*
 * redis_wire.h: the binary form of a Redis reply inside a skynet message,
 * from the redisdrv service (coord/service_redis.c) to Lua
 * (coord/lua_redis.c).  Little-endian, one tag byte per value:
 *
 *   '+' status        u32 length, bytes
 *   '-' error reply   u32 length, bytes
 *   '!' driver error  u32 length, bytes   (timeout, unreachable, lost, stopped)
 *   ':' integer       i64
 *   '$' bulk string   u32 length, bytes
 *   '_' nil
 *   '*' array         u32 count, then count values
 */
#ifndef REDIS_WIRE_H
#define REDIS_WIRE_H

#include <stddef.h>

#include "redis_driver.h"

#define RW_STATUS '+'
#define RW_ERROR '-'
#define RW_DRIVER_ERROR '!'
#define RW_INTEGER ':'
#define RW_STRING '$'
#define RW_NIL '_'
#define RW_ARRAY '*'

/* Bytes rw_encode writes for r. */
size_t rw_encoded_size(const struct rd_reply *r);
/* Writes r into out (rw_encoded_size(r) bytes); returns the end. */
char *rw_encode(const struct rd_reply *r, char *out);
/* Encodes a plain array of count strings (used for driver events). */
size_t rw_strings_size(int count, const char *const *strs);
char *rw_encode_strings(int count, const char *const *strs, char *out);

#endif
