/* Datagrams waiting for a neighbour's link-layer address (ARP and ND keep one queue per neighbour). A datagram
 * waits whole and is fragmented when it leaves: a large UDP datagram's fragments all go, or none. At most
 * PENDING_MAX datagrams and PENDING_BYTES per neighbour (as Linux's unres_qlen_bytes), the newest always. */
#include <stdlib.h>
#include <string.h>

#include "stack.h"

static unsigned waiting;        /* in every queue */

void uf_pending_add(struct uf_pending *q, const struct iovec *iov, int iovcnt)
{
	size_t total = 0;
	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	uint8_t *copy = malloc(total ? total : 1);
	if (!copy)
		return;
	while (q->count && (q->count == PENDING_MAX || q->bytes + total > PENDING_BYTES)) {
		q->bytes -= q->len[0];
		free(q->data[0]);
		waiting--;
		memmove(q->data, q->data + 1, (PENDING_MAX - 1) * sizeof *q->data);
		memmove(q->len, q->len + 1, (PENDING_MAX - 1) * sizeof *q->len);
		q->count--;
	}
	size_t at = 0;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(copy + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	waiting++;
	q->data[q->count] = copy;
	q->len[q->count++] = total;
	q->bytes += total;
}

void uf_pending_flush(struct uf_pending *q, const uint8_t mac[6],
		      int (*transmit)(const uint8_t mac[6], uint8_t *datagram, size_t len))
{
	for (int i = 0; i < q->count; i++)
		transmit(mac, q->data[i], q->len[i]);
	uf_pending_drop(q);
}

unsigned uf_pending_count(void)
{
	return waiting;
}

void uf_pending_drop(struct uf_pending *q)
{
	for (int i = 0; i < q->count; i++)
		free(q->data[i]);
	waiting -= (unsigned)q->count;
	q->count = 0;
	q->bytes = 0;
}
