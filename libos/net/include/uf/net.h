/* Module net: the TCP/IP stack, IPv4 and IPv6, over one uf_netdev (uf/netdev.h) and the loopback interface lo
 * (127.0.0.0/8, ::1, and our own addresses: it works without a NIC). Module socket puts the BSD socket calls on top of
 * the endpoints declared here.
 *
 * Everything runs in process context on one CPU: the stack only advances inside uf_net_poll(), which every
 * blocking call runs in a loop (poll the NIC, run due timers; if not ready, uf_time_wait_until the next timer
 * or the caller's deadline), and poll, select and epoll once per look at their files (uf/poll.h). Addresses and
 * ports are in host byte order. Functions return a count or -errno. */
#ifndef UF_NET_H
#define UF_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Readiness bits (the same values as poll.h's POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP). */
#define UF_NET_IN     0x001
#define UF_NET_OUT    0x004
#define UF_NET_ERR    0x008
#define UF_NET_HUP    0x010
#define UF_NET_RDHUP  0x2000

/* Brings the NIC's interface up on first call, from the boot options: uf.net=dhcp (the default when there is a
 * NIC), uf.net=none, or uf.ip=A.B.C.D/N [uf.gw=A.B.C.D] [uf.dns=A.B.C.D]. Prints one line once configured.
 * Returns 0, or -ENETDOWN (no NIC, uf.net=none, or no DHCP lease); lo works either way. */
int uf_net_up(void);

/* The NIC's configured address (0 until uf_net_up succeeded, and without a NIC). */
uint32_t uf_net_addr(void);
/* The DNS server the interface learned (DHCP, or uf.dns= with uf.ip=), bringing it up first; 0 if none: what
 * /etc/resolv.conf names. Without one, the stack still answers 127.0.0.1:53 by forwarding there (musl's default). */
uint32_t uf_net_dns(void);
/* IPv6: the global address (uf.ip6= or SLAAC) and the DNS server (uf.dns6=, else what a router advertised: RFC 8106
 * RDNSS), copied to out; 0 when there is none yet. */
int uf_net_addr6(uint8_t out[16]);
int uf_net_dns6(uint8_t out[16]);

/* Hands every received frame to the stack, runs due timers, sends what became ready (ACKs, retransmissions).
 * Returns nonzero if it did any of that: endpoints' states may have changed (a caller that already looked at
 * some must look again before it sleeps, or it would sleep through their news). */
int uf_net_poll(void);

/* Monotonic time of the stack's next timer (UINT64_MAX if none), or earlier when a TCP timer was turned off since
 * (uf_net_poll then finds nothing due, and learns the next one exactly). Costs the same however many connections
 * there are. */
uint64_t uf_net_next_timer(void);

/* Halts until a NIC interrupt, the next timer or deadline, whichever comes first; then polls. */
void uf_net_wait(uint64_t deadline_ns);

/* At the process's exit, once its sockets are closed: runs the stack until the peers acknowledged every
 * connection's data and FIN (what comes after, FIN_WAIT_2 and TIME_WAIT, ends with the machine), no datagram waits
 * for a neighbour's address and the NIC has sent every frame; or until deadline. */
void uf_net_flush(uint64_t deadline_ns);

/* ---- Addresses ----
 * Endpoints take addresses of both families in one form: 16 bytes, IPv6, with IPv4 as v4-mapped (::ffff:a.b.c.d),
 * as Linux's dual-stack sockets see their IPv4 peers. NULL (or :: ) where an address may be left out: any. Which
 * families an endpoint takes: UF_NET_V4 (an AF_INET socket), UF_NET_V6 (AF_INET6 with IPV6_V6ONLY), or both
 * (AF_INET6). A link-local IPv6 address means the NIC's link (interface index UF_NET_NIC_INDEX). */
#define UF_NET_V4 1
#define UF_NET_V6 2
#define UF_NET_LO_INDEX 1       /* interface indices, as Linux numbers them: lo, then the NIC */
#define UF_NET_NIC_INDEX 2

/* ---- UDP ---- */
struct uf_file;
struct uf_udp;
struct uf_udp *uf_udp_new(int families);                    /* NULL when out of memory */
void uf_udp_free(struct uf_udp *u);
/* The endpoint's socket file: each event on the endpoint (a datagram queued, an error) wakes it (uf_fd_wake), so
 * that edge-triggered epoll reports it again. The same for TCP (bytes arrived, room made, the connection up or
 * gone, a connection to accept). */
void uf_udp_set_file(struct uf_udp *u, struct uf_file *f);
/* IPV6_V6ONLY: the families before binding; -EINVAL once bound. */
int uf_udp_set_families(struct uf_udp *u, int families);
/* port 0 picks an ephemeral port. -EADDRINUSE unless reuse is set on both; -EADDRNOTAVAIL for an address not
 * ours; -EINVAL for one of a family the endpoint doesn't take. */
int uf_udp_bind(struct uf_udp *u, const uint8_t addr[16], uint16_t port, int reuse);
int uf_udp_connect(struct uf_udp *u, const uint8_t addr[16], uint16_t port);  /* NULL: disconnect */
int uf_udp_local(const struct uf_udp *u, uint8_t addr[16], uint16_t *port);
int uf_udp_remote(const struct uf_udp *u, uint8_t addr[16], uint16_t *port);  /* -ENOTCONN */
/* Sends one datagram (to the connected peer when addr is NULL); never blocks: -EAGAIN when the NIC is full;
 * -ENETUNREACH without a route (or to IPv4 from an IPV6_V6ONLY endpoint), -EINVAL from a loopback address to
 * another host. */
long uf_udp_send(struct uf_udp *u, const uint8_t addr[16], uint16_t port, const struct iovec *iov, int iovcnt);
/* Takes (or, with peek, copies) the oldest datagram, truncated to the buffers; -EAGAIN when none.
 * *full_len is the datagram's real length (for MSG_TRUNC). */
long uf_udp_recv(struct uf_udp *u, const struct iovec *iov, int iovcnt, uint8_t addr[16], uint16_t *port,
		 int peek, size_t *full_len);
unsigned uf_udp_events(struct uf_udp *u);
void uf_udp_set_rcvbuf(struct uf_udp *u, size_t bytes);
/* The IP header's TOS byte (IP_TOS; IPv6's traffic class, IPV6_TCLASS) and TTL (IP_TTL; IPv6's hop limit,
 * IPV6_UNICAST_HOPS; 0: the default, 64). The same for TCP. */
void uf_udp_set_ip(struct uf_udp *u, uint8_t tos, uint8_t ttl);

/* ---- TCP ---- */
struct uf_tcp;
struct uf_tcp *uf_tcp_new(int families);
void uf_tcp_set_file(struct uf_tcp *t, struct uf_file *f);
int uf_tcp_set_families(struct uf_tcp *t, int families);
/* Releases the app's hold: a connection with unread data is reset, else it closes gracefully in the
 * background (FIN, TIME_WAIT) and frees itself. A listener resets its unaccepted connections. */
void uf_tcp_close(struct uf_tcp *t);
/* Releases the app's hold at once, resetting the connection (SO_LINGER with a zero timeout). */
void uf_tcp_abort(struct uf_tcp *t);
int uf_tcp_bind(struct uf_tcp *t, const uint8_t addr[16], uint16_t port, int reuse);
int uf_tcp_listen(struct uf_tcp *t, int backlog);
/* Sends the SYN; the connection is up when uf_tcp_events says UF_NET_OUT (or failed: UF_NET_ERR). Errors as
 * uf_udp_send's. */
int uf_tcp_connect(struct uf_tcp *t, const uint8_t addr[16], uint16_t port);
/* An established connection from the listener's queue, or -EAGAIN. */
int uf_tcp_accept(struct uf_tcp *t, struct uf_tcp **out);
/* Queues up to len bytes for sending; -EAGAIN when the send buffer is full, -EPIPE after shutdown/reset. */
long uf_tcp_send(struct uf_tcp *t, const void *buf, size_t len);
/* Takes (or copies, with peek) received bytes: 0 at end of stream, -EAGAIN when none yet. */
long uf_tcp_recv(struct uf_tcp *t, void *buf, size_t len, int peek);
int uf_tcp_shutdown(struct uf_tcp *t, int read, int write);
unsigned uf_tcp_events(struct uf_tcp *t);
size_t uf_tcp_unread(const struct uf_tcp *t);      /* bytes received in order, not yet read */
/* The connection's pending error (ECONNREFUSED, ECONNRESET, ETIMEDOUT), cleared when read; 0 if none. */
int uf_tcp_take_error(struct uf_tcp *t);
int uf_tcp_connecting(const struct uf_tcp *t);     /* SYN sent, no answer yet */
int uf_tcp_local(const struct uf_tcp *t, uint8_t addr[16], uint16_t *port);
int uf_tcp_remote(const struct uf_tcp *t, uint8_t addr[16], uint16_t *port);
void uf_tcp_set_nodelay(struct uf_tcp *t, int on);
void uf_tcp_set_ip(struct uf_tcp *t, uint8_t tos, uint8_t ttl);
void uf_tcp_set_keepalive(struct uf_tcp *t, int on, int idle_s, int interval_s, int count);
int uf_tcp_set_buffers(struct uf_tcp *t, size_t rcvbuf, size_t sndbuf);  /* 0 leaves one unchanged */
void uf_tcp_buffers(const struct uf_tcp *t, size_t *rcvbuf, size_t *sndbuf);

/* What TCP_INFO reports (module socket fills Linux's struct tcp_info from it). Times in microseconds, windows
 * in bytes. */
struct uf_tcp_info {
	int state;                      /* Linux's numbering: 1 ESTABLISHED ... 10 LISTEN, 11 CLOSING */
	int timestamps, sack, wscale;   /* options agreed */
	uint8_t snd_wscale, rcv_wscale;
	uint32_t rto_us, rtt_us, rttvar_us;
	uint32_t snd_mss, rcv_mss;
	uint32_t cwnd, ssthresh;        /* bytes */
	uint32_t unacked, sacked, lost; /* bytes in flight, SACKed, marked lost */
	uint32_t backoff, retransmits;  /* RTO backoff now; unanswered retransmission timeouts now */
	uint32_t total_retrans;         /* segments sent again over the connection's life */
	uint32_t dsacks;                /* D-SACK blocks received: segments the peer got twice */
	uint32_t snd_wnd, rcv_wnd;
	uint32_t notsent;               /* bytes queued, not yet sent */
	uint64_t bytes_acked, bytes_received, bytes_sent, bytes_retrans;
	uint32_t segs_out, segs_in, data_segs_out, data_segs_in;
	uint32_t min_rtt_us, pmtu;      /* the smallest RTT sample; the path MTU the MSS comes from */
	uint32_t last_data_sent_ms, last_data_recv_ms, last_ack_recv_ms;       /* how long ago */
	int in_recovery;
	int keepalive, keep_idle_s, keep_intvl_s, keep_cnt;    /* SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT */
};
void uf_tcp_get_info(const struct uf_tcp *t, struct uf_tcp_info *out);

#endif
