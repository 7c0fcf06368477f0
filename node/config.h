/*
 * config.h: loading the node's config file (skynet's format) into the
 * environment.
 */
#ifndef SKYNET_CONFIG_H
#define SKYNET_CONFIG_H

#include <stddef.h>

typedef void (*config_setter)(void *ud, const char *key, const char *value);

/* Runs the config file at path and calls set for every key it defines.
 * Returns 0, or -1 with a message naming the file (and key) in err. */
int config_load(const char *path, config_setter set, void *ud, char *err,
                size_t errsz);

#endif
