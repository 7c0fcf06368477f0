/*
 * service_harbor.c: the built-in C service `harbor`, one per process.  It
 * carries messages for remote handles over direct TCP links to the other
 * harbors (spec/harbor-protocol.md §6-§7), resolves global names with the
 * help of the Lua service .cslave, and queues messages while a link or a
 * name is not ready.  Launched by cslave (or cdummy) as
 * "harbor <harbor_id> <cslave_handle>".
 *
 * Differences from skynet's service, all invisible on the wire:
 *  - a link that closes is DOWN at once: every request still waiting for an
 *    answer over it, and every later message to that harbor, gets a
 *    PTYPE_ERROR, so skynet.call fails instead of hanging;
 *  - a DOWN slot accepts a new link (S/A command), so a restarted harbor id
 *    can rejoin;
 *  - messages queued under a name get the resolved handle before they move
 *    to a link queue; "U <name>" from cslave forgets a name's handle; frames with N < 12 close the link; a body too large
 *    for a frame fails its sender instead of killing the link.
 */
#include "harbor.h"
#include "skynet.h"
#include "skynet_socket.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_BUCKETS 256
#define CALL_BUCKETS 4096

/* LINK_START: the socket is handed over, waiting for the socket thread to
 * make this service its owner; only then is the id byte sent, so that no
 * answer can reach the previous owner. */
enum link_state {
	LINK_WAIT, LINK_HANDSHAKE, LINK_HEADER, LINK_CONTENT, LINK_DOWN,
	LINK_START,
};

/* A message waiting for a link to come up or a name to resolve. */
struct outgoing {
	uint32_t source;
	uint32_t destination; /* 0 while its global name is unresolved */
	int type;
	int session;
	void *data;
	size_t sz;
};

struct outgoing_queue {
	struct outgoing *items;
	int count;
	int capacity;
};

struct link {
	int socket; /* 0: none */
	enum link_state state;
	bool dialed; /* we connected (S): the peer's id byte comes first */
	struct outgoing_queue pending;
	uint8_t header[HARBOR_HEADER_SIZE];
	int header_got;
	uint8_t *content;
	size_t content_size;
	size_t content_got;
};

struct global_name {
	char name[GLOBALNAME_LENGTH];
	uint32_t handle; /* 0: unknown yet */
	struct outgoing_queue waiting;
	struct global_name *next;
};

/* A request sent over a link whose answer has not come back yet. */
struct open_call {
	uint32_t source;
	int session;
	uint32_t destination;
	struct open_call *next;
};

struct harbor {
	struct skynet_context *ctx;
	uint32_t self;
	int id;
	uint32_t slave;
	struct link links[REMOTE_MAX];
	struct global_name *names[NAME_BUCKETS];
	struct open_call *calls[CALL_BUCKETS];
};

/* ---- frames (declared in harbor.h) ---- */

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

uint8_t *harbor_frame_encode(const void *body, size_t sz,
			     const struct harbor_trailer *trailer,
			     size_t *frame_size)
{
	if (sz > HARBOR_BODY_MAX)
		return NULL;
	size_t n = sz + HARBOR_TRAILER_SIZE;
	uint8_t *frame = skynet_malloc(HARBOR_HEADER_SIZE + n);
	put_u32(frame, (uint32_t)n);
	if (sz)
		memcpy(frame + HARBOR_HEADER_SIZE, body, sz);
	uint8_t *t = frame + HARBOR_HEADER_SIZE + sz;
	put_u32(t, trailer->source);
	put_u32(t + 4, (uint32_t)(trailer->type & 0xff) << 24 |
			       (trailer->destination & HANDLE_MASK));
	put_u32(t + 8, (uint32_t)trailer->session);
	*frame_size = HARBOR_HEADER_SIZE + n;
	return frame;
}

long harbor_frame_length(const uint8_t header[HARBOR_HEADER_SIZE])
{
	uint32_t n = get_u32(header);
	if (n > HARBOR_FRAME_MAX || n < HARBOR_TRAILER_SIZE)
		return -1;
	return (long)n;
}

void harbor_trailer_decode(const uint8_t *content, size_t n,
			   struct harbor_trailer *trailer)
{
	const uint8_t *t = content + n - HARBOR_TRAILER_SIZE;
	uint32_t typed = get_u32(t + 4);
	trailer->source = get_u32(t);
	trailer->type = (int)(typed >> 24);
	trailer->destination = typed & HANDLE_MASK;
	trailer->session = (int)get_u32(t + 8);
}

/* ---- small helpers ---- */

static bool is_request(int type, int session)
{
	return session != 0 && type != PTYPE_RESPONSE && type != PTYPE_ERROR;
}

/* The sender of a request that can't be delivered gets an empty error,
 * from the destination it tried to reach. */
static void fail_sender(struct harbor *h, const struct outgoing *m)
{
	skynet_free(m->data);
	if (is_request(m->type, m->session) && m->source != 0)
		skynet_send(h->ctx, m->destination, m->source, PTYPE_ERROR,
			    m->session, NULL, 0);
}

static void tell_slave(struct harbor *h, const char *text)
{
	skynet_send(h->ctx, 0, h->slave, PTYPE_TEXT, 0, (void *)text,
		    strlen(text));
}

static void queue_push(struct outgoing_queue *q, const struct outgoing *m)
{
	if (q->count == q->capacity) {
		q->capacity = q->capacity ? q->capacity * 2 : 16;
		q->items = skynet_realloc(q->items,
					  sizeof(*q->items) * (size_t)q->capacity);
	}
	q->items[q->count++] = *m;
}

/* Empties q and returns what it held (free the items array after use). */
static struct outgoing_queue queue_take(struct outgoing_queue *q)
{
	struct outgoing_queue taken = *q;
	memset(q, 0, sizeof(*q));
	return taken;
}

/* ---- requests waiting for an answer over a link ---- */

static struct open_call **call_bucket(struct harbor *h, uint32_t source,
				      int session)
{
	unsigned key = (source * 2654435761u) ^ (unsigned)session;
	return &h->calls[key % CALL_BUCKETS];
}

static void remember_call(struct harbor *h, uint32_t source, int session,
			  uint32_t destination)
{
	struct open_call **bucket = call_bucket(h, source, session);
	struct open_call *c = skynet_malloc(sizeof(*c));
	c->source = source;
	c->session = session;
	c->destination = destination;
	c->next = *bucket;
	*bucket = c;
}

/* An answer came for (source, session), over whichever link. */
static void forget_call(struct harbor *h, uint32_t source, int session)
{
	for (struct open_call **p = call_bucket(h, source, session); *p;
	     p = &(*p)->next) {
		struct open_call *c = *p;
		if (c->source == source && c->session == session) {
			*p = c->next;
			skynet_free(c);
			return;
		}
	}
}

/* Every request still waiting on harbor id fails (id < 0: forget all). */
static void fail_calls(struct harbor *h, int id)
{
	for (int b = 0; b < CALL_BUCKETS; b++) {
		struct open_call **p = &h->calls[b];
		while (*p) {
			struct open_call *c = *p;
			int harbor = (int)(c->destination >> HANDLE_REMOTE_SHIFT);
			if (id >= 0 && harbor != id) {
				p = &c->next;
				continue;
			}
			*p = c->next;
			if (id >= 0)
				skynet_send(h->ctx, c->destination, c->source,
					    PTYPE_ERROR, c->session, NULL, 0);
			skynet_free(c);
		}
	}
}

/* ---- links ---- */

static void drop_content(struct link *l)
{
	skynet_free(l->content);
	l->content = NULL;
	l->content_size = l->content_got = 0;
	l->header_got = 0;
}

/* The link to id is gone: report it, fail what waits on it; the slot is
 * DOWN (messages to it fail at once) until a new S or A command. */
static void link_down(struct harbor *h, int id, const char *why)
{
	struct link *l = &h->links[id];
	if (l->socket == 0)
		return;
	skynet_error(h->ctx, "harbor %d is down: %s", id, why);
	l->socket = 0;
	l->state = LINK_DOWN;
	drop_content(l);
	struct outgoing_queue q = queue_take(&l->pending);
	for (int i = 0; i < q.count; i++)
		fail_sender(h, &q.items[i]);
	skynet_free(q.items);
	fail_calls(h, id);
	char text[16];
	snprintf(text, sizeof(text), "D %d", id);
	tell_slave(h, text);
}

static void close_link(struct harbor *h, int id, const char *why)
{
	int socket = h->links[id].socket;
	link_down(h, id, why);
	if (socket)
		skynet_socket_close(h->ctx, socket);
}

static void write_frame(struct harbor *h, int id, struct outgoing *m)
{
	struct harbor_trailer t = {
		.source = m->source,
		.destination = m->destination,
		.type = m->type,
		.session = m->session,
	};
	size_t size;
	uint8_t *frame = harbor_frame_encode(m->data, m->sz, &t, &size);
	if (frame == NULL) {
		skynet_error(h->ctx, "message to %08x is too large for a harbor link (%zu bytes, at most %u)",
			     m->destination, m->sz, HARBOR_BODY_MAX);
		fail_sender(h, m);
		return;
	}
	skynet_free(m->data);
	if (is_request(m->type, m->session) && !skynet_harbor_isremote(m->source))
		remember_call(h, m->source, m->session, m->destination);
	skynet_socket_write(h->ctx, h->links[id].socket, frame, size, 0);
}

static void flush_pending(struct harbor *h, int id)
{
	struct outgoing_queue q = queue_take(&h->links[id].pending);
	for (int i = 0; i < q.count; i++)
		write_frame(h, id, &q.items[i]);
	skynet_free(q.items);
}

/* ---- outgoing messages ---- */

static void deliver_local(struct harbor *h, struct outgoing *m)
{
	if (skynet_send(h->ctx, m->source, m->destination,
			m->type | PTYPE_TAG_DONTCOPY, m->session, m->data,
			m->sz) < 0) {
		m->data = NULL;
		fail_sender(h, m);
	}
}

static void send_to_handle(struct harbor *h, struct outgoing *m)
{
	int id = (int)(m->destination >> HANDLE_REMOTE_SHIFT);
	if (id == 0 || id == h->id) {
		deliver_local(h, m);
		return;
	}
	struct link *l = &h->links[id];
	if (l->state == LINK_DOWN) {
		skynet_error(h->ctx, "Drop message to harbor %d from %08x to %08x (session = %d): the link is down",
			     id, m->source, m->destination, m->session);
		fail_sender(h, m);
	} else if (l->socket == 0 || l->state == LINK_HANDSHAKE ||
		   l->state == LINK_START) {
		queue_push(&l->pending, m);
	} else {
		write_frame(h, id, m);
	}
}

static struct global_name **name_bucket(struct harbor *h, const char *name)
{
	unsigned hash = 5381;
	for (int i = 0; i < GLOBALNAME_LENGTH && name[i]; i++)
		hash = hash * 33 + (unsigned char)name[i];
	return &h->names[hash % NAME_BUCKETS];
}

static struct global_name *find_name(struct harbor *h, const char *name,
				     bool create)
{
	struct global_name **bucket = name_bucket(h, name);
	for (struct global_name *n = *bucket; n; n = n->next)
		if (strncmp(n->name, name, GLOBALNAME_LENGTH) == 0)
			return n;
	if (!create)
		return NULL;
	struct global_name *n = skynet_calloc(1, sizeof(*n));
	memcpy(n->name, name, strnlen(name, GLOBALNAME_LENGTH));
	n->next = *bucket;
	*bucket = n;
	return n;
}

static void send_to_name(struct harbor *h, const char *name,
			 struct outgoing *m)
{
	struct global_name *n = find_name(h, name, true);
	if (n->handle) {
		m->destination = n->handle;
		send_to_handle(h, m);
		return;
	}
	queue_push(&n->waiting, m);
	char text[GLOBALNAME_LENGTH + 3];
	snprintf(text, sizeof(text), "Q %.*s", GLOBALNAME_LENGTH, name);
	tell_slave(h, text);
}

static void on_remote_message(struct harbor *h, uint32_t source, int session,
			      const struct remote_message *rm)
{
	struct outgoing m = {
		.source = source,
		.destination = rm->handle,
		.type = rm->type,
		.session = session,
		.data = rm->message,
		.sz = rm->sz,
	};
	if (rm->handle)
		send_to_handle(h, &m);
	else
		send_to_name(h, rm->name, &m);
}

/* ---- commands from cslave (PTYPE_HARBOR text) ---- */

/* The entry of a name given with its length, NULL if the name is invalid. */
static struct global_name *name_entry(struct harbor *h, const char *name,
				      size_t len)
{
	if (len == 0 || len >= GLOBALNAME_LENGTH) {
		skynet_error(h->ctx, "harbor: invalid global name '%.*s' (1..15 bytes)",
			     (int)len, name);
		return NULL;
	}
	char key[GLOBALNAME_LENGTH] = { 0 };
	memcpy(key, name, len);
	return find_name(h, key, true);
}

/* "U name": the name no longer points anywhere; messages wait again. */
static void name_forgotten(struct harbor *h, const char *name, size_t len)
{
	struct global_name *n = name_entry(h, name, len);
	if (n)
		n->handle = 0;
}

static void name_resolved(struct harbor *h, const char *name, size_t len,
			  uint32_t handle)
{
	struct global_name *n = name_entry(h, name, len);
	if (n == NULL)
		return;
	n->handle = handle;
	struct outgoing_queue q = queue_take(&n->waiting);
	for (int i = 0; i < q.count; i++) {
		q.items[i].destination = handle;
		send_to_handle(h, &q.items[i]);
	}
	skynet_free(q.items);
}

static void take_socket(struct harbor *h, int socket, int id, bool connected)
{
	if (socket <= 0 || id <= 0 || id >= REMOTE_MAX || id == h->id) {
		skynet_error(h->ctx, "harbor: invalid link command (socket %d, harbor %d)",
			     socket, id);
		return;
	}
	struct link *l = &h->links[id];
	if (l->socket) {
		skynet_error(h->ctx, "harbor: harbor %d already has a link (socket %d)",
			     id, l->socket);
		skynet_socket_close(h->ctx, socket);
		return;
	}
	l->socket = socket;
	l->state = LINK_START;
	l->dialed = connected;
	drop_content(l);
	skynet_socket_start(h->ctx, socket);
}

/* The socket is ours now: send our id byte; an accepted link is up. */
static void link_started(struct harbor *h, int id)
{
	struct link *l = &h->links[id];
	if (l->state != LINK_START)
		return;
	uint8_t own_id = (uint8_t)h->id;
	skynet_socket_write(h->ctx, l->socket, &own_id, 1,
			    SKYNET_SOCKET_SEND_COPY);
	l->state = l->dialed ? LINK_HANDSHAKE : LINK_HEADER;
	if (!l->dialed)
		flush_pending(h, id);
}

static void on_slave_command(struct harbor *h, uint32_t source,
			     const char *text, size_t sz)
{
	int socket, id;
	char tail;
	if (sz >= 2 && text[0] == 'N' && text[1] == ' ') {
		name_resolved(h, text + 2, sz - 2, source);
		return;
	}
	if (sz >= 2 && text[0] == 'U' && text[1] == ' ') {
		name_forgotten(h, text + 2, sz - 2);
		return;
	}
	char line[64];
	snprintf(line, sizeof(line), "%.*s", (int)(sz < 63 ? sz : 63), text);
	if (sscanf(line, "S %d %d %c", &socket, &id, &tail) == 2)
		take_socket(h, socket, id, true);
	else if (sscanf(line, "A %d %d %c", &socket, &id, &tail) == 2)
		take_socket(h, socket, id, false);
	else
		skynet_error(h->ctx, "harbor: unknown command '%s'", line);
}

/* ---- incoming bytes ---- */

static int link_of_socket(struct harbor *h, int socket)
{
	for (int id = 1; id < REMOTE_MAX; id++)
		if (h->links[id].socket == socket)
			return id;
	return 0;
}

/* A whole frame arrived: deliver its body without a copy. */
static void deliver_frame(struct harbor *h, struct link *l)
{
	struct harbor_trailer t;
	harbor_trailer_decode(l->content, l->content_size, &t);
	size_t body = l->content_size - HARBOR_TRAILER_SIZE;
	void *data = l->content;
	l->content = NULL;
	drop_content(l);
	if (body == 0) {
		skynet_free(data);
		data = NULL;
	}
	uint32_t destination = t.destination |
			       ((uint32_t)h->id << HANDLE_REMOTE_SHIFT);
	if (!is_request(t.type, t.session))
		forget_call(h, destination, t.session);
	struct outgoing m = {
		.source = t.source,
		.destination = destination,
		.type = t.type,
		.session = t.session,
		.data = data,
		.sz = body,
	};
	deliver_local(h, &m);
}

/* Consumes the 4 header bytes; false when the link must close. */
static bool read_header(struct harbor *h, int id, const uint8_t **p,
			size_t *n)
{
	struct link *l = &h->links[id];
	size_t want = HARBOR_HEADER_SIZE - (size_t)l->header_got;
	size_t take = *n < want ? *n : want;
	memcpy(l->header + l->header_got, *p, take);
	l->header_got += (int)take;
	*p += take;
	*n -= take;
	if (l->header_got < HARBOR_HEADER_SIZE)
		return true;
	long length = harbor_frame_length(l->header);
	if (length < 0) {
		skynet_error(h->ctx, "harbor %d sent an invalid frame length %u: %s",
			     id, get_u32(l->header),
			     l->header[0] ? "Message is too long" : "shorter than its trailer");
		return false;
	}
	l->content_size = (size_t)length;
	l->content_got = 0;
	l->content = skynet_malloc(l->content_size);
	l->state = LINK_CONTENT;
	return true;
}

static void read_content(struct harbor *h, struct link *l, const uint8_t **p,
			 size_t *n)
{
	size_t want = l->content_size - l->content_got;
	size_t take = *n < want ? *n : want;
	memcpy(l->content + l->content_got, *p, take);
	l->content_got += take;
	*p += take;
	*n -= take;
	if (l->content_got == l->content_size) {
		l->state = LINK_HEADER;
		deliver_frame(h, l);
	}
}

static void on_link_data(struct harbor *h, int id, const uint8_t *p, size_t n)
{
	struct link *l = &h->links[id];
	while (n > 0 && l->socket) {
		switch (l->state) {
		case LINK_HANDSHAKE:
			if (*p != id) {
				skynet_error(h->ctx, "harbor: peer on socket %d says it is harbor %d, expected %d",
					     l->socket, *p, id);
				close_link(h, id, "handshake mismatch");
				return;
			}
			p++;
			n--;
			l->state = LINK_HEADER;
			flush_pending(h, id);
			break;
		case LINK_HEADER:
			if (!read_header(h, id, &p, &n)) {
				close_link(h, id, "invalid frame");
				return;
			}
			break;
		case LINK_CONTENT:
			read_content(h, l, &p, &n);
			break;
		default:
			return;
		}
	}
}

static void on_socket(struct harbor *h, const struct skynet_socket_message *sm)
{
	int id = link_of_socket(h, sm->id);
	switch (sm->type) {
	case SKYNET_SOCKET_TYPE_DATA:
		if (id)
			on_link_data(h, id, (const uint8_t *)sm->buffer,
				     (size_t)sm->ud);
		else
			skynet_error(h->ctx, "harbor: %d bytes on unknown socket %d",
				     sm->ud, sm->id);
		skynet_free(sm->buffer);
		break;
	case SKYNET_SOCKET_TYPE_CONNECT:
		if (id)
			link_started(h, id);
		break;
	case SKYNET_SOCKET_TYPE_CLOSE:
		if (id)
			link_down(h, id, "connection closed");
		break;
	case SKYNET_SOCKET_TYPE_ERROR:
		if (id)
			close_link(h, id, (const char *)(sm + 1));
		break;
	case SKYNET_SOCKET_TYPE_WARNING:
		skynet_error(h->ctx, "harbor: link to harbor %d has %d KiB waiting to be sent",
			     id, sm->ud);
		break;
	default:
		break;
	}
}

/* ---- the service ---- */

static int harbor_dispatch(struct skynet_context *ctx, void *ud, int type,
			   int session, uint32_t source, const void *msg,
			   size_t sz)
{
	(void)ctx;
	struct harbor *h = ud;
	switch (type) {
	case PTYPE_SYSTEM:
		if (sz == sizeof(struct remote_message))
			on_remote_message(h, source, session, msg);
		break;
	case PTYPE_HARBOR:
		on_slave_command(h, source, msg, sz);
		break;
	case PTYPE_SOCKET:
		on_socket(h, msg);
		break;
	default:
		skynet_error(h->ctx, "harbor: unexpected message type %d from %08x (session %d)",
			     type, source, session);
		if (is_request(type, session))
			skynet_send(h->ctx, 0, source, PTYPE_ERROR, session, NULL, 0);
		break;
	}
	return 0;
}

void *harbor_create(void)
{
	return skynet_calloc(1, sizeof(struct harbor));
}

int harbor_init(void *ud, struct skynet_context *ctx, const char *args)
{
	struct harbor *h = ud;
	unsigned slave;
	if (sscanf(args, "%d %u", &h->id, &slave) != 2 || h->id < 0 ||
	    h->id >= REMOTE_MAX) {
		skynet_error(ctx, "harbor: arguments must be \"<harbor id 0..255> <cslave handle>\", not \"%s\"",
			     args);
		return 1;
	}
	h->ctx = ctx;
	h->self = skynet_context_handle(ctx);
	h->slave = slave;
	if (h->id == 0)
		for (int id = 1; id < REMOTE_MAX; id++)
			h->links[id].state = LINK_DOWN;
	skynet_callback(ctx, h, harbor_dispatch);
	skynet_harbor_start(ctx);
	return 0;
}

static void free_queue(struct outgoing_queue *q)
{
	for (int i = 0; i < q->count; i++)
		skynet_free(q->items[i].data);
	skynet_free(q->items);
}

void harbor_release(void *ud)
{
	struct harbor *h = ud;
	if (h->self)
		skynet_harbor_exit(h->self);
	for (int id = 0; id < REMOTE_MAX; id++) {
		free_queue(&h->links[id].pending);
		drop_content(&h->links[id]);
	}
	for (int b = 0; b < NAME_BUCKETS; b++) {
		while (h->names[b]) {
			struct global_name *n = h->names[b];
			h->names[b] = n->next;
			free_queue(&n->waiting);
			skynet_free(n);
		}
	}
	fail_calls(h, -1);
	skynet_free(h);
}
