/*
 * harbor.h: harbor mode (several processes sharing one handle space, the
 * harbor id in the top 8 bits of a handle).
 *
 * harbor.c: the core hands every message for a remote handle or a global
 * name to the node's C `harbor` service (node/service_harbor.c), wrapped in
 * a struct remote_message sent as PTYPE_SYSTEM.
 *
 * The frame functions are the slave-to-slave wire format
 * (spec/harbor-protocol.md §6), implemented in service_harbor.c: a 4-byte
 * big-endian length N, the body, then a 12-byte big-endian trailer (source,
 * type << 24 | destination local id, session).  N counts body + trailer.
 */
#ifndef SKYNET_HARBOR_H
#define SKYNET_HARBOR_H

#include "server.h"

#include <stddef.h>
#include <stdint.h>

#define GLOBALNAME_LENGTH 16 /* NUL-padded field; names are 1..15 bytes */
#define REMOTE_MAX 256

/* What the core gives the harbor service (the PTYPE_SYSTEM body).  The
 * destination is a handle, or a global name when handle is 0.  The harbor
 * service takes ownership of message. */
struct remote_message {
	char name[GLOBALNAME_LENGTH];
	uint32_t handle;
	void *message;
	size_t sz;
	int type;
};

/* 1 when handle belongs to another harbor (top byte neither 0 nor ours). */
int skynet_harbor_isremote(uint32_t handle);

/* Hands msg (already prepared by skynet_send: source, session, payload) to
 * the harbor service, for the remote handle destination or, when name is
 * not NULL, for that global name.  0 on success; -1 when no harbor service
 * runs, and then the caller still owns msg->data. */
int skynet_harbor_send(uint32_t destination, const char *name,
		       struct skynet_message *msg);

/* The harbor service announces itself at init and leaves at release. */
void skynet_harbor_start(struct skynet_context *ctx);
void skynet_harbor_exit(uint32_t handle);

/* ---- harbor link frames ---- */

#define HARBOR_HEADER_SIZE 4
#define HARBOR_TRAILER_SIZE 12
#define HARBOR_FRAME_MAX 0xffffffu /* largest N a receiver accepts */
#define HARBOR_BODY_MAX (HARBOR_FRAME_MAX - HARBOR_TRAILER_SIZE)

struct harbor_trailer {
	uint32_t source;      /* full handle of the sender */
	uint32_t destination; /* local id (low 24 bits) of the receiver */
	int type;             /* PTYPE, 8 bits */
	int session;
};

/* A new heap buffer (skynet_malloc) holding length, body and trailer;
 * NULL when sz is over HARBOR_BODY_MAX. */
uint8_t *harbor_frame_encode(const void *body, size_t sz,
			     const struct harbor_trailer *trailer,
			     size_t *frame_size);

/* N from the 4 header bytes; -1 when the frame is invalid (first byte not
 * 0, i.e. over HARBOR_FRAME_MAX, or N < HARBOR_TRAILER_SIZE). */
long harbor_frame_length(const uint8_t header[HARBOR_HEADER_SIZE]);

/* Reads the trailer at the end of a frame's N bytes. */
void harbor_trailer_decode(const uint8_t *content, size_t n,
			   struct harbor_trailer *trailer);

#endif
