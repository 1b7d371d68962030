/* When the ACK for received in-order data goes out: delayed ACKs by Linux's rules (RFC 1122 4.2.3.2, RFC 5681
 * 4.2). Acknowledging every segment at once costs a request and its reply two frames; delayed, the reply carries
 * the ACK.
 *
 * - Quick-ACK mode: at a connection's first data, after an idle spell longer than the RTO, and after a duplicate
 *   or out-of-order segment, the next segments (up to 16) are acknowledged at once, so that the peer's slow start
 *   and recovery are not held back.
 * - Interactive ("ping-pong") mode: a connection whose data the program answers (it sends data within the delay
 *   of receiving some) delays its ACKs even in quick-ACK mode: the answer carries them. A delayed ACK whose timer
 *   ran out (the answer did not come) ends the mode.
 * - At once anyway: more than one full-sized segment unacknowledged (every second one), out-of-order data and
 *   the data that fills a hole, a duplicate, a FIN (tcp_input.c), a window update that matters (tcp.c).
 * - A program's read that empties the receive buffer sends the owed ACK if more than one full segment is
 *   unacknowledged, or a short segment came and the connection is not interactive, or two short ones came (as
 *   Linux's receive-buffer clean-up): a one-way transfer keeps its ACK clock.
 * - Otherwise the ACK waits for the program's answer, for the program's next wait (uf_tcp_ack_delayed: it had its
 *   turn and did not answer; sending now costs the same frame the timer would and spares the peer the wait), or
 *   for TCP_DELACK.
 * - Not over lo (the peer is this program, at 127.0.0.1, ::1 or one of our addresses): there an ACK costs no frame
 *   on a wire, and a delayed one could only keep the program's other end waiting. */
#include <uf/time.h>

#include "tcp.h"

#define QUICK_ACKS_MAX 16               /* Linux's TCP_MAX_QUICKACKS */

static int delayed_since_wait;          /* an ACK was delayed since the last uf_tcp_ack_delayed: it walks the list */

/* The largest segment the peer sent so far, at least RFC 9293's default: what "full-sized" means here. */
static uint32_t rcv_mss(const struct uf_tcp *t)
{
	return t->rcv_mss ? t->rcv_mss : TCP_DEFAULT_MSS;
}

void uf_tcp_ack_quick(struct uf_tcp *t, int leave_interactive)
{
	/* Half the receive buffer in full segments: the peer's slow start fills it that fast. */
	uint32_t n = t->rbuf_size / (2 * rcv_mss(t));
	n = n < 2 ? 2 : n > QUICK_ACKS_MAX ? QUICK_ACKS_MAX : n;
	if ((uint32_t)t->ack_quick < n)
		t->ack_quick = (int)n;
	if (leave_interactive)
		t->interactive = 0;
}

void uf_tcp_ack_data(struct uf_tcp *t, uint32_t len, uint64_t now)
{
	if (len > rcv_mss(t))
		t->rcv_mss = len;
	else if (len < rcv_mss(t))
		t->ack_short = t->ack_short ? 2 : 1;    /* the second short one since our last ACK counts as pushed */
	if ((t->ack_quick && !t->interactive) || t->rcv_nxt - t->last_ack_sent > rcv_mss(t)) {
		t->ack_now = 1;
		return;
	}
	if (!t->delack_at)
		uf_tcp_timer_set(&t->delack_at, now + TCP_DELACK);
	delayed_since_wait = 1;
}

void uf_tcp_ack_sent(struct uf_tcp *t)
{
	if (t->ack_quick && t->rcv_nxt != t->last_ack_sent)
		t->ack_quick--;
	t->delack_at = 0;
	t->ack_short = 0;
}

void uf_tcp_ack_data_sent(struct uf_tcp *t, uint64_t now)
{
	if (t->last_data_recv && now - t->last_data_recv < TCP_DELACK)
		t->interactive = 1;             /* an answer: soon after data came */
}

void uf_tcp_ack_read(struct uf_tcp *t)
{
	if (!t->delack_at)
		return;
	if (t->rcv_nxt - t->last_ack_sent > rcv_mss(t) ||
	    (!t->rlen && (t->ack_short == 2 || (t->ack_short && !t->interactive)))) {
		t->ack_now = 1;
		uf_tcp_output(t);
	}
}

void uf_tcp_ack_expired(struct uf_tcp *t)
{
	t->delack_at = 0;                       /* also if the NIC's ring is full: then ack_now has it retried */
	t->interactive = 0;                     /* the answer did not come in time: not a request and reply */
	t->ack_now = 1;
	uf_tcp_output(t);
}

void uf_tcp_ack_delayed(void)
{
	if (!delayed_since_wait)
		return;                         /* nothing delayed since the last wait: no walk over every connection */
	delayed_since_wait = 0;
	for (struct uf_tcp *t = uf_tcp_active.head; t; t = t->next)
		if (t->delack_at) {
			t->delack_at = 0;
			t->ack_now = 1;
			uf_tcp_output(t);
		}
}
