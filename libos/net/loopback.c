/* The loopback interface, lo: datagrams to 127.0.0.0/8 or to our own address never reach a NIC. They wait in a
 * queue that uf_net_poll drains into IP input, as if received, so servers and tests that talk to themselves work
 * with or without a NIC. The queue is bounded like a NIC's ring: past it, senders hear -EAGAIN and retry. With
 * threads, a send wakes the blocked threads: the receiver may be one of them, and only a poll drains lo. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uf/thread.h>

#include "stack.h"

#define LO_QUEUE_MAX (1u << 20)         /* bytes waiting at most */

struct lo_packet {
	struct lo_packet *next;
	size_t len;
	uint8_t data[];
};

static struct lo_packet *head, **tail = &head;
static size_t queued;

int uf_lo_send(const struct iovec *iov, int iovcnt)
{
	size_t len = 0;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (queued + len > LO_QUEUE_MAX)
		return -EAGAIN;
	struct lo_packet *p = malloc(sizeof *p + len);
	if (!p)
		return -EAGAIN;
	p->next = 0;
	p->len = 0;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(p->data + p->len, iov[i].iov_base, iov[i].iov_len);
		p->len += iov[i].iov_len;
	}
	*tail = p;
	tail = &p->next;
	queued += len;
	uf_thread_wake_waiters();       /* another thread may be blocked on the receiving end: it polls lo */
	return 0;
}

int uf_lo_poll(void)
{
	/* Only what is queued now: what these packets make (ACKs, answers) goes in the next round. */
	struct lo_packet *p = head;
	int n = 0;
	head = 0;
	tail = &head;
	while (p) {
		struct lo_packet *next = p->next;
		queued -= p->len;
		uf_ip_input_lo(p->data, p->len);
		free(p);
		p = next;
		n++;
	}
	return n;
}

int uf_lo_pending(void)
{
	return head != 0;
}
