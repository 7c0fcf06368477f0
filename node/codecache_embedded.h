/*
 * codecache_embedded.h: the compiled Lua files built into skynode (written
 * at build time by node/luaembed.c) and how their chunk name is stored.
 * Each entry holds a file's source text and the lua_dump of its main
 * function made under the file's build path; name_at..name_at+name_size
 * is that name in the dump (its length, then "@path"), which the loader
 * replaces with the path the file is loaded from.
 */
#ifndef SKYNODE_CODECACHE_EMBEDDED_H
#define SKYNODE_CODECACHE_EMBEDDED_H

#include <stddef.h>

struct embedded_chunk {
	const unsigned char *source;
	size_t source_size;
	const unsigned char *dump;
	size_t dump_size;
	size_t name_at, name_size;
};

extern const struct embedded_chunk embedded_chunks[];
extern const int embedded_chunk_count;

/* Writes the length of a dumped string of n bytes as lua_dump does (n + 1
 * in 7-bit groups, most significant first, the last one marked with 0x80)
 * into out (at least 10 bytes); returns the number of bytes. */
static inline size_t dump_string_length(size_t n, unsigned char *out)
{
	unsigned char reversed[10];
	size_t count = 0, x = n + 1;
	do {
		reversed[count++] = x & 0x7f;
		x >>= 7;
	} while (x != 0);
	for (size_t i = 0; i < count; i++)
		out[i] = reversed[count - 1 - i];
	out[count - 1] |= 0x80;
	return count;
}

#endif
