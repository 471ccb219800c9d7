/*
 * pending.c - the per-worker table of replies that come later (pending.h).
 *
 * A slot is taken in handle() and given back when the module answers,
 * exactly once, whatever happened meanwhile: if the deadline passed first
 * the timeout reply went out and the module's answer is dropped; if the
 * listener closes first, the timeout reply goes out then, and the answer
 * is dropped.  A slot is never reused before the module answered.  The
 * module holds a handle with a generation, not the slot: a second answer
 * (a bug) finds the slot taken again under another generation and is
 * dropped, never sent to another client.  Freed slots are reused oldest
 * first, each with PENDING_HANDLES handles in turn, so a stale handle is
 * told apart for that many reuses of its slot.  Slots, handles and timers
 * are made once, with the table: nothing is allocated per request.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pending.h"

#define PENDING_HANDLES	4	/* per slot, used in turn */

enum slot_state {
	SLOT_FREE,
	SLOT_WAITING,		/* for the module, within the deadline */
	SLOT_ORPHAN		/* answered or dropped: the module's answer
				 * only gives the slot back */
};

struct pending_slot {
	struct pending_table	*table;
	struct udpd_timer	*timer;
	enum slot_state		 state;
	void			*sender;
	const void		*owner;
	struct sockaddr_storage	 peer;
	socklen_t		 peerlen;
	/* the request's pktinfo, aligned as a struct cmsghdr */
	_Alignas(struct cmsghdr) unsigned char ctl[PENDING_CTL_SIZE];
	int			 has_ctl;
	const char		*timeout_reply;
	struct pending_slot	*next_free;
	uint32_t		 gen;		/* of the current take */
	struct udpd_later {			/* what a module holds */
		struct pending_slot	*slot;
		uint32_t		 gen;
	}			 handles[PENDING_HANDLES];
};

struct pending_table {
	struct pending_slot	*slots;
	size_t			 max;
	size_t			 in_use;
	struct pending_slot	*free;		/* oldest freed first */
	struct pending_slot	*free_tail;
	pending_send_fn		 send;
	struct udpd_timers	 timers;
};

static void	pending_expired(void *arg);

/* Back on the free list, at its end: reused after every other. */
static void
pending_put_free(struct pending_table *t, struct pending_slot *p)
{
	p->next_free = NULL;
	if (t->free_tail != NULL)
		t->free_tail->next_free = p;
	else
		t->free = p;
	t->free_tail = p;
}

struct pending_table *
pending_new(struct udpd_timers timers, size_t max, pending_send_fn send)
{
	struct pending_table *t = calloc(1, sizeof(*t));

	if (t == NULL || (t->slots = calloc(max, sizeof(*t->slots))) == NULL) {
		free(t);
		return NULL;
	}
	t->max = max;
	t->send = send;
	t->timers = timers;
	for (size_t i = 0; i < max; i++) {
		struct pending_slot *p = &t->slots[i];

		p->table = t;
		for (size_t h = 0; h < PENDING_HANDLES; h++)
			p->handles[h].slot = p;
		if ((p->timer = timers.ops->create(timers.ctx, pending_expired,
		    p)) == NULL) {
			pending_free(t);
			return NULL;
		}
		pending_put_free(t, p);
	}
	return t;
}

void
pending_free(struct pending_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->max; i++)
		if (t->slots[i].timer != NULL)
			t->timers.ops->destroy(t->slots[i].timer);
	if (t->in_use > 0)
		log_debug("%zu late replies dropped at exit", t->in_use);
	free(t->slots);
	free(t);
}

/*
 * Each client still waiting on the sender gets its timeout reply now,
 * while the socket is open (a reload that removes or moves a service: the
 * store's answer would come after the socket is gone); the module's
 * answer then only frees the slot.
 */
void
pending_forget_sender(struct pending_table *t, const void *sender)
{
	for (size_t i = 0; t != NULL && i < t->max; i++) {
		struct pending_slot *p = &t->slots[i];

		if (p->state == SLOT_FREE || p->sender != sender)
			continue;
		if (p->state == SLOT_WAITING) {
			t->timers.ops->disarm(p->timer);
			pending_expired(p);
		}
		p->sender = NULL;
	}
}

size_t
pending_in_use(const struct pending_table *t)
{
	return t->in_use;
}

/* Sends data for slot p, unless its listener is gone. */
static void
pending_send(struct pending_slot *p, enum udpd_verdict v, const void *data,
    size_t len)
{
	if (p->sender == NULL)
		return;
	p->table->send(p->sender, p->owner, (const struct sockaddr *)&p->peer,
	    p->peerlen, p->has_ctl ? (const struct cmsghdr *)(void *)p->ctl :
	    NULL, data, len, v);
}

/* The deadline passed: the timeout reply now, the module's answer later
 * only frees the slot. */
static void
pending_expired(void *arg)
{
	struct pending_slot *p = arg;

	if (p->state != SLOT_WAITING)
		return;
	if (p->timeout_reply != NULL)
		pending_send(p, UDPD_REPLY_ERROR, p->timeout_reply,
		    strlen(p->timeout_reply));
	p->state = SLOT_ORPHAN;
}

struct udpd_later *
udpd_later_take(const struct udpd_request *req, unsigned timeout_ms,
    const char *timeout_reply)
{
	const struct udpd_origin *o = req->origin;
	struct pending_table *t;
	struct pending_slot *p;
	struct udpd_later *h;

	if (o == NULL || (t = o->table) == NULL || (p = t->free) == NULL ||
	    req->peerlen > sizeof(p->peer))
		return NULL;
	if (o->pktinfo != NULL && o->pktinfo->cmsg_len > sizeof(p->ctl))
		return NULL;
	/* A slot with no deadline would wait for ever: none is taken (the
	 * module answers "busy"). */
	if (t->timers.ops->arm(p->timer, timeout_ms) < 0) {
		log_warnx("late replies: cannot set a deadline: refused");
		return NULL;
	}
	if ((t->free = p->next_free) == NULL)
		t->free_tail = NULL;
	t->in_use++;
	p->state = SLOT_WAITING;
	p->sender = o->sender;
	p->owner = o->owner;
	memcpy(&p->peer, req->peer, req->peerlen);
	p->peerlen = req->peerlen;
	p->has_ctl = o->pktinfo != NULL;
	if (p->has_ctl)
		memcpy(p->ctl, o->pktinfo, o->pktinfo->cmsg_len);
	p->timeout_reply = timeout_reply;
	h = &p->handles[++p->gen % PENDING_HANDLES];
	h->gen = p->gen;
	return h;
}

void
udpd_later_reply(struct udpd_later *h, enum udpd_verdict v,
    const void *data, size_t len)
{
	struct pending_slot *p = h->slot;
	struct pending_table *t = p->table;

	/* Answered twice (a bug): the slot is free, or another's now. */
	if (p->state == SLOT_FREE || h->gen != p->gen) {
		log_warnx("late reply: answered twice: dropped");
		return;
	}
	if (p->state == SLOT_WAITING) {
		t->timers.ops->disarm(p->timer);
		if (v == UDPD_REPLY || v == UDPD_REPLY_ERROR)
			pending_send(p, v, data, len);
	}
	p->state = SLOT_FREE;
	p->sender = NULL;
	pending_put_free(t, p);
	t->in_use--;
}
