/* Where control blocks are found: a hash table by 4-tuple for connections (a segment's lookup costs the same
 * with ten connections or ten thousand), a table of the listeners by port (a SYN's lookup costs the same with one
 * listener or hundreds), the table of local ports in use (ports.c: whether a port is free looks at that port's
 * owners only, mostly at none), and the lists the timers walk. The hash is
 * salted with boot randomness so that a peer can't choose ports that all land in one chain. The table starts
 * small (no memory of its own) and doubles whenever it holds more than two blocks a bucket, so chains stay
 * short however many connections a server keeps; once empty again it gives its memory back. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "tcp.h"

#define HASH_FIRST 128                  /* buckets of the first table: powers of two */
#define HASH_MAX (1u << 16)
#define LISTEN_PORTS 32                 /* buckets of the listeners' table: a power of two */

struct tcp_list uf_tcp_active, uf_tcp_listeners, uf_tcp_time_wait;

static struct uf_tcp *first[HASH_FIRST], **buckets = first;
static uint32_t mask = HASH_FIRST - 1, hashed, salt;
static struct uf_tcp *listen_ports[LISTEN_PORTS];     /* chained through hnext: a listener has no 4-tuple */

static struct uf_ports ports;          /* the local ports in use, by port (ports.c) */

/* Whether t, on list `on`, forbids others its port whatever they ask. */
static int strict(const struct uf_tcp *t, const struct tcp_list *on)
{
	return !t->reuse || on == &uf_tcp_listeners;
}

int uf_tcp_port_take(struct uf_tcp *t, const uint8_t addr[16], uint16_t port)
{
	memcpy(t->laddr, addr, 16);
	t->lport = port;
	return uf_port_take(&ports, &t->owner, t->laddr, t->families, port, strict(t, t->on));
}

void uf_tcp_port_release(struct uf_tcp *t)
{
	uf_port_release(&ports, &t->owner);
}

int uf_tcp_port_busy(uint16_t port, const uint8_t addr[16], int families, int reuse)
{
	return uf_port_busy(&ports, port, addr, families, reuse);
}

uint16_t uf_tcp_port_ephemeral(const uint8_t addr[16], int families)
{
	return uf_port_ephemeral(&ports, addr, families);
}

static struct uf_tcp **listen_bucket(uint16_t port)
{
	return &listen_ports[(port ^ port >> 5 ^ port >> 10) & (LISTEN_PORTS - 1)];
}

void uf_tcp_list_move(struct uf_tcp *t, struct tcp_list *to)
{
	struct tcp_list *from = t->on;
	uf_port_set_strict(&ports, &t->owner, strict(t, to));    /* with SO_REUSEADDR: listening, or no longer */
	if (from == &uf_tcp_listeners)
		for (struct uf_tcp **p = listen_bucket(t->lport); *p; p = &(*p)->hnext)
			if (*p == t) {
				*p = t->hnext;
				t->hnext = 0;
				break;
			}
	if (to == &uf_tcp_listeners) {
		struct uf_tcp **b = listen_bucket(t->lport);
		t->hnext = *b;
		*b = t;
	}
	if (from) {
		*(t->prev ? &t->prev->next : &from->head) = t->next;
		*(t->next ? &t->next->prev : &from->tail) = t->prev;
		from->count--;
	}
	t->on = to;
	t->next = 0;
	t->prev = 0;
	if (to) {
		t->prev = to->tail;
		*(to->tail ? &to->tail->next : &to->head) = t;
		to->tail = t;
		to->count++;
	}
}

static uint32_t hash(const uint8_t raddr[16], uint16_t rport, const uint8_t laddr[16], uint16_t lport)
{
	if (!salt)
		salt = uf_net_random() | 1;
	uint32_t h = salt ^ ((uint32_t)rport << 16 | lport);
	for (int i = 0; i < 16; i += 4) {
		h = (h ^ get32(raddr + i)) * 0x9e3779b1u;
		h = (h ^ get32(laddr + i)) * 0x85ebca6bu;
		h ^= h >> 15;
	}
	return h;
}

static struct uf_tcp **bucket(const struct uf_tcp *t)
{
	return &buckets[hash(t->raddr, t->rport, t->laddr, t->lport) & mask];
}

/* Moves every block into a table of `size` buckets (the first one's, or a new one). */
static void rehash(uint32_t size)
{
	struct uf_tcp **table = size == HASH_FIRST ? first : calloc(size, sizeof *table), **old = buckets;
	uint32_t old_size = mask + 1;
	if (!table)
		return;                 /* no memory: longer chains, but everything still found */
	buckets = table;
	mask = size - 1;
	for (uint32_t i = 0; i < old_size; i++)
		for (struct uf_tcp *t = old[i], *next; t; t = next) {
			next = t->hnext;
			struct uf_tcp **b = bucket(t);
			t->hnext = *b;
			*b = t;
		}
	if (old != first)
		free(old);
	else
		for (uint32_t i = 0; i < HASH_FIRST; i++)
			first[i] = 0;
}

void uf_tcp_unhash(struct uf_tcp *t)
{
	if (!t->hashed)
		return;
	for (struct uf_tcp **p = bucket(t); *p; p = &(*p)->hnext)
		if (*p == t) {
			*p = t->hnext;
			break;
		}
	t->hashed = 0;
	t->hnext = 0;
	if (!--hashed && buckets != first)
		rehash(HASH_FIRST);
}

void uf_tcp_hash_set(struct uf_tcp *t, const uint8_t laddr[16], uint16_t lport, const uint8_t raddr[16],
		     uint16_t rport)
{
	uf_tcp_unhash(t);
	memcpy(t->laddr, laddr, 16);
	t->lport = lport;
	memcpy(t->raddr, raddr, 16);
	t->rport = rport;
	struct uf_tcp **b = bucket(t);
	t->hnext = *b;
	*b = t;
	t->hashed = 1;
	if (++hashed > 2 * (mask + 1) && mask + 1 < HASH_MAX)
		rehash(2 * (mask + 1));
}

struct uf_tcp *uf_tcp_lookup(const uint8_t src[16], uint16_t sport, const uint8_t dst[16], uint16_t dport)
{
	for (struct uf_tcp *t = buckets[hash(src, sport, dst, dport) & mask]; t; t = t->hnext)
		if (t->rport == sport && t->lport == dport && addr_eq(t->raddr, src) && addr_eq(t->laddr, dst) &&
		    t->state != TCP_CLOSED)
			return t;
	/* A listener on the address itself wins over one on any address. */
	struct uf_tcp *any = 0;
	for (struct uf_tcp *l = *listen_bucket(dport); l; l = l->hnext)
		if (l->lport == dport && addr_takes(l->laddr, l->families, dst)) {
			if (!addr_is_any(l->laddr))
				return l;
			if (!any)
				any = l;
		}
	return any;
}

int uf_tcp_listener_on(uint16_t port, const uint8_t addr[16], int families)
{
	for (const struct uf_tcp *l = *listen_bucket(port); l; l = l->hnext)
		if (l->lport == port && addr_overlap(l->laddr, l->families, addr, families))
			return 1;
	return 0;
}
