/* TCP endpoints: what module socket calls (bind, listen, connect, accept, send, recv, shutdown, close), and the
 * control blocks' life: an app's socket holds one; a listener holds its unaccepted children; a closed
 * socket's connection finishes its FIN exchange (and TIME_WAIT) alone, then frees itself. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uf/boot.h>
#include <uf/mem.h>
#include <uf/time.h>

#include "tcp.h"


static uint64_t ram(void)
{
	uint64_t bytes = 0;
	for (size_t i = 0; i < uf_boot_info.nram; i++)
		bytes += uf_boot_info.ram[i].length;
	return bytes;
}

/* A new socket's buffer size each way: RAM / 256, between 16 and 128 KiB. As Linux sizes its defaults from
 * memory: a small guest's connections each take a little (fifty transfers in 4 MiB), a usual one's 128 KiB. */
static uint32_t default_buffer(void)
{
	static uint32_t size;
	if (!size)
		size = ram() / 256 > TCP_BUF_DEFAULT ? TCP_BUF_DEFAULT :
		       ram() / 256 < TCP_BUF_MIN_DEFAULT ? TCP_BUF_MIN_DEFAULT : (uint32_t)(ram() / 256);
	return size;
}

/* The bytes all connections' buffers take together, and their bound (Linux's tcp_mem): half the RAM, so that many
 * connections at once cannot take all the memory the app and the rest of the library OS need. Past a sixteenth
 * ("pressure", as Linux's) a new connection's buffers are TCP_BUF_PRESSURE each way: its windows are small, its sends
 * short, and it still works (64 MiB: 16 connections with their default buffers, then 3,584 more; 4 MiB: 8, then
 * 224, if malloc has the memory); past the bound a connection gets none (connect fails with ENOBUFS, a client's
 * connection is reset), while those that have buffers go on. Linux's bound is lower, but it counts the bytes queued,
 * where a connection here holds its buffers whole from its start. */
static uint64_t buffered;

int uf_tcp_alloc_buffers(struct uf_tcp *t)
{
	uint64_t limit = ram() / 2;
	if (buffered + t->rbuf_size + t->sbuf_size > ram() / 16) {
		t->rbuf_size = t->rbuf_size < TCP_BUF_PRESSURE ? t->rbuf_size : TCP_BUF_PRESSURE;
		t->sbuf_size = t->sbuf_size < TCP_BUF_PRESSURE ? t->sbuf_size : TCP_BUF_PRESSURE;
	}
	if (buffered + t->rbuf_size + t->sbuf_size > limit)
		return -ENOBUFS;
	t->rbuf = malloc(t->rbuf_size);
	t->sbuf = malloc(t->sbuf_size);
	if (!t->rbuf || !t->sbuf || uf_mem_populate(t->rbuf, t->rbuf_size) || uf_mem_populate(t->sbuf, t->sbuf_size)) {
		free(t->rbuf);
		free(t->sbuf);
		t->rbuf = t->sbuf = 0;
		return -ENOMEM;
	}
	buffered += t->rbuf_size + t->sbuf_size;
	return 0;
}

static void release_buffers(struct uf_tcp *t)
{
	if (t->rbuf)
		buffered -= t->rbuf_size + t->sbuf_size;
	free(t->rbuf);
	free(t->sbuf);
	t->rbuf = t->sbuf = 0;
	t->rlen = t->slen = 0;
	uf_tcp_free_ooo(t);
}

struct uf_tcp *uf_tcp_alloc(int families)
{
	struct uf_tcp *t = calloc(1, sizeof *t);
	if (!t)
		return 0;
	t->families = families;
	t->rbuf_size = t->sbuf_size = default_buffer();
	t->rto = TCP_RTO_INITIAL;
	t->mss = TCP_DEFAULT_MSS;
	t->keep_idle_s = 7200;          /* RFC 1122 4.2.3.6 defaults, as Linux */
	t->keep_intvl_s = 75;
	t->keep_cnt = 9;
	uf_tcp_list_move(t, &uf_tcp_active);
	return t;
}

static void unlink_child(struct uf_tcp *t)
{
	for (struct uf_tcp **p = &t->listener->children; *p; p = &(*p)->sibling)
		if (*p == t) {
			*p = t->sibling;
			break;
		}
	t->listener = 0;
}

void uf_tcp_free(struct uf_tcp *t)
{
	uf_tcp_list_move(t, 0);
	uf_tcp_unhash(t);
	uf_tcp_port_release(t);
	if (t->listener)
		unlink_child(t);
	uf_tcp_forget_due(t);
	release_buffers(t);
	free(t);
}

void uf_tcp_drop(struct uf_tcp *t, int err)
{
	if (err == ETIMEDOUT && t->state >= TCP_SYN_RCVD)
		uf_tcp_send_rst(t->laddr, t->raddr, t->lport, t->rport, t->snd_nxt, 0, 0, t->tos);
	t->state = TCP_CLOSED;
	t->rto_at = t->linger_at = t->keep_at = t->probe_at = t->delack_at = 0;
	uf_tcp_wake(t);
	if (t->on != &uf_tcp_active)
		uf_tcp_list_move(t, &uf_tcp_active);
	if (err)
		t->error = err;
	if (!t->app)
		uf_tcp_free(t);             /* an orphan, or a child nobody accepted */
}

/* Closed connections kept in TIME_WAIT, at most (Linux's tcp_max_tw_buckets, smaller): a server that closes
 * hundreds of connections a second would otherwise hold 2 MSL's worth of memory. Past the limit the oldest goes
 * early, as Linux does; its 4-tuple is then merely reusable. */
#define TCP_MAX_TIME_WAIT 256

static void limit_time_wait(void)
{
	for (struct uf_tcp *o = uf_tcp_time_wait.head, *next; o && uf_tcp_time_wait.count > TCP_MAX_TIME_WAIT;
	     o = next) {
		next = o->next;
		if (!o->app)
			uf_tcp_free(o);     /* the oldest an app doesn't hold */
	}
}

/* (Again, when the peer's FIN came back: the wait starts over, at the tail of the list.) */
void uf_tcp_enter_time_wait(struct uf_tcp *t)
{
	t->state = TCP_TIME_WAIT;
	t->rto_at = t->keep_at = t->probe_at = t->delack_at = 0;
	t->linger_at = uf_time_monotonic_ns() + 2 * TCP_MSL;        /* its list's order keeps this one */
	uf_tcp_list_move(t, &uf_tcp_time_wait);
	if (!t->app) {
		release_buffers(t);     /* only the sequence numbers matter now: give the memory back at once */
		limit_time_wait();
	}
}

struct uf_tcp *uf_tcp_new(int families)
{
	struct uf_tcp *t = uf_tcp_alloc(families);
	if (t)
		t->app = 1;
	return t;
}

static void reset(struct uf_tcp *t)
{
	if (t->state >= TCP_SYN_RCVD && t->state != TCP_TIME_WAIT)
		uf_tcp_send_rst(t->laddr, t->raddr, t->lport, t->rport, t->snd_nxt, t->rcv_nxt, 1, t->tos);
}

void uf_tcp_close(struct uf_tcp *t)
{
	t->app = 0;
	t->file = 0;                    /* the file goes; the connection may live on (FIN, TIME_WAIT) */
	switch (t->state) {
	case TCP_LISTEN:
		while (t->children) {
			struct uf_tcp *c = t->children;
			reset(c);
			uf_tcp_free(c);
		}
		uf_tcp_free(t);
		return;
	case TCP_CLOSED:
	case TCP_SYN_SENT:
		uf_tcp_free(t);
		return;
	case TCP_TIME_WAIT:
		release_buffers(t);
		limit_time_wait();
		return;
	default:
		break;
	}
	if (t->rlen || t->state == TCP_SYN_RCVD) {
		reset(t);                   /* unread data: tell the peer it was lost (RFC 2525 2.17) */
		uf_tcp_free(t);
		return;
	}
	uf_tcp_shutdown(t, 1, 1);
	if (t->state == TCP_FIN_WAIT_2)
		uf_tcp_timer_set(&t->linger_at, uf_time_monotonic_ns() + TCP_FIN_WAIT_2_TIMEOUT);
}

int uf_tcp_unfinished(void)
{
	int n = 0;
	for (struct uf_tcp *t = uf_tcp_active.head; t; t = t->next)
		n += (t->state >= TCP_ESTABLISHED && t->state != TCP_FIN_WAIT_2 && t->state != TCP_TIME_WAIT) &&
		     (t->slen || t->snd_una != t->snd_max || t->fin_queued);
	return n;
}

void uf_tcp_abort(struct uf_tcp *t)
{
	if (t->state == TCP_LISTEN) {
		uf_tcp_close(t);
		return;
	}
	reset(t);
	uf_tcp_free(t);
}

void uf_tcp_set_file(struct uf_tcp *t, struct uf_file *f)
{
	t->file = f;
}

int uf_tcp_set_families(struct uf_tcp *t, int families)
{
	if (t->lport)
		return -EINVAL;
	t->families = families;
	return 0;
}

int uf_tcp_bind(struct uf_tcp *t, const uint8_t addr[16], uint16_t port, int reuse)
{
	static const uint8_t any[16];
	if (!addr)
		addr = any;
	if (t->lport || t->state != TCP_CLOSED || !(addr_families(addr, t->families) & t->families))
		return -EINVAL;
	if (!addr_is_any(addr) && !uf_inet_is_local(addr))
		return -EADDRNOTAVAIL;
	t->reuse = reuse;
	if (!port) {
		if (!(port = uf_tcp_port_ephemeral(addr, t->families)))
			return -EADDRINUSE;
	} else if (uf_tcp_port_busy(port, addr, t->families, reuse)) {
		return -EADDRINUSE;
	}
	return uf_tcp_port_take(t, addr, port);
}

/* The queue's bound: at least one (listen(fd, 0) still takes a connection, as on Linux), at most 1024. */
static int backlog_bound(int backlog)
{
	return backlog < 1 ? 1 : backlog > 1024 ? 1024 : backlog;
}

int uf_tcp_listen(struct uf_tcp *t, int backlog)
{
	if (t->state == TCP_LISTEN) {
		t->backlog = backlog_bound(backlog);    /* a second listen() changes it, as on Linux */
		return 0;
	}
	if (t->state != TCP_CLOSED)
		return -EINVAL;
	if (!t->lport) {
		int r = uf_tcp_bind(t, 0, 0, 0);
		if (r < 0)
			return r;
	}
	if (uf_tcp_listener_on(t->lport, t->laddr, t->families))
		return -EADDRINUSE;
	t->backlog = backlog_bound(backlog);
	t->state = TCP_LISTEN;
	uf_tcp_list_move(t, &uf_tcp_listeners);
	return 0;
}

int uf_tcp_connect(struct uf_tcp *t, const uint8_t to[16], uint16_t port)
{
	if (t->state == TCP_SYN_SENT)
		return -EALREADY;
	if (t->state == TCP_LISTEN)
		return -EINVAL;
	if (t->state != TCP_CLOSED)
		return -EISCONN;
	uint8_t addr[16], laddr[16];
	memcpy(addr, to, 16);
	addr_any_to_loopback(addr);
	int v4 = addr_is_v4(addr);
	if (!port || !(t->families & (v4 ? UF_NET_V4 : UF_NET_V6)) || (v4 ? addr_v4(addr) == IP_BROADCAST ||
									addr_v4(addr) >> 28 == 14 : addr[0] == 0xff))
		return -ENETUNREACH;
	int r = uf_inet_route(t->laddr, addr);
	if (r < 0)
		return r;
	if (!t->lport && (r = uf_tcp_bind(t, 0, 0, 0)) < 0)
		return r;
	if (addr_is_any(t->laddr))
		uf_inet_source(addr, laddr);
	else
		memcpy(laddr, t->laddr, 16);
	struct uf_tcp *o = uf_tcp_lookup(addr, port, laddr, t->lport);
	if (o && o != t && o->state != TCP_LISTEN)
		return -EADDRINUSE;
	if (!t->rbuf && (r = uf_tcp_alloc_buffers(t)) < 0)
		return r;
	uf_tcp_hash_set(t, laddr, t->lport, addr, port);
	t->iss = uf_net_random();
	t->ts_offset = uf_net_random();
	t->snd_una = t->snd_nxt = t->snd_max = t->recover = t->iss;
	t->snd_data = t->iss + 1;
	t->error = 0;
	t->state = TCP_SYN_SENT;
	uf_tcp_output(t);
	return 0;
}

int uf_tcp_accept(struct uf_tcp *l, struct uf_tcp **out)
{
	if (l->state != TCP_LISTEN)
		return -EINVAL;
	for (struct uf_tcp *c = l->children; c; c = c->sibling)
		if (c->state != TCP_SYN_RCVD) {
			unlink_child(c);
			c->app = 1;
			*out = c;
			return 0;
		}
	return -EAGAIN;
}

long uf_tcp_send(struct uf_tcp *t, const void *buf, size_t len)
{
	if (t->error)
		return -uf_tcp_take_error(t);
	if (t->state == TCP_SYN_SENT || t->state == TCP_SYN_RCVD)
		return -EAGAIN;
	if ((t->state != TCP_ESTABLISHED && t->state != TCP_CLOSE_WAIT) || t->fin_queued)
		return t->state == TCP_CLOSED && !t->lport ? -ENOTCONN : -EPIPE;
	uint32_t space = t->sbuf_size - t->slen;
	if (!space)
		return -EAGAIN;
	uint32_t n = len < space ? (uint32_t)len : space;
	uint32_t at = (t->shead + t->slen) % t->sbuf_size;
	uint32_t first = t->sbuf_size - at < n ? t->sbuf_size - at : n;
	memcpy(t->sbuf + at, buf, first);
	memcpy(t->sbuf, (const uint8_t *)buf + first, n - first);
	t->slen += n;
	uf_tcp_output(t);
	return n;
}

long uf_tcp_recv(struct uf_tcp *t, void *buf, size_t len, int peek)
{
	if (t->state == TCP_LISTEN || (t->state == TCP_CLOSED && !t->error && !t->rlen && !t->rcv_fin))
		return -ENOTCONN;
	if (!t->rlen) {
		if (t->error)
			return -uf_tcp_take_error(t);
		if (t->rcv_fin || t->rd_shut || t->state == TCP_CLOSED)
			return 0;
		return -EAGAIN;
	}
	uint32_t n = len < t->rlen ? (uint32_t)len : t->rlen;
	uint32_t first = t->rbuf_size - t->rhead < n ? t->rbuf_size - t->rhead : n;
	memcpy(buf, t->rbuf + t->rhead, first);
	memcpy((uint8_t *)buf + first, t->rbuf, n - first);
	if (peek)
		return n;
	t->rhead = (t->rhead + n) % t->rbuf_size;
	t->rlen -= n;
	/* A window update of its own only when the advertised window fell below half the buffer and reading grew
	 * it by two segments (RFC 9293 3.8.6.2.2, no silly windows); otherwise the next ACK carries it. */
	uint32_t advertised = SEQ_GT(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
	uint32_t step = 2u * t->mss < t->rbuf_size / 2 ? 2u * t->mss : t->rbuf_size / 2;
	if (t->state >= TCP_ESTABLISHED && t->state <= TCP_FIN_WAIT_2 && !t->rcv_fin &&
	    advertised < t->rbuf_size / 2 && uf_tcp_rcv_window(t) >= advertised + step) {
		t->ack_now = 1;
		uf_tcp_output(t);
	}
	uf_tcp_ack_read(t);
	return n;
}

int uf_tcp_shutdown(struct uf_tcp *t, int read, int write)
{
	if (t->state == TCP_LISTEN || t->state == TCP_CLOSED || t->state == TCP_SYN_SENT)
		return t->state == TCP_LISTEN ? 0 : -ENOTCONN;
	if (read)
		t->rd_shut = 1;
	if (write && !t->fin_queued) {
		if (t->state == TCP_SYN_RCVD || t->state == TCP_ESTABLISHED)
			t->state = TCP_FIN_WAIT_1;
		else if (t->state == TCP_CLOSE_WAIT)
			t->state = TCP_LAST_ACK;
		else
			return 0;
		t->fin_queued = 1;
		uf_tcp_output(t);
	}
	return 0;
}

unsigned uf_tcp_events(struct uf_tcp *t)
{
	unsigned ev = 0;
	switch (t->state) {
	case TCP_LISTEN:
		for (struct uf_tcp *c = t->children; c; c = c->sibling)
			if (c->state != TCP_SYN_RCVD)
				return UF_NET_IN;
		return 0;
	case TCP_SYN_SENT:
	case TCP_SYN_RCVD:
		return 0;
	case TCP_CLOSED:
		return t->lport || t->error ? UF_NET_IN | UF_NET_OUT | UF_NET_HUP | (t->error ? UF_NET_ERR : 0)
					    : UF_NET_OUT | UF_NET_HUP;
	default:
		break;
	}
	if (t->rlen || t->rcv_fin || t->rd_shut)
		ev |= UF_NET_IN;
	if (t->rcv_fin)
		ev |= UF_NET_RDHUP;
	if ((t->state == TCP_ESTABLISHED || t->state == TCP_CLOSE_WAIT) && !t->fin_queued &&
	    t->slen < t->sbuf_size)
		ev |= UF_NET_OUT;
	if (t->rcv_fin && t->fin_queued)
		ev |= UF_NET_HUP;
	return ev;
}

size_t uf_tcp_unread(const struct uf_tcp *t)
{
	return t->rlen;
}

int uf_tcp_take_error(struct uf_tcp *t)
{
	int e = t->error;
	t->error = 0;
	return e;
}

int uf_tcp_connecting(const struct uf_tcp *t)
{
	return t->state == TCP_SYN_SENT || t->state == TCP_SYN_RCVD;
}

int uf_tcp_local(const struct uf_tcp *t, uint8_t addr[16], uint16_t *port)
{
	memcpy(addr, t->laddr, 16);
	*port = t->lport;
	return 0;
}

int uf_tcp_remote(const struct uf_tcp *t, uint8_t addr[16], uint16_t *port)
{
	if (!t->rport || t->state == TCP_LISTEN)
		return -ENOTCONN;
	memcpy(addr, t->raddr, 16);
	*port = t->rport;
	return 0;
}

void uf_tcp_set_ip(struct uf_tcp *t, uint8_t tos, uint8_t ttl)
{
	t->tos = tos;
	t->ttl = ttl;
}

void uf_tcp_set_nodelay(struct uf_tcp *t, int on)
{
	t->nodelay = on;
	if (on && t->state >= TCP_ESTABLISHED)
		uf_tcp_output(t);
}

void uf_tcp_set_keepalive(struct uf_tcp *t, int on, int idle_s, int interval_s, int count)
{
	t->keepalive = on;
	if (idle_s > 0)
		t->keep_idle_s = idle_s;
	if (interval_s > 0)
		t->keep_intvl_s = interval_s;
	if (count > 0)
		t->keep_cnt = count;
	t->keep_probes = 0;
	uf_tcp_timer_set(&t->keep_at, on && t->state == TCP_ESTABLISHED
			 ? uf_time_monotonic_ns() + (uint64_t)t->keep_idle_s * 1000 * MS : 0);
}

int uf_tcp_set_buffers(struct uf_tcp *t, size_t rcvbuf, size_t sndbuf)
{
	if (t->rbuf)
		return 0;           /* sizes are fixed once the connection has its buffers, as Linux's window */
	if (rcvbuf)
		t->rbuf_size = rcvbuf < 4096 ? 4096 : rcvbuf > TCP_BUF_MAX ? TCP_BUF_MAX : (uint32_t)rcvbuf;
	if (sndbuf)
		t->sbuf_size = sndbuf < 4096 ? 4096 : sndbuf > TCP_BUF_MAX ? TCP_BUF_MAX : (uint32_t)sndbuf;
	return 0;
}

void uf_tcp_buffers(const struct uf_tcp *t, size_t *rcvbuf, size_t *sndbuf)
{
	*rcvbuf = t->rbuf_size;
	*sndbuf = t->sbuf_size;
}

static uint32_t ms_since(uint64_t then, uint64_t now)
{
	return then ? (uint32_t)((now - then) / MS) : 0;
}

void uf_tcp_get_info(const struct uf_tcp *t, struct uf_tcp_info *out)
{
	uint64_t now = uf_time_monotonic_ns();
	static const uint8_t linux_state[] = {
		[TCP_CLOSED] = 7, [TCP_LISTEN] = 10, [TCP_SYN_SENT] = 2, [TCP_SYN_RCVD] = 3, [TCP_ESTABLISHED] = 1,
		[TCP_FIN_WAIT_1] = 4, [TCP_FIN_WAIT_2] = 5, [TCP_CLOSE_WAIT] = 8, [TCP_CLOSING] = 11,
		[TCP_LAST_ACK] = 9, [TCP_TIME_WAIT] = 6,
	};
	*out = (struct uf_tcp_info){
		.state = linux_state[t->state], .timestamps = t->ts_ok, .sack = t->sack_ok,
		.wscale = t->rcv_scale != 0, .snd_wscale = t->snd_scale, .rcv_wscale = t->rcv_scale,
		.rto_us = (uint32_t)(uf_tcp_rto(t) / 1000), .backoff = (uint32_t)t->backoff, .rtt_us = (uint32_t)(t->srtt / 1000),
		.rttvar_us = (uint32_t)(t->rttvar / 1000), .snd_mss = t->mss, .rcv_mss = t->mss,
		.cwnd = t->cwnd, .ssthresh = t->ssthresh, .unacked = t->snd_max - t->snd_una,
		.sacked = uf_tcp_sacked(t), .lost = uf_tcp_sack_lost(t),
		.retransmits = (uint32_t)t->retries, .total_retrans = t->total_retrans, .dsacks = t->dsacks,
		.snd_wnd = t->snd_wnd, .rcv_wnd = uf_tcp_rcv_window(t),
		.notsent = SEQ_GT(t->snd_data + t->slen, t->snd_max) ? t->snd_data + t->slen - t->snd_max : 0,
		.bytes_acked = t->bytes_acked, .bytes_received = t->bytes_received, .bytes_sent = t->bytes_sent,
		.bytes_retrans = t->bytes_retrans, .segs_out = t->segs_out, .segs_in = t->segs_in,
		.data_segs_out = t->data_segs_out, .data_segs_in = t->data_segs_in,
		.min_rtt_us = (uint32_t)(t->min_rtt / 1000),
		.pmtu = (uint32_t)uf_inet_mtu(t->raddr) + (addr_is_v4(t->raddr) ? IP_HLEN : IP6_HLEN),
		.last_data_sent_ms = ms_since(t->last_data_sent, now), .last_data_recv_ms = ms_since(t->last_data_recv, now),
		.last_ack_recv_ms = ms_since(t->last_ack_recv, now), .in_recovery = t->in_recovery,
		.keepalive = t->keepalive,
		.keep_idle_s = t->keep_idle_s, .keep_intvl_s = t->keep_intvl_s, .keep_cnt = t->keep_cnt,
	};
}
