/*
 * env.c: the node's environment.  Values are kept for the life of the node
 * (skynet_getenv hands out pointers that must stay valid), so a value that
 * is replaced goes to a retired list freed at exit.
 */
#include "env.h"
#include "skynet.h"

#include <pthread.h>
#include <string.h>

struct env_entry {
	char *key;
	char *value;
	struct env_entry *next;
};

static struct {
	pthread_rwlock_t lock;
	struct env_entry *entries;
	struct env_entry *retired;
} E = { PTHREAD_RWLOCK_INITIALIZER, NULL, NULL };

static struct env_entry *find(const char *key)
{
	for (struct env_entry *e = E.entries; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

const char *skynet_getenv(const char *key)
{
	pthread_rwlock_rdlock(&E.lock);
	struct env_entry *e = find(key);
	const char *value = e ? e->value : NULL;
	pthread_rwlock_unlock(&E.lock);
	return value;
}

static void retire(char *value)
{
	struct env_entry *old = skynet_malloc(sizeof(*old));
	old->key = NULL;
	old->value = value;
	old->next = E.retired;
	E.retired = old;
}

void skynet_setenv(const char *key, const char *value)
{
	pthread_rwlock_wrlock(&E.lock);
	struct env_entry *e = find(key);
	if (e) {
		retire(e->value);
	} else {
		e = skynet_malloc(sizeof(*e));
		e->key = skynet_strdup(key);
		e->next = E.entries;
		E.entries = e;
	}
	e->value = skynet_strdup(value);
	pthread_rwlock_unlock(&E.lock);
}

static void free_list(struct env_entry *e)
{
	while (e) {
		struct env_entry *next = e->next;
		skynet_free(e->key);
		skynet_free(e->value);
		skynet_free(e);
		e = next;
	}
}

void skynet_env_free(void)
{
	pthread_rwlock_wrlock(&E.lock);
	free_list(E.entries);
	free_list(E.retired);
	E.entries = E.retired = NULL;
	pthread_rwlock_unlock(&E.lock);
}
