/* Where control blocks are found: a hash table by 4-tuple for connections (a segment's lookup costs the same
 * with ten connections or ten thousand), the listeners by port, and the lists the timers walk. The hash is
 * salted with boot randomness so that a peer can't choose ports that all land in one chain. */
#include <stdint.h>

#include "tcp.h"

#define HASH_BUCKETS 128                /* a power of two */

struct tcp_list uf_tcp_active, uf_tcp_listeners, uf_tcp_time_wait;

static struct uf_tcp *buckets[HASH_BUCKETS];
static uint32_t salt;

void uf_tcp_list_move(struct uf_tcp *t, struct tcp_list *to)
{
	struct tcp_list *from = t->on;
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

static struct uf_tcp **bucket(uint32_t raddr, uint16_t rport, uint32_t laddr, uint16_t lport)
{
	if (!salt)
		salt = uf_net_random() | 1;
	uint32_t h = (raddr ^ salt) * 0x9e3779b1u;
	h ^= ((uint32_t)rport << 16 | lport) + laddr;
	h *= 0x85ebca6bu;
	return &buckets[(h ^ h >> 15) & (HASH_BUCKETS - 1)];
}

void uf_tcp_unhash(struct uf_tcp *t)
{
	if (!t->hashed)
		return;
	for (struct uf_tcp **p = bucket(t->raddr, t->rport, t->laddr, t->lport); *p; p = &(*p)->hnext)
		if (*p == t) {
			*p = t->hnext;
			break;
		}
	t->hashed = 0;
	t->hnext = 0;
}

void uf_tcp_hash_set(struct uf_tcp *t, uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
	uf_tcp_unhash(t);
	t->laddr = laddr;
	t->lport = lport;
	t->raddr = raddr;
	t->rport = rport;
	struct uf_tcp **b = bucket(raddr, rport, laddr, lport);
	t->hnext = *b;
	*b = t;
	t->hashed = 1;
}

struct uf_tcp *uf_tcp_lookup(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	for (struct uf_tcp *t = *bucket(src, sport, dst, dport); t; t = t->hnext)
		if (t->rport == sport && t->lport == dport && t->raddr == src && t->laddr == dst &&
		    t->state != TCP_CLOSED)
			return t;
	/* A listener on the address itself wins over one on any address. */
	struct uf_tcp *any = 0;
	for (struct uf_tcp *l = uf_tcp_listeners.head; l; l = l->next)
		if (l->lport == dport) {
			if (l->laddr == dst)
				return l;
			if (!l->laddr)
				any = l;
		}
	return any;
}

static int busy_in(const struct tcp_list *list, uint16_t port, uint32_t addr, int reuse, const struct uf_tcp *self)
{
	for (const struct uf_tcp *t = list->head; t; t = t->next) {
		if (t == self || t->lport != port || (t->laddr && addr && t->laddr != addr))
			continue;
		if (t->state == TCP_LISTEN || !reuse || !t->reuse)
			return 1;
	}
	return 0;
}

int uf_tcp_port_busy(uint16_t port, uint32_t addr, int reuse, const struct uf_tcp *self)
{
	return busy_in(&uf_tcp_listeners, port, addr, reuse, self) || busy_in(&uf_tcp_active, port, addr, reuse, self) ||
	       busy_in(&uf_tcp_time_wait, port, addr, reuse, self);
}
