/*
 * builtin.c: what is linked into the skynode binary: C service modules
 * (found by name before any cpath lookup) and Lua C modules (registered in
 * every snlua service's package.preload).  The runtime's own tables are
 * here; the coordinator contributes its tables from coord/coord_modules.c.
 */
#include "builtin.h"
#include "module.h"

#include <lauxlib.h>
#include <string.h>

#define SERVICE(name)                                                        \
	void *name##_create(void);                                           \
	int name##_init(void *, struct skynet_context *, const char *);      \
	void name##_release(void *);                                         \
	void name##_signal(void *, int);

SERVICE(snlua)
SERVICE(logger)
SERVICE(harbor)

static const struct skynet_module node_services[] = {
	{ "snlua", NULL, snlua_create, snlua_init, snlua_release, snlua_signal },
	{ "logger", NULL, logger_create, logger_init, logger_release, NULL },
	{ "harbor", NULL, harbor_create, harbor_init, harbor_release, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

int luaopen_skynet_core(lua_State *L);
int luaopen_skynet_cluster_core(lua_State *L);
int luaopen_skynet_netpack(lua_State *L);
int luaopen_skynet_socketdriver(lua_State *L);
int luaopen_skynet_memory(lua_State *L);

static const luaL_Reg node_lua_modules[] = {
	{ "skynet.core", luaopen_skynet_core },
	{ "skynet.cluster.core", luaopen_skynet_cluster_core },
	{ "skynet.netpack", luaopen_skynet_netpack },
	{ "skynet.socketdriver", luaopen_skynet_socketdriver },
	{ "skynet.memory", luaopen_skynet_memory },
	{ NULL, NULL },
};

static const struct skynet_module *const service_tables[] = {
	node_services, coord_services, NULL
};

static const luaL_Reg *const lua_tables[] = {
	node_lua_modules, coord_lua_modules, NULL
};

const struct skynet_module *skynet_builtin_service(const char *name)
{
	for (int t = 0; service_tables[t]; t++)
		for (const struct skynet_module *m = service_tables[t]; m->name; m++)
			if (strcmp(m->name, name) == 0)
				return m;
	return NULL;
}

void skynet_preload_modules(lua_State *L)
{
	luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	for (int t = 0; lua_tables[t]; t++) {
		for (const luaL_Reg *m = lua_tables[t]; m->name; m++) {
			lua_pushcfunction(L, m->func);
			lua_setfield(L, -2, m->name);
		}
	}
	lua_pop(L, 1);
}
