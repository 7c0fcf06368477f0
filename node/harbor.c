/*
 * harbor.c: the core's side of harbor mode.  skynet_send and
 * skynet_sendname pass messages for remote handles and global names here;
 * they travel on to the node's C `harbor` service as PTYPE_SYSTEM messages
 * whose body is a struct remote_message (see harbor.h).
 */
#include "harbor.h"
#include "handle.h"

#include <stdatomic.h>
#include <string.h>

static _Atomic uint32_t harbor_service; /* 0 while none runs */

int skynet_harbor_isremote(uint32_t handle)
{
	int id = (int)(handle >> HANDLE_REMOTE_SHIFT);
	return id != 0 && id != skynet_handle_harbor();
}

int skynet_harbor_send(uint32_t destination, const char *name,
		       struct skynet_message *msg)
{
	uint32_t service = atomic_load(&harbor_service);
	if (service == 0)
		return -1;
	struct remote_message *rm = skynet_calloc(1, sizeof(*rm));
	if (name) /* truncated to the field, NUL-padded (rm is zeroed) */
		memcpy(rm->name, name, strnlen(name, GLOBALNAME_LENGTH));
	else
		rm->handle = destination;
	rm->message = msg->data;
	rm->sz = msg->sz & MESSAGE_TYPE_MASK;
	rm->type = (int)(msg->sz >> MESSAGE_TYPE_SHIFT);
	struct skynet_message wrapped = {
		.source = msg->source,
		.session = msg->session,
		.data = rm,
		.sz = sizeof(*rm) | ((size_t)PTYPE_SYSTEM << MESSAGE_TYPE_SHIFT),
	};
	if (skynet_context_push(service, &wrapped)) {
		skynet_free(rm);
		return -1;
	}
	return 0;
}

void skynet_harbor_start(struct skynet_context *ctx)
{
	atomic_store(&harbor_service, skynet_context_handle(ctx));
}

void skynet_harbor_exit(uint32_t handle)
{
	atomic_compare_exchange_strong(&harbor_service, &handle, 0);
}
