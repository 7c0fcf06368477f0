/*
 * module.c: finds C service modules by name: first among the built-ins,
 * then as shared objects along the `cpath` templates (each '?' replaced by
 * the module name).  Loaded modules are cached for the life of the node.
 */
#include "module.h"
#include "builtin.h"
#include "skynet.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define MAX_MODULES 64

static struct {
	pthread_mutex_t lock;
	char *cpath;
	int count;
	struct skynet_module loaded[MAX_MODULES];
} M = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, {{0}} };

void skynet_module_init(const char *cpath)
{
	M.cpath = skynet_strdup(cpath ? cpath : "./cservice/?.so");
}

void skynet_module_free(void)
{
	for (int i = 0; i < M.count; i++) {
		skynet_free((char *)M.loaded[i].name);
		if (M.loaded[i].handle)
			dlclose(M.loaded[i].handle);
	}
	M.count = 0;
	skynet_free(M.cpath);
	M.cpath = NULL;
}

/* Tries each ';'-separated template of cpath; returns a dlopen handle. */
static void *open_shared(const char *name)
{
	const char *tmpl = M.cpath;
	char path[1024];
	while (*tmpl) {
		const char *end = strchr(tmpl, ';');
		size_t len = end ? (size_t)(end - tmpl) : strlen(tmpl);
		const char *mark = memchr(tmpl, '?', len);
		if (mark) {
			snprintf(path, sizeof(path), "%.*s%s%.*s", (int)(mark - tmpl),
				 tmpl, name, (int)(len - (mark - tmpl) - 1), mark + 1);
			void *dl = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
			if (dl)
				return dl;
		}
		tmpl += len + (end != NULL);
	}
	skynet_error(NULL, "cannot find C service module %s in cpath %s", name,
		     M.cpath);
	return NULL;
}

static void *symbol(void *dl, const char *name, const char *suffix)
{
	char sym[256];
	snprintf(sym, sizeof(sym), "%s%s", name, suffix);
	return dlsym(dl, sym);
}

static int load_shared(struct skynet_module *m, const char *name)
{
	void *dl = open_shared(name);
	if (dl == NULL)
		return -1;
	m->handle = dl;
	m->create = (skynet_dl_create)symbol(dl, name, "_create");
	m->init = (skynet_dl_init)symbol(dl, name, "_init");
	m->release = (skynet_dl_release)symbol(dl, name, "_release");
	m->signal = (skynet_dl_signal)symbol(dl, name, "_signal");
	if (m->init == NULL) {
		skynet_error(NULL, "C service module %s has no %s_init", name, name);
		dlclose(dl);
		return -1;
	}
	return 0;
}

static struct skynet_module *find_loaded(const char *name)
{
	for (int i = 0; i < M.count; i++)
		if (strcmp(M.loaded[i].name, name) == 0)
			return &M.loaded[i];
	return NULL;
}

struct skynet_module *skynet_module_query(const char *name)
{
	pthread_mutex_lock(&M.lock);
	struct skynet_module *m = find_loaded(name);
	if (m == NULL && M.count < MAX_MODULES) {
		struct skynet_module *slot = &M.loaded[M.count];
		const struct skynet_module *builtin = skynet_builtin_service(name);
		if (builtin)
			*slot = *builtin;
		if (builtin || load_shared(slot, name) == 0) {
			slot->name = skynet_strdup(name);
			m = slot;
			M.count++;
		}
	}
	pthread_mutex_unlock(&M.lock);
	return m;
}

void *skynet_module_instance_create(struct skynet_module *m)
{
	/* A module without create gets a non-NULL dummy instance. */
	return m->create ? m->create() : (void *)(intptr_t)~0;
}

int skynet_module_instance_init(struct skynet_module *m, void *inst,
				struct skynet_context *ctx, const char *parm)
{
	return m->init(inst, ctx, parm);
}

void skynet_module_instance_release(struct skynet_module *m, void *inst)
{
	if (m->release)
		m->release(inst);
}

void skynet_module_instance_signal(struct skynet_module *m, void *inst,
				   int signal)
{
	if (m->signal)
		m->signal(inst, signal);
}
