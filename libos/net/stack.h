/* What the stack's layers share: byte-order accessors over unaligned packet bytes, the interface, and each
 * layer's entry points. Layers see packets as checked byte views (a pointer and a length checked before any
 * field is read) and build outgoing headers into small arrays sent with the payload as an iovec. */
#ifndef UF_NET_STACK_H
#define UF_NET_STACK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <uf/net.h>
#include <uf/netdev.h>

#define ETH_HLEN 14
#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_ARP 0x0806
#define IP_HLEN 20
#define IP_PROTO_ICMP 1
#define IP_PROTO_TCP 6
#define IP_PROTO_UDP 17
#define IP_BROADCAST 0xffffffffu
#define IP_LOOPBACK 0x7f000001u
#define LO_MTU 65535                    /* the loopback interface's: the largest IPv4 datagram */
#define UDP_HLEN 8

/* ---- addresses of both families ----
 * TCP and UDP keep every address in one form: IPv6, with IPv4 as v4-mapped (::ffff:a.b.c.d, RFC 4291 2.5.5.2), as
 * Linux's dual-stack sockets do. inet.c routes and sends each by its family. */
#define IP_DEFAULT_TTL 64

static inline int addr_is_v4(const uint8_t a[16])
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	return !memcmp(a, mapped, 12);
}

static inline uint32_t addr_v4(const uint8_t a[16])
{
	return (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
}

static inline void addr_from_v4(uint8_t a[16], uint32_t v4)
{
	memset(a, 0, 10);
	a[10] = a[11] = 0xff;
	a[12] = (uint8_t)(v4 >> 24), a[13] = (uint8_t)(v4 >> 16), a[14] = (uint8_t)(v4 >> 8), a[15] = (uint8_t)v4;
}

static inline int addr_eq(const uint8_t a[16], const uint8_t b[16])
{
	return !memcmp(a, b, 16);
}

/* The wildcards: :: (any address of the endpoint's families) and ::ffff:0.0.0.0 (any IPv4 address). */
static inline int addr_is_any(const uint8_t a[16])
{
	static const uint8_t zero[16];
	return !memcmp(a, zero, 16) || (addr_is_v4(a) && !addr_v4(a));
}

/* "Any address" as a destination means this host, as on Linux: the loopback address of its family. */
static inline void addr_any_to_loopback(uint8_t a[16])
{
	if (addr_is_any(a) && addr_is_v4(a)) {
		addr_from_v4(a, IP_LOOPBACK);
	} else if (addr_is_any(a)) {
		memset(a, 0, 16);
		a[15] = 1;
	}
}

/* The families (UF_NET_V4, UF_NET_V6) an endpoint bound to a local address covers: a wildcard's own. */
static inline int addr_families(const uint8_t laddr[16], int families)
{
	static const uint8_t zero[16];
	if (!memcmp(laddr, zero, 16))
		return families;
	return addr_is_v4(laddr) ? UF_NET_V4 : UF_NET_V6;
}

/* Whether an endpoint bound to laddr takes datagrams to dst. */
static inline int addr_takes(const uint8_t laddr[16], int families, const uint8_t dst[16])
{
	return (addr_families(laddr, families) & (addr_is_v4(dst) ? UF_NET_V4 : UF_NET_V6)) &&
	       (addr_is_any(laddr) || addr_eq(laddr, dst));
}

/* Whether two endpoints' local addresses overlap (they may not share a port). */
static inline int addr_overlap(const uint8_t a[16], int a_families, const uint8_t b[16], int b_families)
{
	return (addr_families(a, a_families) & addr_families(b, b_families)) &&
	       (addr_is_any(a) || addr_is_any(b) || addr_eq(a, b));
}

static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }
static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* The one interface. addr is 0 while unconfigured (DHCP then accepts datagrams to any address). */
struct uf_net_iface {
	struct uf_netdev *dev;
	uint32_t addr, mask, gw, dns;
	int up;
};
extern struct uf_net_iface uf_net_if;

/* Ones' complement sum of bytes (not yet folded or inverted), continuing from sum. */
uint32_t uf_net_sum(uint32_t sum, const void *data, size_t len);
uint16_t uf_net_fold(uint32_t sum);         /* folds to 16 bits and inverts: the checksum field's value */
uint32_t uf_net_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);
/* The checksum field's value over pieces, starting from sum (a pseudo-header's, or 0). */
uint16_t uf_net_checksum(const struct iovec *v, int cnt, uint32_t sum);

/* The source MAC address of the frame being taken in; NULL outside of that (lo's datagrams). */
extern const uint8_t *uf_eth_rx_source;
/* Sends a frame to a MAC address; -EAGAIN when the NIC's ring is full. */
int uf_eth_send(const uint8_t dst[6], uint16_t type, const struct iovec *iov, int iovcnt,
		const struct uf_netdev_tx_csum *csum);

/* Datagrams waiting for a neighbour's link-layer address (ARP, ND), whole: a datagram's fragments go together.
 * Bounded by bytes, as Linux's unres_qlen_bytes (and by count, as its unres_qlen of 101): a burst of SYNs from a
 * neighbour not yet resolved (a NAT's gateway just after boot) makes one SYN-ACK each, and a bound of a few
 * datagrams dropped all but the last few; those handshakes then waited for a retransmission. When full, the
 * oldest go (their senders have likely retransmitted by now). */
#define PENDING_MAX 101
#define PENDING_BYTES 65536
struct uf_pending_datagram;
struct uf_pending {
	struct uf_pending_datagram *head, *tail;    /* oldest first */
	int count;
	size_t bytes;
};
/* ICMP errors' rate limit (icmp.c): a token bucket each caller keeps. */
struct uf_net_rate {
	uint64_t last;
	uint32_t tokens;
};
int uf_net_rate_allow(struct uf_net_rate *r, uint32_t per_s);

void uf_pending_add(struct uf_pending *q, const struct iovec *iov, int iovcnt);
/* Sends every waiting datagram to mac through transmit (which fragments it if need be), then forgets them. */
void uf_pending_flush(struct uf_pending *q, const uint8_t mac[6],
		      int (*transmit)(const uint8_t mac[6], uint8_t *datagram, size_t len));
void uf_pending_drop(struct uf_pending *q);
unsigned uf_pending_count(void);        /* datagrams waiting in every queue */

/* Fragment reassembly (reasm.c), for both families: a datagram (addresses v4-mapped for IPv4) is known by its
 * addresses, identification and protocol. A fragment's payload p at offset (bytes), more to come or not; when it
 * completes its datagram, deliver gets the payload, with UF_REASM_HEADROOM writable bytes before it (for a header).
 * no_overlaps: a fragment overlapping another drops the datagram (IPv6, RFC 5722); else the later bytes win. */
#define UF_REASM_HEADROOM 40
struct uf_reasm_key {
	uint8_t src[16], dst[16];
	uint32_t id;
	uint8_t proto;
};
void uf_reasm_add(const struct uf_reasm_key *k, size_t offset, int more, const uint8_t *p, size_t len,
		  int no_overlaps, void (*deliver)(const struct uf_reasm_key *k, uint8_t *data, size_t len));
void uf_reasm_timers(uint64_t now);
uint64_t uf_reasm_next_timer(void);

/* ---- IPv6 ---- */
#define ETH_TYPE_IPV6 0x86dd
#define IP6_HLEN 40
#define IP6_MIN_MTU 1280
#define NH_ICMP6 58

/* The interface's IPv6 side: its link-local address (from the MAC), a global one (uf.ip6= or SLAAC), the
 * default router (uf.gw6= or router advertisements), the DNS server (uf.dns6= or an advertisement's RDNSS), the
 * link MTU. */
struct uf_net6 {
	uint8_t ll[16], addr[16], gw[16], dns[16];
	int ll_ok, addr_ok, gw_ok, dns_ok, prefix, static_addr, static_dns;
	uint16_t mtu;
	uint64_t gw_expires, addr_expires;      /* 0: never (static) */
};
extern struct uf_net6 uf_net6;
void uf_net6_announce(const char *how);     /* prints the interface's IPv6 configuration (iface.c) */
extern const uint8_t uf_ip6_loopback[16], uf_ip6_all_nodes[16], uf_ip6_all_routers[16];

void uf_ip6_input(const uint8_t *pkt, size_t len, int csum_valid);
void uf_ip6_input_lo(const uint8_t *pkt, size_t len);
/* Prepends the IPv6 header and completes the checksum at csum_off of l4 (always: ICMPv6's and UDP's are
 * mandatory; by the device when it can). Larger than the link MTU: fragments (but never TCP: -EMSGSIZE). */
int uf_ip6_send(const uint8_t src[16], const uint8_t dst[16], uint8_t nh, uint8_t tclass, uint8_t hop_limit,
		uint8_t *l4, size_t l4_len, size_t csum_off, const struct iovec *payload, int payload_cnt);
/* A whole datagram that waited for its neighbour, to its MAC. */
int uf_ip6_transmit(const uint8_t mac[6], uint8_t *datagram, size_t len);
int uf_ip6_is_ours(const uint8_t a[16]);
int uf_ip6_is_our_group(const uint8_t a[16]);
const uint8_t *uf_ip6_source(const uint8_t dst[16]);
int uf_ip6_reachable(const uint8_t dst[16]);
size_t uf_ip6_mtu(const uint8_t dst[16]);       /* the path's MTU toward dst */
void uf_ip6_too_big(const uint8_t dst[16], uint32_t mtu);     /* a router's Packet Too Big about dst */
void uf_ip6_solicited_node(const uint8_t a[16], uint8_t out[16]);
uint32_t uf_ip6_pseudo_sum(const uint8_t src[16], const uint8_t dst[16], uint8_t nh, uint32_t len);

/* ICMPv6 (icmp6.c): input of a message (pkt/pkt_len: the whole datagram, for errors about it); an error about
 * a datagram (type, code, the parameter problem's pointer), rate limited, never about an error or to a group. */
void uf_icmp6_input(const uint8_t src[16], const uint8_t dst[16], uint8_t hop_limit, const uint8_t *msg,
		    size_t len, const uint8_t *pkt, size_t pkt_len);
void uf_icmp6_error(uint8_t type, uint8_t code, uint32_t pointer, const uint8_t *pkt, size_t len);

/* Neighbour discovery (nd.c, RFC 4861): the cache with unreachability detection, as ARP's lookup and wait;
 * messages from icmp6.c; router solicitation at bring-up; timers. */
int uf_nd_lookup(const uint8_t ip[16], uint8_t mac[6]);
void uf_nd_wait(const uint8_t ip[16], const struct iovec *iov, int iovcnt);
void uf_nd_input(const uint8_t src[16], const uint8_t dst[16], uint8_t hop_limit, const uint8_t *msg, size_t len);
void uf_nd_start(void);
void uf_nd_timers(uint64_t now);
uint64_t uf_nd_next_timer(void);

/* The loopback interface (loopback.c): send queues a whole IP datagram; poll delivers what was queued (returns
 * how many); pending says whether anything waits. */
int uf_lo_send(const struct iovec *iov, int iovcnt);
int uf_lo_poll(void);
int uf_lo_pending(void);

/* ARP: lookup gives a next hop's MAC (1) or 0; then wait keeps a copy of the datagram (uf_pending) and asks for
 * the address, sending what waits when the answer comes. */
void uf_arp_input(const uint8_t *pkt, size_t len);
int uf_arp_lookup(uint32_t ip, uint8_t mac[6]);
void uf_arp_wait(uint32_t ip, const struct iovec *iov, int iovcnt);
void uf_arp_timers(uint64_t now);
uint64_t uf_arp_next_timer(void);

/* IPv4. uf_ip_send prepends the IP header; l4 is the transport header whose checksum field at csum_off is
 * completed here (by the device when it can). Routes: 127.0.0.0/8 and our own address over lo, the link, the
 * gateway. ttl 0: the default. */
void uf_ip_input(const uint8_t *pkt, size_t len, int csum_valid);
void uf_ip_input_lo(const uint8_t *pkt, size_t len);         /* a datagram (v4 or v6) looped back by lo */
int uf_ip_is_local(uint32_t addr);          /* one of ours: 127.0.0.0/8 or the interface's address */
uint32_t uf_ip_source(uint32_t dst);        /* the source address for sending to dst */
size_t uf_ip_mtu(uint32_t dst);             /* the MTU of the interface toward dst */
int uf_ip_reachable(uint32_t dst);
int uf_ip_send(uint32_t src, uint32_t dst, uint8_t proto, uint8_t tos, uint8_t ttl, uint8_t *l4, size_t l4_len,
	       size_t csum_off, const struct iovec *payload, int payload_cnt);
int uf_ip_transmit(const uint8_t mac[6], uint8_t *datagram, size_t len);  /* one that waited for ARP */

/* ---- either family (inet.c): what TCP and UDP use, with addresses in the one form above ---- */
int uf_inet_is_local(const uint8_t a[16]);              /* one of ours (lo's or the interface's) */
/* Whether src (or any address: a wildcard) may send to dst: 0, -ENETUNREACH (no route), -EINVAL (a loopback
 * source toward another host: such a datagram would be dropped by everyone, as Linux refuses it). */
int uf_inet_route(const uint8_t src[16], const uint8_t dst[16]);
void uf_inet_source(const uint8_t dst[16], uint8_t src[16]);   /* the source address for sending to dst */
size_t uf_inet_mtu(const uint8_t dst[16]);      /* the largest transport segment that goes unfragmented */
uint32_t uf_inet_pseudo_sum(const uint8_t src[16], const uint8_t dst[16], uint8_t proto, uint32_t len);
int uf_inet_send(const uint8_t src[16], const uint8_t dst[16], uint8_t proto, uint8_t tos, uint8_t ttl, uint8_t *l4,
		 size_t l4_len, size_t csum_off, const struct iovec *payload, int payload_cnt);

void uf_icmp_input(uint32_t src, uint32_t dst, const uint8_t *pkt, size_t len);
/* An ICMP destination unreachable (code: 2 protocol, 3 port) about a datagram from src to dst that nobody took;
 * l4 is its transport header (8 bytes are quoted). Rate limited. */
void uf_icmp_unreachable(uint8_t code, uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *l4, size_t len);

/* An ICMP or ICMPv6 error about a datagram we sent (local, lport -> remote, rport), for its transport. */
enum icmp_error_kind {
	ICMP_REFUSED,                   /* port or protocol unreachable: nobody there */
	ICMP_UNREACHABLE,               /* host or network unreachable, administratively prohibited */
	ICMP_TOO_BIG,                   /* fragmentation needed / packet too big: mtu says how big may pass */
	ICMP_OTHER,                     /* time exceeded, parameter problem */
};
struct uf_icmp_error {
	enum icmp_error_kind kind;
	uint32_t mtu;                   /* ICMP_TOO_BIG: the next hop's MTU (0: not said) */
	uint8_t local[16], remote[16];
	uint16_t lport, rport;
	uint32_t seq;                   /* TCP: the sequence number of the segment */
};
void uf_tcp_icmp_error(const struct uf_icmp_error *e);
void uf_udp_icmp_error(const struct uf_icmp_error *e);
/* A transport segment or datagram from src to dst (either family). UDP's: -1 when no endpoint takes it (the IP
 * layer answers port unreachable), else 0. */
int uf_udp_input(const uint8_t src[16], const uint8_t dst[16], const uint8_t *pkt, size_t len, int csum_valid);
void uf_tcp_input(const uint8_t src[16], const uint8_t dst[16], const uint8_t *pkt, size_t len, int csum_valid);
void uf_tcp_timers(uint64_t now);
uint64_t uf_tcp_next_timer(void);
void uf_tcp_flush(void);                    /* sends the ACKs a batch of received segments made due */
/* Sends the ACKs still owed for in-order data: before the program waits, it had its turn to answer (tcp_delack.c). */
void uf_tcp_ack_delayed(void);
int uf_tcp_unfinished(void);                /* connections whose data or FIN the peer has yet to acknowledge */

/* DHCP client: runs until a lease or timeout; renews from the timers. */
int uf_dhcp_configure(void);
void uf_dhcp_timers(uint64_t now);
uint64_t uf_dhcp_next_timer(void);
/* A UDP datagram to port 68 (delivered while unconfigured, too). */
void uf_dhcp_input(uint32_t src, const uint8_t *payload, size_t len);

/* Random bits for ISNs, ports and DHCP transaction ids. */
uint32_t uf_net_random(void);

/* ---- the local ports in use (ports.c), a table per transport ----
 * An endpoint holding a port embeds an owner, chained with the port's other owners (newest first); addr points at
 * the endpoint's own local address. strict: it forbids others the port whatever they ask (bound without
 * SO_REUSEADDR, or a TCP listener). */
#define UF_PORT_PAGE 256
struct uf_port_owner {
	struct uf_port_owner *next, **pprev;        /* pprev 0: it holds no port */
	const uint8_t *addr;
	int families, strict;
	uint16_t port;
};
struct uf_port_page;
struct uf_ports {
	struct uf_port_page *pages[65536 / UF_PORT_PAGE];
};
/* o holds port on addr (which must outlive it) for families: 0, or -ENOMEM. */
int uf_port_take(struct uf_ports *table, struct uf_port_owner *o, const uint8_t *addr, int families, uint16_t port,
		 int strict);
void uf_port_release(struct uf_ports *table, struct uf_port_owner *o);          /* none held: nothing */
void uf_port_set_strict(struct uf_ports *table, struct uf_port_owner *o, int strict);
/* The owners of port (follow ->next), newest first; 0: none. */
struct uf_port_owner *uf_port_owners(const struct uf_ports *table, uint16_t port);
/* Whether an owner of port on an address that overlaps addr (of families) forbids sharing it: a strict one, or
 * any when the asker has no SO_REUSEADDR (reuse). */
int uf_port_busy(const struct uf_ports *table, uint16_t port, const uint8_t addr[16], int families, int reuse);
/* A free ephemeral port (49152-65535, from a random start) for addr; 0: none left. */
uint16_t uf_port_ephemeral(const struct uf_ports *table, const uint8_t addr[16], int families);
/* The endpoint that embeds owner o as its member `field`. */
#define uf_port_endpoint(o, type, field) ((type *)(void *)((char *)(o) - offsetof(type, field)))

#endif
