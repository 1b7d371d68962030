/* TCP's control block, shared by the input path (tcp_input.c), the output path and timers (tcp_output.c) and
 * the endpoint calls (tcp.c). */
#ifndef UF_NET_TCP_H
#define UF_NET_TCP_H

#include <stdint.h>
#include <uf/fd.h>

#include "stack.h"

#define TCP_HLEN 20
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

#define SEQ_LT(a, b) ((int32_t)((a) - (b)) < 0)
#define SEQ_LE(a, b) ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((a) - (b)) > 0)
#define SEQ_GE(a, b) ((int32_t)((a) - (b)) >= 0)

#define MS 1000000ull
#define TCP_RCV_SCALE 5                 /* our window shift: windows up to 2 MiB */
#define TCP_BUF_DEFAULT 131072          /* each way, from 32 MiB of RAM on; less below (tcp.c) */
#define TCP_BUF_MIN_DEFAULT 16384
#define TCP_BUF_PRESSURE 4096             /* each way, when the buffers of all take much memory (tcp.c) */
#define TCP_BUF_MAX (2u << 20)
#define TCP_DEFAULT_MSS 536             /* RFC 9293 3.7.1: when the peer sends no MSS option */
#define TCP_RTO_INITIAL (1000 * MS)     /* RFC 6298 2.1 */
#define TCP_RTO_MIN (200 * MS)          /* Linux's floor; RFC 6298's 1 s is too slow for a LAN */
#define TCP_RTO_MAX (60000 * MS)
#define TCP_SYN_RETRIES 6
#define TCP_RETRIES 12
#define TCP_MSL (30000 * MS)
#define TCP_FIN_WAIT_2_TIMEOUT (60000 * MS)
#define TCP_PROBE_MIN (10 * MS)                 /* the probe timer's floor (Linux's TLP: 10 ms) */
#define TCP_REO_MIN (2 * MS)                    /* the reordering window's floor: a few LAN round trips */
#define TCP_TX_RETRY (1 * MS)                   /* a full NIC ring: when to try sending again */
#define TCP_DELACK (40 * MS)                    /* a delayed ACK's bound: Linux's minimum (tcp_delack.c) */
#define TCP_SCOREBOARD 8                        /* SACKed ranges the sender keeps */
#define TCP_RXT_MARKS 8                         /* retransmissions watched for a second loss */
#define TCP_TS_LEN 12                           /* NOP, NOP, kind 8, length 10, TSval, TSecr */
#define TCP_PAWS_IDLE (24ull * 86400 * 1000 * MS)   /* RFC 7323 5.5: an older TS.Recent is no longer valid */

enum tcp_state {
	TCP_CLOSED, TCP_LISTEN, TCP_SYN_SENT, TCP_SYN_RCVD, TCP_ESTABLISHED, TCP_FIN_WAIT_1, TCP_FIN_WAIT_2,
	TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK, TCP_TIME_WAIT,
};

/* A segment received out of order, waiting for the gap before it to fill. */
struct tcp_ooo {
	struct tcp_ooo *next;
	uint32_t seq, len;
	int fin;
	uint8_t data[];
};

/* The control blocks, in three lists (tcp_table.c): listeners (also in a table by port), connections in TIME_WAIT
 * (oldest first: all wait 2 MSL, so the head expires first and is the one dropped past the cap), and the rest
 * (what the timers walk). Every block with a peer is also in a hash table by its 4-tuple, and every block with a
 * local port in a table by port. */
struct tcp_list {
	struct uf_tcp *head, *tail;
	int count;
};

/* CUBIC's state (tcp_cubic.c): the window at the last loss and before it, and the epoch since then. */
struct tcp_cubic {
	uint32_t w_max, cwnd_prior;         /* bytes; w_max 0: no loss yet */
	uint32_t k_ms;                      /* when W_cubic reaches w_max again, from the epoch's start */
	uint64_t epoch_ns;                  /* 0: none (slow start, recovery) */
	uint64_t last_ack_ns;               /* the epoch's latest ACK of new data */
	uint64_t est;                       /* Reno's window over the epoch, bytes << 10 */
	uint64_t acc;                       /* growth owed, in bytes times cwnd */
};

struct uf_tcp {
	struct uf_tcp *next, *prev;         /* on list `on` */
	struct tcp_list *on;
	struct uf_tcp *hnext;               /* 4-tuple hash chain (a listener: its port's chain) */
	struct uf_port_owner owner;         /* its hold on lport, beside the port's other owners (ports.c) */
	struct uf_tcp *due_next;            /* output due at the end of this batch (tcp_output.c) */
	int hashed;
	enum tcp_state state;
	uint8_t laddr[16], raddr[16];       /* either family (stack.h) */
	uint16_t lport, rport;
	int families;                       /* what a listener or an unbound block takes: UF_NET_V4, UF_NET_V6 */
	int app;                            /* a socket holds it (else the stack frees it once closed) */
	struct uf_file *file;               /* its socket's open file, woken at each event (uf_fd_wake); 0: none */
	int reuse, nodelay, output_due, ack_now;
	uint8_t tos, ttl;                   /* IP_TOS (IPV6_TCLASS), IP_TTL (IPV6_UNICAST_HOPS; 0: default) */
	int error;                          /* pending errno for the app */

	struct uf_tcp *listener;            /* a child not yet accepted: its listener */
	struct uf_tcp *children, *sibling;  /* a listener's queue, oldest first */
	int backlog;

	/* Send side. The buffer holds the bytes from sequence snd_data (unacknowledged, then unsent). */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2, snd_data;
	uint32_t max_sndwnd;                /* the largest window the peer offered */
	uint8_t *sbuf;
	uint32_t sbuf_size, shead, slen;
	int fin_queued;                     /* the FIN follows the last byte in sbuf */
	uint16_t mss;
	uint8_t snd_scale, rcv_scale;       /* 0 unless both sides offered window scaling */
	uint32_t cwnd, ssthresh, recover;
	struct tcp_cubic cubic;
	int dupacks, in_recovery;
	/* The window was what held data back in the round trip up to cwnd_limited_end: only then may it grow (RFC
	 * 7661, as Linux): an application that sends less than the window would otherwise grow it without limit. */
	int cwnd_limited;
	uint32_t cwnd_limited_end;
	/* SACK-based recovery (RFC 6675) paced by proportional rate reduction (RFC 6937): the scoreboard
	 * (tcp_sack.c), what this recovery retransmitted up to (HighRxt), and PRR's counts. */
	uint32_t sack_start[TCP_SCOREBOARD], sack_end[TCP_SCOREBOARD];
	int sack_count;
	uint32_t high_rxt, prr_delivered, prr_out, recover_fs;
	/* This recovery's retransmissions (where, and snd_max when sent), oldest first (uf_tcp_sack_rxt_lost). */
	uint32_t rxt_seq[TCP_RXT_MARKS], rxt_snd_max[TCP_RXT_MARKS];
	int rxt_marks;
	/* The probe timer (RFC 8985's reordering window and tail loss probe in one): when 2 RTTs pass without
	 * progress, holes below SACKed data are lost (rack_end: below it, all are), or, with nothing SACKed, the
	 * last segment goes again once (tlp_sent) so that the answer tells what is missing. */
	uint64_t probe_at;
	uint32_t rack_end;
	int tlp_sent;

	/* Round-trip time (RFC 6298), in ns; one segment timed at a time (Karn). */
	int rtt_timing;
	uint32_t rtt_seq;
	uint64_t rtt_start, srtt, rttvar, rto;     /* rto: before backoff */
	int retries, backoff;

	/* Receive side: bytes in order, not yet read, then the out-of-order queue. */
	uint32_t irs, rcv_nxt, rcv_adv;
	uint8_t *rbuf;
	uint32_t rbuf_size, rhead, rlen;
	struct tcp_ooo *ooo;
	uint32_t ooo_bytes;
	uint32_t last_ooo;                  /* where the latest out-of-order segment began: the first SACK block */
	int sack_ok;                        /* both sides sent SACK-permitted: our ACKs report what ooo holds */
	int rcv_fin, rd_shut;
	/* Delayed ACKs (tcp_delack.c): the ACK owed for in-order data goes out by delack_at (0: none owed); quick
	 * ACKs left, the connection answers what it receives (interactive), short segments since our last ACK (0, 1,
	 * 2: two or more), the largest segment received. */
	uint64_t delack_at;
	int ack_quick, interactive, ack_short;
	uint32_t rcv_mss;

	/* Timestamps (RFC 7323), when both sides offered them: every segment carries our clock (ms, from a random
	 * per-connection origin: the peer learns neither our uptime nor other connections' clocks) and echoes the
	 * peer's latest. They give an RTT sample per ACK, even under loss, and PAWS; and they let a client that
	 * closed first reuse its port before TIME_WAIT ends (Linux's tcp_tw_reuse needs them). */
	int ts_ok;
	uint32_t ts_offset, ts_recent, last_ack_sent;
	uint64_t ts_recent_at;

	/* For TCP_INFO. */
	uint32_t total_retrans, dsacks;
	uint32_t segs_out, segs_in, data_segs_out, data_segs_in;
	uint64_t bytes_acked, bytes_received, bytes_sent, bytes_retrans;
	uint64_t min_rtt;                   /* ns; 0: no sample yet */
	uint64_t last_data_sent, last_data_recv, last_ack_recv;        /* monotonic ns; 0: never */

	uint64_t rto_at, linger_at, keep_at;  /* 0: off. linger: TIME_WAIT or an orphan's FIN_WAIT_2 */
	int keepalive, keep_idle_s, keep_intvl_s, keep_cnt, keep_probes;
};

/* An event a waiter may want to hear of (bytes arrived, room made, the peer gone, a connection to accept):
 * edge-triggered epoll reports the socket again after each, as Linux does. */
static inline void uf_tcp_wake(const struct uf_tcp *t)
{
	uf_fd_wake(t->file);
}

extern struct tcp_list uf_tcp_active, uf_tcp_listeners, uf_tcp_time_wait;

/* No timer of a block on uf_tcp_active (rto_at, probe_at, keep_at, linger_at, delack_at) is due before this: a
 * lower bound, lowered by every timer set (uf_tcp_timer_set; a block joins the list with its timers off) and made
 * exact again by the walk of uf_tcp_timers once it passed. Every wait asks for the next timer (uf_tcp_next_timer):
 * it costs the same with one connection or thousands. A timer turned off leaves the bound early: one walk, when it
 * comes. */
extern uint64_t uf_tcp_timer_bound;

/* Sets one of t's timers (0: off). */
static inline void uf_tcp_timer_set(uint64_t *timer, uint64_t at)
{
	*timer = at;
	if (at && at < uf_tcp_timer_bound)
		uf_tcp_timer_bound = at;
}

/* tcp_table.c */
void uf_tcp_list_move(struct uf_tcp *t, struct tcp_list *to);   /* to the tail of `to` (0: off every list) */
void uf_tcp_hash_set(struct uf_tcp *t, const uint8_t laddr[16], uint16_t lport, const uint8_t raddr[16],
		     uint16_t rport);
void uf_tcp_unhash(struct uf_tcp *t);
/* The connection a segment belongs to (not CLOSED), else the listener of its port, else NULL. */
struct uf_tcp *uf_tcp_lookup(const uint8_t src[16], uint16_t sport, const uint8_t dst[16], uint16_t dport);
/* t holds port on addr (0 or -ENOMEM); its reuse is set and stays while it does. Released when t is freed. */
int uf_tcp_port_take(struct uf_tcp *t, const uint8_t addr[16], uint16_t port);
void uf_tcp_port_release(struct uf_tcp *t);
/* Whether a block holds port on an address that overlaps addr (of families) and forbids sharing it: a listener,
 * or either side without SO_REUSEADDR (reuse). */
int uf_tcp_port_busy(uint16_t port, const uint8_t addr[16], int families, int reuse);
uint16_t uf_tcp_port_ephemeral(const uint8_t addr[16], int families);        /* 0: none free */
/* Whether a listener holds port on an address that overlaps addr. */
int uf_tcp_listener_on(uint16_t port, const uint8_t addr[16], int families);

/* tcp_cubic.c: a loss (fast recovery or a timeout) sets ssthresh (and CUBIC's W_max); the caller sets cwnd. In
 * congestion avoidance, each ACK of new data (acked bytes, now in ns) grows cwnd. */
void uf_tcp_cc_congestion(struct uf_tcp *t);
void uf_tcp_cc_ack(struct uf_tcp *t, uint32_t acked, uint64_t now);
/* An ACK in congestion avoidance while the application, not the window, held data back: the epoch's clock stops. */
void uf_tcp_cc_app_limited(struct uf_tcp *t, uint64_t now);

/* tcp_output.c */
void uf_tcp_output(struct uf_tcp *t);               /* sends what the windows allow, or the ACK that is due */
void uf_tcp_retransmit_first(struct uf_tcp *t);     /* resends the oldest unacknowledged segment */
void uf_tcp_send_ctl(struct uf_tcp *t, uint32_t seq, uint8_t flags);   /* a segment without data */
/* A reset (with tos: IP_TOS of the connection it ends) from src:sport to dst:dport. */
void uf_tcp_send_rst(const uint8_t src[16], const uint8_t dst[16], uint16_t sport, uint16_t dport, uint32_t seq,
		     uint32_t ack, int with_ack, uint8_t tos);
void uf_tcp_arm_rto(struct uf_tcp *t);                  /* at rto << backoff, at most TCP_RTO_MAX */
uint64_t uf_tcp_rto(const struct uf_tcp *t);
void uf_tcp_due(struct uf_tcp *t);                  /* output at the end of this receive batch */
void uf_tcp_forget_due(struct uf_tcp *t);           /* before freeing t */
uint32_t uf_tcp_rcv_window(const struct uf_tcp *t);
uint32_t uf_tcp_ts_now(const struct uf_tcp *t);     /* our timestamp clock for t */

/* tcp_delack.c: when the ACK for in-order data goes out. */
void uf_tcp_ack_quick(struct uf_tcp *t, int leave_interactive);     /* the next segments: ACKed at once */
void uf_tcp_ack_data(struct uf_tcp *t, uint32_t len, uint64_t now); /* new in-order data: ACK now or later */
void uf_tcp_ack_sent(struct uf_tcp *t);                             /* any segment carrying our ACK went out */
void uf_tcp_ack_data_sent(struct uf_tcp *t, uint64_t now);          /* new data went out: an answer? */
void uf_tcp_ack_read(struct uf_tcp *t);                             /* the program read from the buffer */
void uf_tcp_ack_expired(struct uf_tcp *t);                          /* delack_at passed */

/* tcp_sack.c */
void uf_tcp_sack_add(struct uf_tcp *t, uint32_t start, uint32_t end);
void uf_tcp_sack_trim(struct uf_tcp *t);
uint32_t uf_tcp_sacked(const struct uf_tcp *t);
uint32_t uf_tcp_sack_lost(const struct uf_tcp *t);     /* bytes lost in holes: nonzero iff IsLost(snd_una) */
uint32_t uf_tcp_pipe(const struct uf_tcp *t);
uint32_t uf_tcp_sack_next(const struct uf_tcp *t, uint32_t *seq, int rule3);
uint32_t uf_tcp_sack_skip(const struct uf_tcp *t, uint32_t seq, uint32_t *room);
void uf_tcp_sack_mark_rxt(struct uf_tcp *t, uint32_t seq);
int uf_tcp_sack_rxt_lost(struct uf_tcp *t);

/* tcp_input.c */
void uf_tcp_free_ooo(struct uf_tcp *t);
void uf_tcp_enter_recovery(struct uf_tcp *t);

/* tcp.c */
void uf_tcp_drop(struct uf_tcp *t, int err);        /* to CLOSED: the app sees err, an orphan is freed */
void uf_tcp_enter_time_wait(struct uf_tcp *t);
int uf_tcp_alloc_buffers(struct uf_tcp *t);
struct uf_tcp *uf_tcp_alloc(int families);
void uf_tcp_free(struct uf_tcp *t);

#endif
