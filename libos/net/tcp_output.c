/* TCP output: segments from the send buffer within the peer's and the congestion window (Nagle unless
 * TCP_NODELAY), retransmission timeout (RFC 6298), zero-window probes, keepalive, and the timers. */
#include <errno.h>
#include <string.h>
#include <uf/time.h>

#include "tcp.h"

static struct uf_tcp *due;      /* control blocks with output due, through due_next */
static uint64_t due_at;         /* when to try them again if nothing else flushes them first */

uint64_t uf_tcp_timer_bound = UINT64_MAX;

uint32_t uf_tcp_rcv_window(const struct uf_tcp *t)
{
	/* Before buffers exist: what they will hold. A scale unit stays in reserve, so that a window rounded up
	 * to the scale (see send_segment) never promises more than the buffer holds. */
	uint32_t space = t->rbuf_size - t->rlen, reserve = 1u << TCP_RCV_SCALE;
	uint32_t max = 65535u << t->rcv_scale;
	space = space > reserve ? space - reserve : 0;
	return space > max ? max : space;
}

uint32_t uf_tcp_ts_now(const struct uf_tcp *t)
{
	return (uint32_t)(uf_time_monotonic_ns() / MS) + t->ts_offset;
}

static size_t ts_option(const struct uf_tcp *t, uint8_t *o)
{
	o[0] = 1;                   /* NOP, NOP: the values stay 4-byte aligned */
	o[1] = 1;
	o[2] = 8;
	o[3] = 10;
	put32(o + 4, uf_tcp_ts_now(t));
	put32(o + 8, t->state == TCP_SYN_SENT ? 0 : t->ts_recent);
	return TCP_TS_LEN;
}

/* SACK blocks (RFC 2018) for what the out-of-order queue holds: contiguous ranges, the one holding the latest
 * segment first, at most max. Writes the option at o; returns its length (0 when there is nothing to report). */
static size_t sack_option(const struct uf_tcp *t, uint8_t *o, int max)
{
	uint32_t start[5], end[5];
	int n = 0, first = 0;
	for (const struct tcp_ooo *q = t->ooo; q; q = q->next) {
		if (n && SEQ_LE(q->seq, end[n - 1])) {
			if (SEQ_GT(q->seq + q->len, end[n - 1]))
				end[n - 1] = q->seq + q->len;
		} else if (n < 5) {
			start[n] = q->seq;
			end[n++] = q->seq + q->len;
		}
		if (q->seq == t->last_ooo)
			first = n - 1;
	}
	int count = 0;
	for (int i = 0; i < n && count < max; i++) {
		int b = i == 0 ? first : (i <= first ? i - 1 : i);
		if (SEQ_LE(end[b], start[b]) || SEQ_LE(end[b], t->rcv_nxt))
			continue;
		put32(o + 4 + 8 * count, start[b]);
		put32(o + 8 + 8 * count, end[b]);
		count++;
	}
	if (!count)
		return 0;
	o[0] = 1;                   /* NOP, NOP: the blocks stay 4-byte aligned */
	o[1] = 1;
	o[2] = 5;
	o[3] = (uint8_t)(2 + 8 * count);
	return 4 + 8 * (size_t)count;
}

/* One segment: header (with MSS, SACK-permitted, window-scale and timestamp options on a SYN; timestamps on every
 * segment once agreed; SACK blocks on an ACK while data waits out of order, as many as fit), then len bytes of the
 * send buffer from sequence seq. Returns what the device said (-EAGAIN: ring full, tried again soon). */
static int send_segment(struct uf_tcp *t, uint32_t seq, uint32_t len, uint8_t flags)
{
	uint8_t h[TCP_HLEN + 40];
	size_t hlen = TCP_HLEN;
	uint32_t wnd = uf_tcp_rcv_window(t);
	put16(h, t->lport);
	put16(h + 2, t->rport);
	put32(h + 4, seq);
	put32(h + 8, (flags & TCP_ACK) ? t->rcv_nxt : 0);
	if (flags & TCP_SYN) {
		uint8_t *o = h + TCP_HLEN;
		uint16_t mss = (uint16_t)(uf_inet_mtu(t->raddr) - TCP_HLEN);
		o[0] = 2; o[1] = 4; put16(o + 2, mss);
		hlen += 4;
		/* SACK-permitted and window scaling: offered in our SYN; in a SYN-ACK only if the peer offered them
		 * (RFC 2018 2, RFC 7323 2.2). */
		if (t->state == TCP_SYN_SENT || t->sack_ok) {
			o = h + hlen;
			o[0] = 1; o[1] = 1; o[2] = 4; o[3] = 2;                 /* NOP, NOP, SACK-permitted */
			hlen += 4;
		}
		if (t->state == TCP_SYN_SENT || t->rcv_scale) {
			o = h + hlen;
			o[0] = 1; o[1] = 3; o[2] = 3; o[3] = TCP_RCV_SCALE;     /* NOP, window scale */
			hlen += 4;
		}
		if (t->state == TCP_SYN_SENT || t->ts_ok)
			hlen += ts_option(t, h + hlen);
		wnd = wnd > 65535 ? 65535 : wnd;                       /* never scaled in a SYN */
		put16(h + 14, (uint16_t)wnd);
	} else {
		/* Never move the window's right edge back (RFC 9293 3.8.6.2.2): the peer may have filled it already,
		 * and its ACKs then start at that edge. Rounding down to the scale would do it; round up instead. */
		uint32_t field = wnd >> t->rcv_scale;
		if ((flags & TCP_ACK) && SEQ_LT(t->rcv_nxt + (field << t->rcv_scale), t->rcv_adv))
			field = (t->rcv_adv - t->rcv_nxt + (1u << t->rcv_scale) - 1) >> t->rcv_scale;
		if (field > 65535)
			field = 65535;
		put16(h + 14, (uint16_t)field);
		wnd = field << t->rcv_scale;
	}
	if (!(flags & TCP_SYN) && t->ts_ok)
		hlen += ts_option(t, h + hlen);
	if (!(flags & TCP_SYN) && (flags & TCP_ACK) && t->sack_ok && t->ooo) {
		/* Room left in the header and in the MTU: a full-sized data segment has none. */
		long room = TCP_HLEN + 40 - (long)hlen, mtu_room = (long)uf_inet_mtu(t->raddr) - (long)(hlen + len);
		room = mtu_room < room ? mtu_room : room;
		if (room >= 12)
			hlen += sack_option(t, h + hlen, (int)((room - 4) / 8));
	}
	h[12] = (uint8_t)(hlen / 4 << 4);
	h[13] = flags;
	put16(h + 18, 0);

	struct iovec v[2];
	int cnt = 0;
	if (len) {
		uint32_t off = (t->shead + (seq - t->snd_data)) % t->sbuf_size;
		uint32_t first = t->sbuf_size - off < len ? t->sbuf_size - off : len;
		v[cnt++] = (struct iovec){ t->sbuf + off, first };
		if (first < len)
			v[cnt++] = (struct iovec){ t->sbuf, len - first };
	}
	int r = uf_inet_send(t->laddr, t->raddr, IP_PROTO_TCP, t->tos, t->ttl, h, hlen, 16, v, cnt);
	if (r == -EAGAIN)
		uf_tcp_due(t);          /* the NIC's ring is full: try again after it drained (uf_tcp_next_timer) */
	if (r < 0)
		return r;
	if ((len || (flags & (TCP_SYN | TCP_FIN))) && SEQ_LT(seq, t->snd_max)) {
		t->total_retrans++;
		t->bytes_retrans += len;
	}
	t->segs_out++;
	if (len) {
		t->data_segs_out++;
		t->bytes_sent += len;
		t->last_data_sent = uf_time_monotonic_ns();
		uf_tcp_ack_data_sent(t, t->last_data_sent);
	}
	if (flags & TCP_ACK) {
		uf_tcp_ack_sent(t);
		t->ack_now = 0;
		t->rcv_adv = t->rcv_nxt + wnd;
		t->last_ack_sent = t->rcv_nxt;
	}
	return 0;
}

void uf_tcp_send_ctl(struct uf_tcp *t, uint32_t seq, uint8_t flags)
{
	send_segment(t, seq, 0, flags);
}

void uf_tcp_send_rst(const uint8_t src[16], const uint8_t dst[16], uint16_t sport, uint16_t dport, uint32_t seq,
		     uint32_t ack, int with_ack, uint8_t tos)
{
	uint8_t h[TCP_HLEN];
	memset(h, 0, sizeof h);
	put16(h, sport);
	put16(h + 2, dport);
	put32(h + 4, seq);
	put32(h + 8, with_ack ? ack : 0);
	h[12] = 5 << 4;
	h[13] = TCP_RST | (with_ack ? TCP_ACK : 0);
	uf_inet_send(src, dst, IP_PROTO_TCP, tos, 0, h, TCP_HLEN, 16, 0, 0);
}

uint64_t uf_tcp_rto(const struct uf_tcp *t)
{
	uint64_t rto = t->rto;
	for (int i = 0; i < t->backoff && rto < TCP_RTO_MAX; i++)
		rto *= 2;
	return rto < TCP_RTO_MAX ? rto : TCP_RTO_MAX;
}

void uf_tcp_arm_rto(struct uf_tcp *t)
{
	uf_tcp_timer_set(&t->rto_at, uf_time_monotonic_ns() + uf_tcp_rto(t));
}

void uf_tcp_due(struct uf_tcp *t)
{
	if (!due)
		due_at = uf_time_monotonic_ns() + TCP_TX_RETRY;
	if (!t->output_due) {
		t->output_due = 1;
		t->due_next = due;
		due = t;
	}
}

static void not_due(struct uf_tcp *t)
{
	if (!t->output_due)
		return;
	for (struct uf_tcp **p = &due; *p; p = &(*p)->due_next)
		if (*p == t) {
			*p = t->due_next;
			break;
		}
	t->output_due = 0;
	t->due_next = 0;
}

static void send_syn(struct uf_tcp *t)
{
	uint8_t flags = TCP_SYN | (t->state == TCP_SYN_RCVD ? TCP_ACK : 0);
	t->rtt_timing = !t->retries;        /* Karn: time only the first SYN */
	t->rtt_start = uf_time_monotonic_ns();
	if (send_segment(t, t->iss, 0, flags) == 0) {
		t->snd_nxt = t->iss + 1;
		if (SEQ_LT(t->snd_max, t->snd_nxt))
			t->snd_max = t->snd_nxt;
	}
	if (!t->rto_at)
		uf_tcp_arm_rto(t);
}

/* Sends data from seq (at most len bytes, and the FIN if it follows them and was sent before): a retransmission.
 * Returns the sequence space it covered, 0 if nothing could go. */
static uint32_t resend(struct uf_tcp *t, uint32_t seq, uint32_t len)
{
	uint32_t data_end = t->snd_data + t->slen;
	uint32_t n = SEQ_LT(seq, data_end) ? data_end - seq : 0;
	if (n > len)
		n = len;
	if (n > t->mss)
		n = t->mss;
	int fin = t->fin_queued && seq + n == data_end && SEQ_GT(t->snd_max, data_end);
	if (!n && !fin)
		return 0;
	if (send_segment(t, seq, n, TCP_ACK | (fin ? TCP_FIN : 0)) < 0)
		return 0;
	return n + fin;
}

/* The next new segment from snd_nxt, within `allowed` bytes of window; after a timeout (snd_nxt below snd_max)
 * the ranges the peer SACKed are skipped. Returns the sequence space sent, 0 when nothing may go now. */
static uint32_t send_new(struct uf_tcp *t, uint32_t allowed)
{
	uint32_t data_end = t->snd_data + t->slen, room = UINT32_MAX, sent;
	if (SEQ_LT(t->snd_nxt, t->snd_max) && t->sack_count)
		t->snd_nxt = uf_tcp_sack_skip(t, t->snd_nxt, &room);
	if (SEQ_LT(t->snd_nxt, data_end)) {
		uint32_t avail = data_end - t->snd_nxt, inflight = t->snd_nxt - t->snd_una;
		uint32_t n = avail < t->mss ? avail : t->mss;
		if (n > allowed)
			n = allowed;
		if (n > room)
			n = room;
		if (!n)
			return 0;
		/* Nagle (RFC 896): hold a small segment while data is unacknowledged. */
		if (n < t->mss && n == avail && inflight && !t->nodelay && !t->fin_queued)
			return 0;
		if (n < t->mss && n < avail && n < t->max_sndwnd / 2 && n != room)
			return 0;       /* the window allows a runt only: wait for it to open (RFC 1122 4.2.3.4) */
		int fin = t->fin_queued && n == avail;
		uint8_t flags = TCP_ACK | (n == avail ? TCP_PSH : 0) | (fin ? TCP_FIN : 0);
		if (send_segment(t, t->snd_nxt, n, flags) < 0)
			return 0;
		if (!t->rtt_timing && t->snd_nxt == t->snd_max) {
			t->rtt_timing = 1;
			t->rtt_seq = t->snd_nxt + n;
			t->rtt_start = uf_time_monotonic_ns();
		}
		sent = n + fin;
	} else if (t->fin_queued && t->snd_nxt == data_end) {
		if (send_segment(t, t->snd_nxt, 0, TCP_ACK | TCP_FIN) < 0)
			return 0;
		sent = 1;
	} else {
		return 0;
	}
	t->snd_nxt += sent;
	if (SEQ_GT(t->snd_nxt, t->snd_max))
		t->snd_max = t->snd_nxt;
	return sent;
}

/* SACK recovery's sending (RFC 6675 5 step 4 and NextSeg): while the pipe is below cwnd (which prr_ack sets
 * from each ACK), a lost hole first, else new data within the peer's window, else a hole not yet known lost
 * (rule 3). Retransmissions are remembered, so that losing one again shows (uf_tcp_sack_rxt_lost). Returns
 * whether anything went. */
static int recovery_output(struct uf_tcp *t)
{
	int sent = 0;
	for (;;) {
		uint32_t pipe = uf_tcp_pipe(t), seq, len, n = 0;
		if (pipe >= t->cwnd)
			break;
		/* Whole segments, as Linux counts cwnd: a part of one left in cwnd would only wait for the timer. */
		uint32_t right = t->snd_una + t->snd_wnd, allowed = t->cwnd - pipe < t->mss ? t->mss : t->cwnd - pipe;
		if (SEQ_LT(t->snd_nxt, right) && right - t->snd_nxt < allowed)
			allowed = right - t->snd_nxt;
		int again = 1;          /* a retransmission, not new data */
		if (!((len = uf_tcp_sack_next(t, &seq, 0)) && (n = resend(t, seq, len)))) {
			if (SEQ_LT(t->snd_nxt, right) && (n = send_new(t, allowed)))
				again = 0;
			else if ((len = uf_tcp_sack_next(t, &seq, 1)))
				n = resend(t, seq, len);
		}
		if (!n)
			break;
		if (again) {
			t->high_rxt = seq + n;
			uf_tcp_sack_mark_rxt(t, seq);
		}
		t->prr_out += n;
		sent = 1;
	}
	return sent;
}

void uf_tcp_output(struct uf_tcp *t)
{
	not_due(t);
	if (t->state == TCP_SYN_SENT || t->state == TCP_SYN_RCVD) {
		/* The SYN once; a SYN-ACK whenever asked: in SYN_RCVD that answers the peer's duplicate SYN. */
		if (t->snd_nxt == t->iss || t->state == TCP_SYN_RCVD)
			send_syn(t);
		return;
	}
	if (t->state == TCP_TIME_WAIT || t->state == TCP_FIN_WAIT_2) {
		if (t->ack_now)
			send_segment(t, t->snd_nxt, 0, TCP_ACK);
		return;
	}
	if (t->state < TCP_ESTABLISHED)
		return;

	int sent = 0;
	if (t->in_recovery && t->sack_ok) {
		sent = recovery_output(t);
	} else {
		/* RFC 3042 limited transmit: the first two duplicate ACKs each let one new segment out. */
		uint32_t cwnd = t->cwnd + (!t->in_recovery && t->dupacks < 3 ? (uint32_t)t->dupacks * t->mss : 0);
		for (;;) {
			/* The congestion window in whole segments (as Linux counts it); the peer's to the byte. */
			uint32_t inflight = t->snd_nxt - t->snd_una;
			uint32_t allowed = cwnd > inflight ? (cwnd - inflight < t->mss ? t->mss : cwnd - inflight) : 0;
			uint32_t peer = t->snd_wnd > inflight ? t->snd_wnd - inflight : 0;
			if (!send_new(t, allowed < peer ? allowed : peer))
				break;
			sent = 1;
		}
	}
	uint32_t data_end = t->snd_data + t->slen;
	if (SEQ_LT(t->snd_nxt, data_end) && t->snd_nxt - t->snd_una + t->mss > t->cwnd &&
	    t->snd_wnd >= t->snd_nxt - t->snd_una + t->mss) {
		t->cwnd_limited = 1;
		t->cwnd_limited_end = t->snd_max;
	}
	if (!sent && t->ack_now)
		send_segment(t, t->snd_nxt, 0, TCP_ACK);
	if (t->snd_una != t->snd_max && !t->rto_at)
		uf_tcp_arm_rto(t);
	/* The probe timer: one tail loss probe per stall, then, once SACKs came, the reordering window again. */
	if (t->snd_una != t->snd_max && !t->probe_at && (!t->tlp_sent || t->sack_count) && t->snd_wnd) {
		uint64_t pto = 2 * t->srtt < TCP_PROBE_MIN ? TCP_PROBE_MIN : 2 * t->srtt;
		uf_tcp_timer_set(&t->probe_at, uf_time_monotonic_ns() + pto);
	}
	/* Zero window with data waiting: the retransmission timer doubles as the persist timer. */
	if (t->snd_una == t->snd_max && !t->snd_wnd && SEQ_LT(t->snd_nxt, data_end) && !t->rto_at)
		uf_tcp_arm_rto(t);
}

void uf_tcp_retransmit_first(struct uf_tcp *t)
{
	if (t->state == TCP_SYN_SENT || t->state == TCP_SYN_RCVD) {
		send_syn(t);
		return;
	}
	resend(t, t->snd_una, t->mss);
	t->rtt_timing = 0;      /* Karn: never time a retransmitted segment */
}

static void rto_expired(struct uf_tcp *t)
{
	t->rto_at = 0;
	uint32_t data_end = t->snd_data + t->slen;
	if (t->snd_una == t->snd_max && t->state >= TCP_ESTABLISHED) {
		/* Persist: probe a zero window with one byte beyond it; the answer carries the window. */
		if (SEQ_LT(t->snd_nxt, data_end) && !t->snd_wnd) {
			send_segment(t, t->snd_nxt, 1, TCP_ACK);
			t->snd_nxt++;
			t->snd_max = t->snd_nxt;
			uf_tcp_arm_rto(t);
		}
		return;
	}
	int limit = t->state < TCP_ESTABLISHED ? TCP_SYN_RETRIES : TCP_RETRIES;
	if (++t->retries > limit) {
		uf_tcp_drop(t, 110 /* ETIMEDOUT */);
		return;
	}
	/* RFC 5681 3.1 after a timeout, with CUBIC's threshold (RFC 9438 4.8): restart from one segment. */
	uf_tcp_cc_congestion(t);
	t->cwnd = t->mss;
	t->in_recovery = 0;
	t->dupacks = 0;
	t->recover = t->snd_max;            /* RFC 6582 4: no fast retransmit for what the timeout resends */
	t->rack_end = 0;
	t->rxt_marks = 0;
	t->probe_at = 0;
	if (uf_tcp_rto(t) < TCP_RTO_MAX)
		t->backoff++;                   /* RFC 6298 5.5, until an RTT sample (rtt_sample) */
	t->rtt_timing = 0;
	if (t->state >= TCP_ESTABLISHED && !t->snd_wnd) {
		uf_tcp_retransmit_first(t);     /* the window is shut: a probe, whose answer carries the window */
	} else {
		t->snd_nxt = t->state < TCP_ESTABLISHED ? t->iss : t->snd_una;     /* go back N */
		uf_tcp_output(t);
	}
	if (t->state != TCP_CLOSED && !t->rto_at)
		uf_tcp_arm_rto(t);
}

/* Two RTTs without progress. With SACKed data above holes: every hole below it is lost (a LAN doesn't reorder
 * for that long), including retransmissions sent before; recovery resends them. With nothing SACKed: the tail was
 * lost, or its ACKs: the last segment goes again, once, and its answer (a SACK) tells which. */
static void probe_expired(struct uf_tcp *t)
{
	t->probe_at = 0;
	if (t->snd_una == t->snd_max || t->state < TCP_ESTABLISHED || !t->snd_wnd)
		return;
	if (t->sack_count && t->sack_ok) {
		t->rack_end = t->sack_start[t->sack_count - 1];
		if (!t->in_recovery)
			uf_tcp_enter_recovery(t);
		t->high_rxt = t->snd_una;
		t->rxt_marks = 0;
		uint32_t pipe = uf_tcp_pipe(t);
		if (t->cwnd < pipe + t->mss)
			t->cwnd = pipe + t->mss;
		uf_tcp_output(t);
		return;
	}
	uint32_t last = t->snd_max - t->snd_una > t->mss ? t->snd_max - t->mss : t->snd_una;
	t->tlp_sent = 1;
	resend(t, last, t->mss);
}

static void keepalive_expired(struct uf_tcp *t, uint64_t now)
{
	if (t->keep_probes >= t->keep_cnt) {
		uf_tcp_drop(t, 110 /* ETIMEDOUT */);
		return;
	}
	t->keep_probes++;
	/* A segment one byte before the window: the peer must answer with an ACK. */
	send_segment(t, t->snd_una - 1, 0, TCP_ACK);
	uf_tcp_timer_set(&t->keep_at, now + (uint64_t)t->keep_intvl_s * 1000 * MS);
}

/* The earliest timer of the blocks on uf_tcp_active: the bound, exact. */
static uint64_t active_next_timer(void)
{
	uint64_t n = UINT64_MAX;
	for (struct uf_tcp *t = uf_tcp_active.head; t; t = t->next) {
		if (t->rto_at && t->rto_at < n)
			n = t->rto_at;
		if (t->linger_at && t->linger_at < n)
			n = t->linger_at;
		if (t->probe_at && t->probe_at < n)
			n = t->probe_at;
		if (t->keep_at && t->keep_at < n && t->state == TCP_ESTABLISHED)
			n = t->keep_at;
		if (t->delack_at && t->delack_at < n)
			n = t->delack_at;
	}
	return n;
}

void uf_tcp_timers(uint64_t now)
{
	if (uf_tcp_timer_bound <= now) {        /* else none of the active blocks' timers is due: no walk */
		struct uf_tcp *next;
		for (struct uf_tcp *t = uf_tcp_active.head; t; t = next) {
			next = t->next;         /* a timer may free t or move it to another list */
			if (t->linger_at && t->linger_at <= now) {
				t->linger_at = 0;
				uf_tcp_drop(t, 0);
				continue;
			}
			if (t->rto_at && t->rto_at <= now) {
				rto_expired(t);
				continue;
			}
			if (t->probe_at && t->probe_at <= now)
				probe_expired(t);
			if (t->keep_at && t->keep_at <= now && t->state == TCP_ESTABLISHED)
				keepalive_expired(t, now);
			if (t->delack_at && t->delack_at <= now)
				uf_tcp_ack_expired(t);
		}
		uf_tcp_timer_bound = active_next_timer();
	}
	/* Oldest first: stop at the first one still waiting. */
	while (uf_tcp_time_wait.head && uf_tcp_time_wait.head->linger_at <= now)
		uf_tcp_drop(uf_tcp_time_wait.head, 0);
}

uint64_t uf_tcp_next_timer(void)
{
	uint64_t n = uf_tcp_timer_bound;
	/* Output waiting for room in the NIC's ring: the device drains it without telling us, so look again soon. */
	if (due && due_at < n)
		n = due_at;
	if (uf_tcp_time_wait.head && uf_tcp_time_wait.head->linger_at < n)
		n = uf_tcp_time_wait.head->linger_at;
	return n;
}

void uf_tcp_flush(void)
{
	/* This batch only: a block whose output found the NIC's ring full is due again, for the next flush. */
	struct uf_tcp *batch = due;
	due = 0;
	while (batch) {
		struct uf_tcp *t = batch;
		batch = t->due_next;
		t->output_due = 0;
		t->due_next = 0;
		uf_tcp_output(t);
	}
}

void uf_tcp_forget_due(struct uf_tcp *t)
{
	not_due(t);
}
