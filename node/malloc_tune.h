/*
 * malloc_tune.h: the allocator settings the node makes at start (malloc.c).
 */
#ifndef SKYNET_MALLOC_TUNE_H
#define SKYNET_MALLOC_TUNE_H

void skynet_malloc_tune(void);

#endif
