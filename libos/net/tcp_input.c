/* TCP input (RFC 9293 3.10.7): a checked header parsed into a segment, then the state machine; ACK
 * processing with RTT estimation (RFC 6298), slow start and congestion avoidance (RFC 5681), fast retransmit
 * and NewReno recovery (RFC 6582); RST and SYN checks against blind attacks (RFC 5961); in-order data into
 * the receive buffer, out-of-order segments kept within the window. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uf/time.h>

#include "tcp.h"

#define OOO_OVERHEAD 64         /* charged per queued segment, so tiny ones can't exhaust memory */

struct segment {
	uint32_t seq, ack, wnd;         /* wnd as sent (unscaled) */
	uint8_t flags;
	const uint8_t *data;
	uint32_t len;                   /* data bytes */
	uint16_t mss;                   /* 0: no option */
	int wscale;                     /* -1: no option */
	int sack_ok;                    /* SACK-permitted option */
	int has_ts;                     /* timestamps option */
	uint32_t tsval, tsecr;
	uint32_t sack[4][2];            /* SACK blocks: start, end */
	int nsack;
};

static void parse_options(const uint8_t *o, size_t len, struct segment *s)
{
	size_t i = 0;
	while (i < len) {
		uint8_t kind = o[i];
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len || o[i + 1] < 2 || i + o[i + 1] > len)
			break;
		if (kind == 2 && o[i + 1] == 4)
			s->mss = get16(o + i + 2);
		else if (kind == 3 && o[i + 1] == 3)
			s->wscale = o[i + 2] > 14 ? 14 : o[i + 2];
		else if (kind == 4 && o[i + 1] == 2)
			s->sack_ok = 1;
		else if (kind == 8 && o[i + 1] == 10) {
			s->has_ts = 1;
			s->tsval = get32(o + i + 2);
			s->tsecr = get32(o + i + 6);
		} else if (kind == 5 && (o[i + 1] - 2) % 8 == 0 && !s->nsack) {
			for (int b = 0; b < (o[i + 1] - 2) / 8 && b < 4; b++) {
				s->sack[b][0] = get32(o + i + 2 + 8 * b);
				s->sack[b][1] = get32(o + i + 6 + 8 * b);
				s->nsack++;
			}
		}
		i += o[i + 1];
	}
}

/* ---- receive buffer ---- */

static uint32_t append(struct uf_tcp *t, const uint8_t *data, uint32_t len)
{
	uint32_t space = t->rbuf_size - t->rlen;
	if (len > space)
		len = space;
	uint32_t at = (t->rhead + t->rlen) % t->rbuf_size;
	uint32_t first = t->rbuf_size - at < len ? t->rbuf_size - at : len;
	memcpy(t->rbuf + at, data, first);
	memcpy(t->rbuf, data + first, len - first);
	t->rlen += len;
	if (len)
		uf_tcp_wake(t);
	return len;
}

static void free_ooo(struct uf_tcp *t)
{
	while (t->ooo) {
		struct tcp_ooo *o = t->ooo;
		t->ooo = o->next;
		free(o);
	}
	t->ooo_bytes = 0;
}

/* Keeps a segment beyond rcv_nxt, sorted by sequence, within what the buffer could hold. */
static void keep_ooo(struct uf_tcp *t, uint32_t seq, const uint8_t *data, uint32_t len, int fin)
{
	if (t->ooo_bytes + len + OOO_OVERHEAD > t->rbuf_size)
		return;
	struct tcp_ooo **p = &t->ooo;
	while (*p && SEQ_LT((*p)->seq, seq))
		p = &(*p)->next;
	if (*p && (*p)->seq == seq && (*p)->len >= len)
		return;             /* a retransmission of what we have */
	struct tcp_ooo *o = malloc(sizeof *o + len);
	if (!o)
		return;
	o->seq = seq;
	o->len = len;
	o->fin = fin;
	memcpy(o->data, data, len);
	o->next = *p;
	*p = o;
	t->ooo_bytes += len + OOO_OVERHEAD;
	t->last_ooo = seq;
}

static void receive_fin(struct uf_tcp *t);

/* After rcv_nxt moved: takes the queued segments that now continue the stream. */
static void drain_ooo(struct uf_tcp *t)
{
	while (t->ooo && SEQ_LE(t->ooo->seq, t->rcv_nxt)) {
		struct tcp_ooo *o = t->ooo;
		t->ooo = o->next;
		t->ooo_bytes -= o->len + OOO_OVERHEAD;
		uint32_t end = o->seq + o->len;
		if (SEQ_GT(end, t->rcv_nxt)) {
			uint32_t skip = t->rcv_nxt - o->seq;
			uint32_t n = append(t, o->data + skip, o->len - skip);
			t->rcv_nxt += n;
			t->bytes_received += n;
			if (n == o->len - skip && o->fin && !t->rcv_fin)
				receive_fin(t);
		} else if (end == t->rcv_nxt && o->fin && !t->rcv_fin) {
			receive_fin(t);
		}
		free(o);
	}
}

/* ---- state changes ---- */

static void established(struct uf_tcp *t)
{
	t->state = TCP_ESTABLISHED;
	t->snd_data = t->iss + 1;
	t->snd_una = t->iss + 1;
	if (t->keepalive)
		uf_tcp_timer_set(&t->keep_at, uf_time_monotonic_ns() + (uint64_t)t->keep_idle_s * 1000 * MS);
	uf_tcp_wake(t->listener ? t->listener : t);      /* a connection to accept, or connect() done */
}

static void receive_fin(struct uf_tcp *t)
{
	uf_tcp_wake(t);
	t->rcv_fin = 1;
	t->rcv_nxt++;
	t->ack_now = 1;
	switch (t->state) {
	case TCP_SYN_RCVD:
	case TCP_ESTABLISHED:
		t->state = TCP_CLOSE_WAIT;
		break;
	case TCP_FIN_WAIT_1:
		t->state = TCP_CLOSING;     /* our FIN not yet acknowledged (else we'd be in FIN_WAIT_2) */
		break;
	case TCP_FIN_WAIT_2:
		uf_tcp_enter_time_wait(t);
		break;
	default:
		break;
	}
}

/* RFC 6298 2.2/2.3, in ns, with Linux's floor: RTO is at least srtt + 200 ms (the variance term never less
 * than 200 ms), so a LAN's sub-millisecond RTT doesn't time out a peer's delayed ACK. A sample ends any backoff
 * (5.7). */
static void rtt_sample(struct uf_tcp *t, uint64_t r)
{
	if (!t->min_rtt || r < t->min_rtt)
		t->min_rtt = r;
	if (!t->srtt) {
		t->srtt = r;
		t->rttvar = r / 2;
	} else {
		uint64_t diff = t->srtt > r ? t->srtt - r : r - t->srtt;
		t->rttvar = (3 * t->rttvar + diff) / 4;
		t->srtt = (7 * t->srtt + r) / 8;
	}
	uint64_t var = 4 * t->rttvar < TCP_RTO_MIN ? TCP_RTO_MIN : 4 * t->rttvar;
	t->rto = t->srtt + var > TCP_RTO_MAX ? TCP_RTO_MAX : t->srtt + var;
	t->backoff = 0;
}

/* Enters fast recovery (RFC 6675 5 with SACK, else RFC 6582): CUBIC's share of the flight (0.7) is the new
 * threshold. With SACK, proportional rate reduction paces what follows (prr_ack); without, NewReno's inflation. */
void uf_tcp_enter_recovery(struct uf_tcp *t)
{
	uint32_t flight = t->snd_max - t->snd_una;
	uf_tcp_cc_congestion(t);
	t->recover = t->snd_max;
	t->in_recovery = 1;
	if (t->sack_ok) {
		t->high_rxt = t->snd_una;
		t->rxt_marks = 0;
		t->prr_delivered = t->prr_out = 0;
		t->recover_fs = flight;
		return;
	}
	uf_tcp_retransmit_first(t);
	t->cwnd = t->ssthresh + 3u * t->mss;
}

/* RFC 6937 on each ACK in SACK recovery: cwnd follows what the ACK says was delivered, shrinking the flight
 * toward ssthresh in proportion while above it (no burst of halving at once), growing back by slow start while
 * below (PRR-SSRB). The first retransmission always goes. */
static void prr_ack(struct uf_tcp *t, uint32_t delivered)
{
	t->prr_delivered += delivered;
	uint32_t pipe = uf_tcp_pipe(t);
	int64_t sndcnt;
	if (pipe > t->ssthresh) {
		sndcnt = (int64_t)(((uint64_t)t->prr_delivered * t->ssthresh + t->recover_fs - 1) / t->recover_fs) -
			 t->prr_out;
	} else {
		int64_t limit = (int64_t)t->prr_delivered - t->prr_out;
		limit = (limit > delivered ? limit : delivered) + t->mss;
		sndcnt = (int64_t)(t->ssthresh - pipe) < limit ? (int64_t)(t->ssthresh - pipe) : limit;
	}
	if (sndcnt < 0)
		sndcnt = 0;
	if (!t->prr_out && sndcnt < t->mss)
		sndcnt = t->mss;
	t->cwnd = pipe + (uint32_t)sndcnt;
}

/* New data acknowledged: frees it from the send buffer, grows or repairs the congestion window. */
static void new_ack(struct uf_tcp *t, const struct segment *s, uint64_t now)
{
	uint32_t ack = s->ack;
	uint32_t acked = ack - t->snd_una;
	t->bytes_acked += acked;
	uint32_t data_end = t->snd_data + t->slen;
	uint32_t upto = SEQ_LT(ack, data_end) ? ack : data_end;
	if (SEQ_GT(upto, t->snd_data)) {
		uint32_t n = upto - t->snd_data;
		t->shead = (t->shead + n) % t->sbuf_size;
		t->slen -= n;
		t->snd_data = upto;
		uf_tcp_wake(t);                 /* room made */
	}
	t->snd_una = ack;
	if (SEQ_LT(t->snd_nxt, ack))
		t->snd_nxt = ack;
	uf_tcp_sack_trim(t);
	t->probe_at = 0;                        /* progress: uf_tcp_output arms it again */
	t->tlp_sent = 0;
	/* A timestamp echo times every ACK, retransmissions included (RFC 7323 4); else the one timed segment. */
	uint32_t echoed = t->ts_ok && s->has_ts && s->tsecr ? uf_tcp_ts_now(t) - s->tsecr : UINT32_MAX;
	if (echoed < 600000) {
		t->rtt_timing = 0;
		rtt_sample(t, (uint64_t)echoed * MS);
	} else if (t->rtt_timing && SEQ_GE(ack, t->rtt_seq)) {
		t->rtt_timing = 0;
		rtt_sample(t, now - t->rtt_start);
	}
	t->retries = 0;
	t->rto_at = 0;
	if (t->snd_una != t->snd_max)
		uf_tcp_arm_rto(t);

	if (t->in_recovery) {
		if (SEQ_GE(ack, t->recover)) {          /* full ACK: leave recovery */
			uint32_t flight = t->snd_max - t->snd_una;
			t->rack_end = 0;
			t->cwnd = t->sack_ok || flight + t->mss > t->ssthresh ? t->ssthresh : flight + t->mss;
			t->in_recovery = 0;
		} else if (!t->sack_ok) {               /* NewReno's partial ACK: the next hole is lost too */
			uf_tcp_retransmit_first(t);
			t->cwnd = t->cwnd > acked ? t->cwnd - acked : 0;
			t->cwnd += acked >= t->mss ? t->mss : 0;
			if (t->cwnd < t->mss)
				t->cwnd = t->mss;
		}
	} else if (!t->cwnd_limited) {
		if (t->cwnd >= t->ssthresh)     /* the window held nothing back: no news of what the path takes */
			uf_tcp_cc_app_limited(t, now);
	} else if (t->cwnd < t->ssthresh) {
		/* Slow start and congestion avoidance count the bytes acknowledged, not the ACKs (RFC 3465, RFC 5681
		 * 3.1): a receiver that acknowledges every other segment (Linux's delayed ACKs) would otherwise halve
		 * the growth, and with it the window TCP holds between losses. */
		t->cwnd += acked < 2u * t->mss ? acked : 2u * t->mss;
	} else {
		uf_tcp_cc_ack(t, acked, now);
	}
	if (t->cwnd_limited && SEQ_GE(ack, t->cwnd_limited_end))
		t->cwnd_limited = 0;            /* a round trip since: output tells again */
	if (t->cwnd > 2 * TCP_BUF_MAX)
		t->cwnd = 2 * TCP_BUF_MAX;
	t->dupacks = 0;
}

static void duplicate_ack(struct uf_tcp *t)
{
	if (t->in_recovery) {
		if (!t->sack_ok)
			t->cwnd += t->mss;      /* NewReno: each dupack, a segment has left the network */
		return;
	}
	/* The first two let a new segment out each (RFC 3042 limited transmit: uf_tcp_output); the third starts
	 * recovery, unless it is about losses from before the last one (RFC 6582 3.2 step 1). */
	if (++t->dupacks == 3 && SEQ_GT(t->snd_una, t->recover))
		uf_tcp_enter_recovery(t);
}

/* The ACK's SACK blocks into the scoreboard. A first block below the cumulative ACK or inside the second is a
 * D-SACK (RFC 2883): a segment the peer got twice, counted, not a hole's news. */
static void take_sack(struct uf_tcp *t, const struct segment *s)
{
	for (int i = 0; i < s->nsack; i++) {
		uint32_t start = s->sack[i][0], end = s->sack[i][1];
		if (SEQ_LE(end, s->ack) || (i == 0 && s->nsack > 1 && SEQ_GE(start, s->sack[1][0]) &&
					    SEQ_LE(end, s->sack[1][1]))) {
			t->dsacks += i == 0;
			continue;
		}
		uf_tcp_sack_add(t, SEQ_LT(start, s->ack) ? s->ack : start, end);
	}
}

/* ---- segment arrival ---- */

static void accept_syn_options(struct uf_tcp *t, const struct segment *s)
{
	uint16_t ours = (uint16_t)(uf_inet_mtu(t->raddr) - TCP_HLEN);
	t->mss = s->mss ? (s->mss < ours ? s->mss : ours) : TCP_DEFAULT_MSS;
	if (t->mss < 64)
		t->mss = 64;                /* a hostile MSS must not make us send byte-sized segments */
	t->sack_ok = s->sack_ok;
	t->ts_ok = s->has_ts;           /* a SYN-ACK has it only if our SYN offered it */
	if (t->ts_ok) {
		t->mss -= TCP_TS_LEN;       /* every segment carries it: the data is that much shorter */
		t->ts_recent = s->tsval;
		t->ts_recent_at = uf_time_monotonic_ns();
	}
	if (s->wscale >= 0) {
		t->snd_scale = (uint8_t)s->wscale;
		t->rcv_scale = TCP_RCV_SCALE;
	} else {
		t->snd_scale = t->rcv_scale = 0;
	}
	t->cwnd = 10u * t->mss;         /* RFC 6928 initial window */
	t->ssthresh = UINT32_MAX / 2;
}

/* ---- SYN cookies ---- */

/* When a listener's queue is full of half-open connections (a SYN flood), a SYN gets a SYN-ACK whose sequence
 * number is a cookie instead of a control block: a keyed hash of the 4-tuple, the client's ISN and the minute,
 * with 3 bits for the MSS. The ACK that completes the handshake brings it back, and only then is the connection
 * made (without window scaling, SACK or timestamps: there was nowhere to keep them). */
static const uint16_t cookie_mss[8] = { 536, 1200, 1440, 1460, 4312, 8960, 16344, 65483 };
#define COOKIE_PERIOD (64000 * MS)      /* a cookie holds for this long to two periods */

static uint32_t mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	return x ^ x >> 16;
}

static uint32_t cookie(const uint8_t src[16], uint16_t sport, const uint8_t dst[16], uint16_t dport, uint32_t isn, uint32_t period)
{
	static uint32_t secret[2];
	if (!secret[0]) {
		secret[0] = uf_net_random() | 1;
		secret[1] = uf_net_random();
	}
	uint32_t h = mix(secret[0] ^ period);
	for (int i = 0; i < 16; i += 4)
		h = mix(mix(h ^ get32(src + i)) ^ get32(dst + i));
	h = mix(h ^ ((uint32_t)sport << 16 | dport));
	h = mix(h ^ isn);
	return mix(h ^ secret[1]) & ~7u;
}

static void send_cookie(struct uf_tcp *l, const uint8_t src[16], uint16_t sport, const uint8_t dst[16], uint16_t dport,
			const struct segment *s)
{
	uint16_t ours = (uint16_t)(uf_inet_mtu(src) - TCP_HLEN), peer = s->mss ? s->mss : TCP_DEFAULT_MSS;
	int i = 7;
	while (i && cookie_mss[i] > (peer < ours ? peer : ours))
		i--;
	/* A throwaway block on the stack, only to send the SYN-ACK; marked due already, so that a full NIC ring
	 * never puts it on the due list. */
	struct uf_tcp tmp = { .state = TCP_SYN_RCVD, .rcv_nxt = s->seq + 1, .rbuf_size = l->rbuf_size,
			      .output_due = 1, .lport = dport, .rport = sport, .tos = l->tos, .ttl = l->ttl };
	memcpy(tmp.laddr, dst, 16);
	memcpy(tmp.raddr, src, 16);
	uint32_t period = (uint32_t)(uf_time_monotonic_ns() / COOKIE_PERIOD);
	tmp.iss = cookie(src, sport, dst, dport, s->seq, period) | (uint32_t)i;
	tmp.snd_max = tmp.iss + 1;
	uf_tcp_send_ctl(&tmp, tmp.iss, TCP_SYN | TCP_ACK);
}

/* The MSS the ACK's cookie carries, or 0 if it is no cookie of ours (of this period or the last). */
static uint16_t check_cookie(const uint8_t src[16], uint16_t sport, const uint8_t dst[16], uint16_t dport, const struct segment *s)
{
	uint32_t iss = s->ack - 1, period = (uint32_t)(uf_time_monotonic_ns() / COOKIE_PERIOD);
	for (uint32_t back = 0; back < 2; back++)
		if (cookie(src, sport, dst, dport, s->seq - 1, period - back) == (iss & ~7u))
			return cookie_mss[iss & 7];
	return 0;
}

/* A child connection in SYN_RCVD for the listener's queue, as the SYN s asked. */
static struct uf_tcp *new_child(struct uf_tcp *l, const uint8_t src[16], uint16_t sport, const uint8_t dst[16], uint16_t dport,
				const struct segment *s)
{
	struct uf_tcp *c = uf_tcp_alloc(addr_is_v4(dst) ? UF_NET_V4 : UF_NET_V6);
	if (!c)
		return 0;
	c->reuse = l->reuse;    /* as Linux: a server restarted with SO_REUSEADDR takes its port back beside these */
	if (uf_tcp_port_take(c, dst, dport) < 0) {
		uf_tcp_free(c);
		return 0;
	}
	uf_tcp_hash_set(c, dst, dport, src, sport);
	c->nodelay = l->nodelay;
	c->tos = l->tos;
	c->ttl = l->ttl;
	c->keepalive = l->keepalive;
	c->keep_idle_s = l->keep_idle_s;
	c->keep_intvl_s = l->keep_intvl_s;
	c->keep_cnt = l->keep_cnt;
	c->rbuf_size = l->rbuf_size;
	c->sbuf_size = l->sbuf_size;
	c->state = TCP_SYN_RCVD;
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->iss = uf_net_random();
	c->ts_offset = uf_net_random();
	c->snd_una = c->snd_nxt = c->snd_max = c->recover = c->iss;
	c->snd_wnd = s->wnd;
	c->max_sndwnd = c->snd_wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = c->iss;
	accept_syn_options(c, s);
	c->listener = l;
	struct uf_tcp **p = &l->children;
	while (*p)
		p = &(*p)->sibling;
	*p = c;
	return c;
}

static void established_input(struct uf_tcp *t, struct segment *s, uint64_t now);

static void listen_input(struct uf_tcp *l, const uint8_t src[16], uint16_t sport, const uint8_t dst[16], uint16_t dport,
			 struct segment *s, uint64_t now)
{
	if (s->flags & TCP_RST)
		return;
	int queued = 0;
	struct uf_tcp *half_open = 0;           /* the oldest */
	for (struct uf_tcp *c = l->children; c; c = c->sibling) {
		queued++;
		if (!half_open && c->state == TCP_SYN_RCVD)
			half_open = c;
	}
	if (s->flags & TCP_ACK) {
		uint16_t mss = !(s->flags & TCP_SYN) ? check_cookie(src, sport, dst, dport, s) : 0;
		if (!mss) {
			uf_tcp_send_rst(dst, src, dport, sport, s->ack, 0, 0, 0);
			return;
		}
		if (queued >= l->backlog) {
			if (!half_open)
				return;         /* full of connections the app hasn't accepted: the peer retries */
			uf_tcp_free(half_open); /* a real client's handshake outranks a flood's half-open one */
		}
		/* A cookie's handshake completes: the child as if its SYN had come (no options), then this ACK. */
		struct segment syn = { .seq = s->seq - 1, .wnd = s->wnd, .mss = mss, .wscale = -1 };
		struct uf_tcp *c = new_child(l, src, sport, dst, dport, &syn);
		if (!c)
			return;
		c->iss = s->ack - 1;
		c->snd_una = c->recover = c->iss;
		c->snd_nxt = c->snd_max = c->iss + 1;
		established_input(c, s, now);
		return;
	}
	if (!(s->flags & TCP_SYN))
		return;
	if (queued >= l->backlog) {
		if (half_open)
			send_cookie(l, src, sport, dst, dport, s);     /* a flood: answer without keeping state */
		return;                 /* full of connections the app hasn't accepted: the peer retries */
	}
	struct uf_tcp *c = new_child(l, src, sport, dst, dport, s);
	if (c)
		uf_tcp_output(c);
}

static void syn_sent_input(struct uf_tcp *t, const struct segment *s)
{
	int ack_ok = (s->flags & TCP_ACK) && SEQ_GT(s->ack, t->iss) && SEQ_LE(s->ack, t->snd_max);
	if ((s->flags & TCP_ACK) && !ack_ok) {
		if (!(s->flags & TCP_RST))
			uf_tcp_send_rst(t->laddr, t->raddr, t->lport, t->rport, s->ack, 0, 0, t->tos);
		return;
	}
	if (s->flags & TCP_RST) {
		if (ack_ok)
			uf_tcp_drop(t, ECONNREFUSED);
		return;
	}
	if (!(s->flags & TCP_SYN))
		return;
	t->irs = s->seq;
	t->rcv_nxt = s->seq + 1;
	accept_syn_options(t, s);
	t->snd_wnd = s->wnd;            /* unscaled in a SYN */
	t->max_sndwnd = t->snd_wnd;
	t->snd_wl1 = s->seq;
	t->snd_wl2 = s->ack;
	if (ack_ok) {
		t->rto_at = 0;
		t->retries = 0;
		if (t->rtt_timing)
			rtt_sample(t, uf_time_monotonic_ns() - t->rtt_start);
		t->rtt_timing = 0;
		established(t);
		t->ack_now = 1;
		uf_tcp_due(t);
	} else {
		t->state = TCP_SYN_RCVD;    /* simultaneous open */
		t->snd_nxt = t->iss;
		uf_tcp_output(t);
	}
}

/* Whether a segment lies in the receive window. Linux's test, more lenient than RFC 9293's table at the edges:
 * a sender that filled our window sends its pure ACKs from the window's right edge, and those must count
 * (RFC 9293 3.10.7.4 also asks to accept valid ACKs when the window is zero). */
static int acceptable(const struct uf_tcp *t, const struct segment *s)
{
	uint32_t wnd = SEQ_GT(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
	uint32_t seglen = s->len + !!(s->flags & TCP_SYN) + !!(s->flags & TCP_FIN);
	return SEQ_GE(s->seq + seglen, t->rcv_nxt) && SEQ_LE(s->seq, t->rcv_nxt + wnd);
}

static void data_input(struct uf_tcp *t, struct segment *s)
{
	uint32_t seq = s->seq;
	const uint8_t *data = s->data;
	uint32_t len = s->len;
	int fin = !!(s->flags & TCP_FIN), owed = t->ack_now;
	t->ack_now = 1;                         /* also for a duplicate: the sender learns what we have */
	int dup = SEQ_LT(seq, t->rcv_nxt);
	if (dup) {                              /* the front was received before: our ACK was lost, or late */
		uf_tcp_ack_quick(t, 1);
		uint32_t skip = t->rcv_nxt - seq;
		if (skip > len) {           /* all old; a FIN can't lie before data we have */
			fin = 0;
			skip = len;
		}
		data += skip;
		len -= skip;
		seq += skip;
	}
	uint32_t right = t->rcv_nxt + (t->rbuf_size - t->rlen);
	uint32_t room = SEQ_LT(seq, right) ? right - seq : 0;
	if (len > room) {                       /* beyond the window: cut off (and the FIN with it) */
		len = room;
		fin = 0;
	}
	if (seq != t->rcv_nxt) {
		if (len || fin)
			keep_ooo(t, seq, data, len, fin);
		uf_tcp_ack_quick(t, 1);             /* a loss: the sender's recovery wants every ACK */
		/* An immediate duplicate ACK per segment tells the sender about the hole (RFC 5681 4.2). It must carry
		 * no data, or the sender won't count it toward fast retransmit: so not coalesced with our output. */
		uf_tcp_send_ctl(t, t->snd_nxt, TCP_ACK);
		return;
	}
	uint32_t n = append(t, data, len);
	t->rcv_nxt += n;
	t->bytes_received += n;
	if (n == len && fin && !t->rcv_fin)
		receive_fin(t);
	if (t->ooo) {
		drain_ooo(t);                       /* a hole filled: ACKed at once (RFC 5681 4.2) */
	} else if (!dup && !fin && n && n == len && t->state == TCP_ESTABLISHED &&
		   !uf_inet_is_local(t->raddr)) {
		t->ack_now = owed;                  /* plain new data from another host: uf_tcp_ack_data decides */
		uf_tcp_ack_data(t, n, t->last_data_recv);
	}
}

static void established_input(struct uf_tcp *t, struct segment *s, uint64_t now)
{
	/* PAWS (RFC 7323 5.3): a timestamp older than the latest taken marks an old duplicate (sequence numbers may
	 * have wrapped since it was sent). An ACK tells the peer where we are. */
	if (t->ts_ok && s->has_ts && !(s->flags & TCP_RST) && SEQ_LT(s->tsval, t->ts_recent) &&
	    now - t->ts_recent_at <= TCP_PAWS_IDLE) {
		t->ack_now = 1;
		uf_tcp_due(t);
		return;
	}
	if (!acceptable(t, s)) {
		if (!(s->flags & TCP_RST)) {
			if (t->state == TCP_SYN_RCVD && (s->flags & TCP_SYN) && s->seq == t->irs)
				t->snd_nxt = t->iss;    /* duplicate SYN: send the SYN-ACK again */
			t->ack_now = 1;
			uf_tcp_due(t);
		}
		return;
	}
	if (s->flags & TCP_RST) {
		if (s->seq == t->rcv_nxt) {
			if (t->listener && t->state == TCP_SYN_RCVD)
				uf_tcp_drop(t, 0);
			else
				uf_tcp_drop(t, t->state == TCP_SYN_RCVD ? ECONNREFUSED : ECONNRESET);
		} else {
			t->ack_now = 1;         /* in the window but not exact: challenge ACK (RFC 5961 3.2) */
			uf_tcp_due(t);
		}
		return;
	}
	if (s->flags & TCP_SYN) {
		t->ack_now = 1;                 /* RFC 5961 4.2: challenge ACK */
		uf_tcp_due(t);
		return;
	}
	if (!(s->flags & TCP_ACK))
		return;
	/* RFC 7323 4.3: echo the timestamp of the segment that our next ACK acknowledges, not a later one. */
	if (t->ts_ok && s->has_ts && SEQ_LE(s->seq, t->last_ack_sent)) {
		t->ts_recent = s->tsval;
		t->ts_recent_at = now;
	}
	if (t->keepalive) {
		t->keep_probes = 0;
		uf_tcp_timer_set(&t->keep_at, now + (uint64_t)t->keep_idle_s * 1000 * MS);
	}

	if (t->state == TCP_SYN_RCVD) {
		if (SEQ_LE(s->ack, t->iss) || SEQ_GT(s->ack, t->snd_max)) {
			uf_tcp_send_rst(t->laddr, t->raddr, t->lport, t->rport, s->ack, 0, 0, t->tos);
			return;
		}
		int rc = t->rbuf ? 0 : uf_tcp_alloc_buffers(t);
		if (rc < 0) {           /* no memory for one more connection: the client is told at once */
			uf_tcp_send_rst(t->laddr, t->raddr, t->lport, t->rport, s->ack, 0, 0, t->tos);
			uf_tcp_drop(t, -rc);
			return;
		}
		if (t->rtt_timing)
			rtt_sample(t, now - t->rtt_start);
		t->rtt_timing = 0;
		t->rto_at = 0;
		t->retries = 0;
		established(t);
		t->snd_wnd = s->wnd << t->snd_scale;
		t->max_sndwnd = t->snd_wnd;
		t->snd_wl1 = s->seq;
		t->snd_wl2 = s->ack;
	}

	if (SEQ_GT(s->ack, t->snd_max)) {
		t->ack_now = 1;                 /* acknowledges what we never sent */
		uf_tcp_due(t);
		return;
	}
	uint32_t wnd = s->wnd << t->snd_scale, una = t->snd_una;
	int64_t sacked = t->sack_ok ? uf_tcp_sacked(t) : 0;
	if (t->sack_ok)
		take_sack(t, s);
	if (SEQ_GT(s->ack, t->snd_una)) {
		new_ack(t, s, now);
	} else if (s->ack == t->snd_una && !s->len && !(s->flags & TCP_FIN) && wnd == t->snd_wnd &&
		   t->snd_una != t->snd_max) {
		duplicate_ack(t);
	}
	if (t->sack_ok && t->snd_una != t->snd_max) {
		/* RFC 6675 5: enough SACKed above snd_una marks it lost, whatever the count of duplicate ACKs. */
		if (!t->in_recovery && uf_tcp_sack_lost(t) && SEQ_GT(t->snd_una, t->recover))
			uf_tcp_enter_recovery(t);
		if (t->in_recovery) {
			uf_tcp_sack_rxt_lost(t);
			int64_t delivered = (int64_t)(t->snd_una - una) + (int64_t)uf_tcp_sacked(t) - sacked;
			prr_ack(t, delivered > 0 ? (uint32_t)delivered : 0);
		} else if (t->sack_count) {
			/* Data sent after a hole arrived: the hole's segment, sent before it, is lost unless it shows up
			 * within a quarter RTT (RFC 8985's reordering window), too few duplicate ACKs or not. */
			uint64_t at = now + (t->srtt / 4 > TCP_REO_MIN ? t->srtt / 4 : TCP_REO_MIN);
			if (!t->probe_at || at < t->probe_at)
				uf_tcp_timer_set(&t->probe_at, at);
		}
	}
	if (SEQ_LT(t->snd_wl1, s->seq) || (t->snd_wl1 == s->seq && SEQ_LE(t->snd_wl2, s->ack))) {
		if (!t->snd_wnd && wnd)
			t->rto_at = t->snd_una != t->snd_max ? t->rto_at : 0;  /* window opened: stop probing */
		t->snd_wnd = wnd;
		t->snd_wl1 = s->seq;
		t->snd_wl2 = s->ack;
		if (wnd > t->max_sndwnd)
			t->max_sndwnd = wnd;
	}
	if (!wnd && s->ack == t->snd_una)
		t->retries = 0;                 /* a peer answering zero-window probes is alive: keep probing */
	int fin_acked = t->fin_queued && t->snd_una == t->snd_data + t->slen + 1;
	switch (t->state) {
	case TCP_FIN_WAIT_1:
		if (fin_acked) {
			t->state = TCP_FIN_WAIT_2;
			if (!t->app)
				uf_tcp_timer_set(&t->linger_at, now + TCP_FIN_WAIT_2_TIMEOUT);
		}
		break;
	case TCP_CLOSING:
		if (fin_acked)
			uf_tcp_enter_time_wait(t);
		break;
	case TCP_LAST_ACK:
		if (fin_acked) {
			uf_tcp_drop(t, 0);
			return;
		}
		break;
	case TCP_TIME_WAIT:
		if (s->flags & TCP_FIN) {           /* the peer lost our ACK of its FIN */
			t->ack_now = 1;
			uf_tcp_enter_time_wait(t);
		}
		break;
	default:
		break;
	}
	if (t->state == TCP_ESTABLISHED || t->state == TCP_FIN_WAIT_1 || t->state == TCP_FIN_WAIT_2) {
		if (s->len || (s->flags & TCP_FIN))
			data_input(t, s);
	}
	uf_tcp_due(t);
}

void uf_tcp_input(const uint8_t src[16], const uint8_t dst[16], const uint8_t *p, size_t len, int csum_valid)
{
	if (len < TCP_HLEN || !uf_inet_is_local(dst) || addr_is_any(src))
		return;
	size_t hlen = (size_t)(p[12] >> 4) * 4;
	if (hlen < TCP_HLEN || hlen > len)
		return;
	if (!csum_valid && uf_net_fold(uf_net_sum(uf_inet_pseudo_sum(src, dst, IP_PROTO_TCP, (uint32_t)len), p, len)))
		return;
	struct segment s = {
		.seq = get32(p + 4), .ack = get32(p + 8), .flags = p[13] & 0x3f, .wnd = get16(p + 14),
		.data = p + hlen, .len = (uint32_t)(len - hlen), .wscale = -1,
	};
	uint16_t sport = get16(p), dport = get16(p + 2);
	if ((s.flags & TCP_SYN) && (s.flags & (TCP_RST | TCP_FIN)))
		return;                         /* nonsense combinations from scanners */
	parse_options(p + TCP_HLEN, hlen - TCP_HLEN, &s);
	uint64_t now = uf_time_monotonic_ns();

	struct uf_tcp *t = uf_tcp_lookup(src, sport, dst, dport);
	/* A SYN for a 4-tuple in TIME_WAIT: a new incarnation if it is newer by timestamp, else by sequence
	 * (RFC 6191); the listener takes it. */
	if (t && t->state == TCP_TIME_WAIT && (s.flags & TCP_SYN) && !(s.flags & TCP_ACK) &&
	    (t->ts_ok && s.has_ts ? SEQ_GT(s.tsval, t->ts_recent) : SEQ_GT(s.seq, t->rcv_nxt))) {
		uf_tcp_drop(t, 0);
		t = uf_tcp_lookup(src, sport, dst, dport);
	}
	if (!t) {
		if (!(s.flags & TCP_RST)) {
			if (s.flags & TCP_ACK)
				uf_tcp_send_rst(dst, src, dport, sport, s.ack, 0, 0, 0);
			else
				uf_tcp_send_rst(dst, src, dport, sport, 0,
						s.seq + s.len + !!(s.flags & TCP_SYN) + !!(s.flags & TCP_FIN), 1, 0);
		}
		return;
	}
	switch (t->state) {
	case TCP_LISTEN:
		listen_input(t, src, sport, dst, dport, &s, now);
		break;
	case TCP_SYN_SENT:
		syn_sent_input(t, &s);
		break;
	default:
		t->segs_in++;
		if (s.len) {
			t->data_segs_in++;
			/* The first data, or the first after an idle spell: ACK the next segments at once (as Linux). */
			if (!t->last_data_recv || now - t->last_data_recv > uf_tcp_rto(t))
				uf_tcp_ack_quick(t, 0);
			t->last_data_recv = now;
		}
		if (s.flags & TCP_ACK)
			t->last_ack_recv = now;
		established_input(t, &s, now);
		break;
	}
}

/* RFC 5927's checks first: the quoted sequence number must be one we sent and not yet acknowledged, or anyone
 * could forge these. Fragmentation needed (IPv4) or packet too big (IPv6) lowers the MSS and resends (RFC 1191,
 * RFC 8201); a port or protocol unreachable while connecting refuses the connection (as Linux); the rest are soft
 * errors, left to the timers. */
void uf_tcp_icmp_error(const struct uf_icmp_error *e)
{
	struct uf_tcp *t = uf_tcp_lookup(e->remote, e->rport, e->local, e->lport);
	if (!t || t->state == TCP_LISTEN || SEQ_LT(e->seq, t->snd_una) || SEQ_GT(e->seq, t->snd_max))
		return;
	if (e->kind == ICMP_TOO_BIG && (!addr_is_v4(t->raddr) || e->mtu >= 68)) {
		uint32_t room = e->mtu - IP_HLEN;
		if (!addr_is_v4(t->raddr)) {
			uf_ip6_too_big(t->raddr, e->mtu);     /* for the path: its next connections, UDP's fragments */
			room = uf_inet_mtu(t->raddr);
		}
		uint32_t mss = room - TCP_HLEN - (t->ts_ok ? TCP_TS_LEN : 0);
		if (mss < 64 || mss >= t->mss)
			return;
		t->mss = (uint16_t)mss;
		if (t->state >= TCP_ESTABLISHED) {
			t->snd_nxt = t->snd_una;        /* what was sent was too big: again, smaller */
			uf_tcp_output(t);
		}
		return;
	}
	if (e->kind == ICMP_REFUSED && t->state == TCP_SYN_SENT)
		uf_tcp_drop(t, ECONNREFUSED);
}

void uf_tcp_free_ooo(struct uf_tcp *t)
{
	free_ooo(t);
}
