/*
 * coord_modules.c: the coordinator's C services and Lua C modules, as the
 * runtime links them into the binary (see node/builtin.c).
 */
#include "builtin.h"
#include "module.h"

void *redisdrv_create(void);
int redisdrv_init(void *inst, struct skynet_context *ctx, const char *parm);
void redisdrv_release(void *inst);
void redisdrv_signal(void *inst, int sig);
int luaopen_skynet_coord_redis(lua_State *L);

const struct skynet_module coord_services[] = {
	{ "redisdrv", NULL, redisdrv_create, redisdrv_init, redisdrv_release,
	  redisdrv_signal },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

const luaL_Reg coord_lua_modules[] = {
	{ "skynet.coord.redis", luaopen_skynet_coord_redis },
	{ NULL, NULL },
};
