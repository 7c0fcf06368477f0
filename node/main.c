/*
 * main.c: the skynode command line.  Loads the config file into the
 * environment, fills in the defaults (paths relative to the folder the
 * binary lives in, so a deployment is the binary plus its Lua folders) and
 * starts the node.
 */
#include "config.h"
#include "env.h"
#include "malloc_tune.h"
#include "start.h"
#include "skynet.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void set_env(void *ud, const char *key, const char *value)
{
	(void)ud;
	skynet_setenv(key, value);
}

/* The folder holding the skynode binary (falls back to "."). */
static void install_root(char *root, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		snprintf(root, size, ".");
		return;
	}
	exe[n] = '\0';
	snprintf(root, size, "%s", dirname(exe));
}

static const char *default_string(const char *key, const char *value)
{
	const char *current = skynet_getenv(key);
	if (current)
		return current;
	skynet_setenv(key, value);
	return skynet_getenv(key);
}

static int default_int(const char *key, int value)
{
	const char *current = skynet_getenv(key);
	if (current)
		return atoi(current);
	char text[32];
	snprintf(text, sizeof(text), "%d", value);
	skynet_setenv(key, text);
	return value;
}

static void default_path(const char *key, const char *root, const char *tmpl)
{
	if (skynet_getenv(key))
		return;
	char value[4 * PATH_MAX];
	char *out = value;
	for (const char *p = tmpl; *p && out < value + sizeof(value) - PATH_MAX; p++) {
		if (*p == '@')
			out += snprintf(out, PATH_MAX, "%s", root);
		else
			*out++ = *p;
	}
	*out = '\0';
	skynet_setenv(key, value);
}

static void apply_defaults(struct skynet_config *config)
{
	char root[PATH_MAX];
	install_root(root, sizeof(root));
	default_path("luaservice", root, "@/service/?.lua");
	default_path("lua_path", root,
		     "@/lualib/?.lua;@/lualib/?/init.lua;@/coord/?.lua");
	default_path("lua_cpath", root, "@/luaclib/?.so");
	default_path("cpath", root, "@/cservice/?.so");
	config->thread = default_int("thread", 8);
	config->harbor = default_int("harbor", 0);
	config->profile = strcmp(default_string("profile", "false"), "true") == 0;
	config->cpath = skynet_getenv("cpath");
	config->bootstrap = default_string("bootstrap", "snlua bootstrap");
	config->logservice = default_string("logservice", "logger");
	config->logger = skynet_getenv("logger");
}

static int check_config(const struct skynet_config *config, const char *path)
{
	if (config->thread < 1 || config->thread > 256) {
		fprintf(stderr, "skynode: %s: key `thread` must be 1..256, not %d\n",
			path, config->thread);
		return -1;
	}
	if (config->harbor < 0 || config->harbor > 255) {
		fprintf(stderr, "skynode: %s: key `harbor` must be 0..255, not %d\n",
			path, config->harbor);
		return -1;
	}
	return 0;
}

int main(int argc, char *argv[])
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s <config file>\n", argv[0]);
		return 2;
	}
	skynet_malloc_tune();
	char err[1024];
	if (config_load(argv[1], set_env, NULL, err, sizeof(err))) {
		fprintf(stderr, "skynode: %s\n", err);
		skynet_env_free();
		return 1;
	}
	/* Services name the file in their config errors. */
	skynet_setenv("skynode_config", argv[1]);
	struct skynet_config config;
	apply_defaults(&config);
	int status = check_config(&config, argv[1]);
	if (status == 0)
		status = skynet_start(&config);
	skynet_env_free();
	return status ? 1 : 0;
}
