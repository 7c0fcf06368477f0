/*
 * config.h: loading a skynet config file.
 *
 * A config is a Lua file of `key = value` assignments.  `$NAME` in the text
 * is replaced by the environment variable NAME before the file runs, and
 * `include "file"` runs another file into the same set of keys.  Values
 * must be strings, numbers or booleans; the keys the runtime reads are
 * type-checked.  Defaults are the caller's business.
 */
#ifndef SKYNET_CONFIG_H
#define SKYNET_CONFIG_H

#include <stddef.h>

/* Receives every key the config set, with its value as text: strings as
 * they are, numbers in decimal, booleans as "true" / "false". */
typedef void (*config_setter)(void *ud, const char *key, const char *value);

/* Loads the config at path and calls set for each key.  Returns 0, or -1
 * with a message in err that names the file (and line or key) at fault. */
int config_load(const char *path, config_setter set, void *ud, char *err,
                size_t errsz);

#endif
