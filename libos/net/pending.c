/* Datagrams waiting for a neighbour's link-layer address (ARP and ND keep one queue per neighbour). A datagram
 * waits whole and is fragmented when it leaves: a large UDP datagram's fragments all go, or none. At most
 * PENDING_MAX datagrams and PENDING_BYTES per neighbour (as Linux's unres_qlen and unres_qlen_bytes), the newest
 * always. */
#include <stdlib.h>
#include <string.h>

#include "stack.h"

struct uf_pending_datagram {
	struct uf_pending_datagram *next;
	size_t len;
	uint8_t data[];
};

static unsigned waiting;        /* in every queue */

static void drop_oldest(struct uf_pending *q)
{
	struct uf_pending_datagram *d = q->head;
	q->head = d->next;
	if (!q->head)
		q->tail = 0;
	q->bytes -= d->len;
	q->count--;
	waiting--;
	free(d);
}

void uf_pending_add(struct uf_pending *q, const struct iovec *iov, int iovcnt)
{
	size_t total = 0;
	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	struct uf_pending_datagram *d = malloc(sizeof *d + total);
	if (!d)
		return;
	while (q->count && (q->count == PENDING_MAX || q->bytes + total > PENDING_BYTES))
		drop_oldest(q);
	size_t at = 0;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(d->data + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	d->next = 0;
	d->len = total;
	if (q->tail)
		q->tail->next = d;
	else
		q->head = d;
	q->tail = d;
	q->count++;
	q->bytes += total;
	waiting++;
}

void uf_pending_flush(struct uf_pending *q, const uint8_t mac[6],
		      int (*transmit)(const uint8_t mac[6], uint8_t *datagram, size_t len))
{
	for (struct uf_pending_datagram *d = q->head; d; d = d->next)
		transmit(mac, d->data, d->len);
	uf_pending_drop(q);
}

unsigned uf_pending_count(void)
{
	return waiting;
}

void uf_pending_drop(struct uf_pending *q)
{
	while (q->head)
		drop_oldest(q);
}
