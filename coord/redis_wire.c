/*
 * redis_wire.c: encode driver replies into the binary form described in
 * redis_wire.h.
 */
#include "redis_wire.h"

#include <stdint.h>
#include <string.h>

static char *put_u32(char *out, uint32_t v) {
	for (int i = 0; i < 4; i++)
		*out++ = (char)(v >> (8 * i));
	return out;
}

static char *put_i64(char *out, long long v) {
	uint64_t u = (uint64_t)v;
	for (int i = 0; i < 8; i++)
		*out++ = (char)(u >> (8 * i));
	return out;
}

static char *put_text(char *out, char tag, const char *s, size_t len) {
	*out++ = tag;
	out = put_u32(out, (uint32_t)len);
	if (len)
		memcpy(out, s, len);
	return out + len;
}

static char tag_of(int type) {
	switch (type) {
	case RD_STATUS: return RW_STATUS;
	case RD_ERROR: return RW_ERROR;
	case RD_DRIVER_ERROR: return RW_DRIVER_ERROR;
	default: return RW_STRING;
	}
}

size_t rw_encoded_size(const struct rd_reply *r) {
	size_t len;
	switch (rd_reply_type(r)) {
	case RD_INTEGER:
		return 1 + 8;
	case RD_NIL:
		return 1;
	case RD_ARRAY: {
		size_t total = 1 + 4, n = rd_reply_count(r);
		for (size_t i = 0; i < n; i++)
			total += rw_encoded_size(rd_reply_at(r, i));
		return total;
	}
	default:
		rd_reply_str(r, &len);
		return 1 + 4 + len;
	}
}

char *rw_encode(const struct rd_reply *r, char *out) {
	size_t len;
	const char *s;
	switch (rd_reply_type(r)) {
	case RD_INTEGER:
		*out++ = RW_INTEGER;
		return put_i64(out, rd_reply_integer(r));
	case RD_NIL:
		*out++ = RW_NIL;
		return out;
	case RD_ARRAY: {
		size_t n = rd_reply_count(r);
		*out++ = RW_ARRAY;
		out = put_u32(out, (uint32_t)n);
		for (size_t i = 0; i < n; i++)
			out = rw_encode(rd_reply_at(r, i), out);
		return out;
	}
	default:
		s = rd_reply_str(r, &len);
		return put_text(out, tag_of(rd_reply_type(r)), s, len);
	}
}

size_t rw_strings_size(int count, const char *const *strs) {
	size_t total = 1 + 4;
	for (int i = 0; i < count; i++)
		total += 1 + 4 + strlen(strs[i]);
	return total;
}

char *rw_encode_strings(int count, const char *const *strs, char *out) {
	*out++ = RW_ARRAY;
	out = put_u32(out, (uint32_t)count);
	for (int i = 0; i < count; i++)
		out = put_text(out, RW_STRING, strs[i], strlen(strs[i]));
	return out;
}
