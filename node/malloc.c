/*
 * malloc.c: the allocation functions of the public API.  They are thin
 * wrappers so that C services built for skynet link, and so that memory
 * handed between services always comes from one allocator.
 */
#include "skynet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *check(void *ptr, size_t sz)
{
	if (ptr == NULL && sz != 0) {
		fprintf(stderr, "skynode: out of memory allocating %zu bytes\n", sz);
		abort();
	}
	return ptr;
}

void *skynet_malloc(size_t sz) { return check(malloc(sz), sz); }

void *skynet_calloc(size_t nmemb, size_t size)
{
	return check(calloc(nmemb, size), nmemb * size);
}

void *skynet_realloc(void *ptr, size_t size)
{
	return check(realloc(ptr, size), size);
}

void skynet_free(void *ptr) { free(ptr); }

char *skynet_strdup(const char *str)
{
	size_t sz = strlen(str) + 1;
	char *copy = skynet_malloc(sz);
	memcpy(copy, str, sz);
	return copy;
}
