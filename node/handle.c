/*
 * handle.c: the handle table.  Contexts live in an open-addressed array
 * indexed by the low bits of their handle; the array doubles when full.
 * Local names are a sorted array searched by bisection.  One read-write
 * lock guards both: lookups are frequent, changes are rare.
 */
#include "handle.h"
#include "mq.h"
#include "server.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_SLOTS 16
#define INITIAL_NAMES 8

struct handle_name {
	char *name;
	uint32_t handle;
};

static struct {
	pthread_rwlock_t lock;
	uint32_t harbor;
	uint32_t next_index;
	int slot_count; /* a power of two */
	struct skynet_context **slots;
	int name_count;
	int name_cap;
	struct handle_name *names;
} H;

void skynet_handle_init(int harbor)
{
	pthread_rwlock_init(&H.lock, NULL);
	H.harbor = (uint32_t)(harbor & 0xff) << HANDLE_REMOTE_SHIFT;
	H.next_index = 1;
	H.slot_count = INITIAL_SLOTS;
	H.slots = skynet_calloc(H.slot_count, sizeof(*H.slots));
	H.name_cap = INITIAL_NAMES;
	H.name_count = 0;
	H.names = skynet_malloc(H.name_cap * sizeof(*H.names));
}

void skynet_handle_free(void)
{
	for (int i = 0; i < H.name_count; i++)
		skynet_free(H.names[i].name);
	skynet_free(H.names);
	skynet_free(H.slots);
	H.names = NULL;
	H.slots = NULL;
	pthread_rwlock_destroy(&H.lock);
}

int skynet_handle_harbor(void) { return (int)(H.harbor >> HANDLE_REMOTE_SHIFT); }

static void grow_slots(void)
{
	int count = H.slot_count * 2;
	struct skynet_context **slots = skynet_calloc(count, sizeof(*slots));
	for (int i = 0; i < H.slot_count; i++) {
		struct skynet_context *ctx = H.slots[i];
		if (ctx)
			slots[skynet_context_handle(ctx) & (count - 1)] = ctx;
	}
	skynet_free(H.slots);
	H.slots = slots;
	H.slot_count = count;
}

/* Finds a free index at or after next_index; 0 if the table is full. */
static uint32_t free_index(void)
{
	uint32_t index = H.next_index;
	for (int i = 0; i < H.slot_count; i++, index++) {
		index &= HANDLE_MASK;
		if (index == 0)
			index = 1;
		if (H.slots[index & (H.slot_count - 1)] == NULL)
			return index;
	}
	return 0;
}

uint32_t skynet_handle_register(struct skynet_context *ctx)
{
	pthread_rwlock_wrlock(&H.lock);
	uint32_t index;
	while ((index = free_index()) == 0)
		grow_slots();
	H.slots[index & (H.slot_count - 1)] = ctx;
	H.next_index = index + 1;
	pthread_rwlock_unlock(&H.lock);
	return index | H.harbor;
}

static void remove_names_of(uint32_t handle)
{
	int kept = 0;
	for (int i = 0; i < H.name_count; i++) {
		if (H.names[i].handle == handle)
			skynet_free(H.names[i].name);
		else
			H.names[kept++] = H.names[i];
	}
	H.name_count = kept;
}

int skynet_handle_retire(uint32_t handle)
{
	struct skynet_context *ctx = NULL;
	pthread_rwlock_wrlock(&H.lock);
	uint32_t slot = handle & (H.slot_count - 1);
	struct skynet_context *found = H.slots[slot];
	if (found && skynet_context_handle(found) == handle) {
		H.slots[slot] = NULL;
		ctx = found;
		remove_names_of(handle);
	}
	pthread_rwlock_unlock(&H.lock);
	if (ctx) {
		skynet_context_retired(ctx);
		skynet_context_release(ctx); /* outside the lock: may log */
	}
	return ctx != NULL;
}

void skynet_handle_retireall(void)
{
	for (;;) {
		int live = 0;
		for (int i = 0;; i++) {
			pthread_rwlock_rdlock(&H.lock);
			int count = H.slot_count;
			struct skynet_context *ctx = i < count ? H.slots[i] : NULL;
			uint32_t handle = ctx ? skynet_context_handle(ctx) : 0;
			pthread_rwlock_unlock(&H.lock);
			if (i >= count)
				break;
			if (handle && skynet_handle_retire(handle))
				live++;
		}
		if (live == 0)
			return;
	}
}

struct skynet_context *skynet_handle_grab(uint32_t handle)
{
	struct skynet_context *ctx = NULL;
	pthread_rwlock_rdlock(&H.lock);
	struct skynet_context *found = H.slots[handle & (H.slot_count - 1)];
	if (found && skynet_context_handle(found) == handle) {
		ctx = found;
		skynet_context_grab(ctx);
	}
	pthread_rwlock_unlock(&H.lock);
	return ctx;
}

/* Under the read lock the context cannot be retired, so its queue lives
 * on: no reference is taken (no write to the context for each message). */
int skynet_handle_push(uint32_t handle, struct skynet_message *msg)
{
	int found = 0;
	pthread_rwlock_rdlock(&H.lock);
	struct skynet_context *ctx = H.slots[handle & (H.slot_count - 1)];
	if (ctx && skynet_context_handle(ctx) == handle) {
		skynet_mq_push(skynet_context_queue(ctx), msg);
		found = 1;
	}
	pthread_rwlock_unlock(&H.lock);
	return found ? 0 : -1;
}

/* Index of name in the sorted array, or where it would go (as -1 - pos). */
static int search_name(const char *name)
{
	int lo = 0, hi = H.name_count - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		int c = strcmp(H.names[mid].name, name);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1 - lo;
}

uint32_t skynet_handle_findname(const char *name)
{
	pthread_rwlock_rdlock(&H.lock);
	int at = search_name(name);
	uint32_t handle = at >= 0 ? H.names[at].handle : 0;
	pthread_rwlock_unlock(&H.lock);
	return handle;
}

static const char *insert_name(int pos, const char *name, uint32_t handle)
{
	if (H.name_count == H.name_cap) {
		H.name_cap *= 2;
		H.names = skynet_realloc(H.names, H.name_cap * sizeof(*H.names));
	}
	memmove(H.names + pos + 1, H.names + pos,
		(H.name_count - pos) * sizeof(*H.names));
	H.names[pos].name = skynet_strdup(name);
	H.names[pos].handle = handle;
	H.name_count++;
	return H.names[pos].name;
}

const char *skynet_handle_namehandle(uint32_t handle, const char *name)
{
	pthread_rwlock_wrlock(&H.lock);
	int at = search_name(name);
	const char *stored = at >= 0 ? NULL : insert_name(-1 - at, name, handle);
	pthread_rwlock_unlock(&H.lock);
	return stored;
}
