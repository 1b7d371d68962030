/* What the stack's layers share: byte-order accessors over unaligned packet bytes, the interface, and each
 * layer's entry points. Layers see packets as checked byte views (a pointer and a length checked before any
 * field is read) and build outgoing headers into small arrays sent with the payload as an iovec. */
#ifndef UF_NET_STACK_H
#define UF_NET_STACK_H

#include <stddef.h>
#include <stdint.h>
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

/* Sends a frame to a MAC address; -EAGAIN when the NIC's ring is full. */
int uf_eth_send(const uint8_t dst[6], uint16_t type, const struct iovec *iov, int iovcnt,
		const struct uf_netdev_tx_csum *csum);

/* ---- IPv6 ---- */
#define ETH_TYPE_IPV6 0x86dd
#define IP6_HLEN 40
#define IP6_MIN_MTU 1280
#define NH_ICMP6 58

/* The interface's IPv6 side: its link-local address (from the MAC), a global one (uf.ip6= or SLAAC), the
 * default router (uf.gw6= or router advertisements), the link MTU. */
struct uf_net6 {
	uint8_t ll[16], addr[16], gw[16], dns[16];
	int ll_ok, addr_ok, gw_ok, dns_ok, prefix, static_addr;
	uint16_t mtu;
	uint64_t gw_expires, addr_expires;      /* 0: never (static) */
};
extern struct uf_net6 uf_net6;
void uf_net6_announce(const char *how);     /* prints the interface's IPv6 configuration (iface.c) */
extern const uint8_t uf_ip6_loopback[16], uf_ip6_all_nodes[16], uf_ip6_all_routers[16];

void uf_ip6_input(const uint8_t *pkt, size_t len);
void uf_ip6_input_lo(const uint8_t *pkt, size_t len);
/* Prepends the IPv6 header and completes the checksum at csum_off of l4 (always: ICMPv6's is mandatory). */
int uf_ip6_send(const uint8_t src[16], const uint8_t dst[16], uint8_t nh, uint8_t hop_limit, uint8_t *l4,
		size_t l4_len, size_t csum_off, const struct iovec *payload, int payload_cnt);
int uf_ip6_is_ours(const uint8_t a[16]);
int uf_ip6_is_our_group(const uint8_t a[16]);
const uint8_t *uf_ip6_source(const uint8_t dst[16]);
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

/* ARP: lookup gives a next hop's MAC (1) or 0; then wait keeps a copy of the frame (a few per address, the
 * newest) and asks for the address, sending the frames when the answer comes. */
void uf_arp_input(const uint8_t *pkt, size_t len);
int uf_arp_lookup(uint32_t ip, uint8_t mac[6]);
void uf_arp_wait(uint32_t ip, const struct iovec *iov, int iovcnt);
void uf_arp_timers(uint64_t now);
uint64_t uf_arp_next_timer(void);

/* IPv4. uf_ip_send prepends the IP header; l4 is the transport header whose checksum field at csum_off is
 * completed here (by the device when it can). Routes: 127.0.0.0/8 and our own address over lo, the link, the
 * gateway. */
void uf_ip_input(const uint8_t *pkt, size_t len, int csum_valid);
void uf_ip_input_lo(const uint8_t *pkt, size_t len);         /* a datagram (v4 or v6) looped back by lo */
int uf_ip_is_local(uint32_t addr);          /* one of ours: 127.0.0.0/8 or the interface's address */
uint32_t uf_ip_source(uint32_t dst);        /* the source address for sending to dst */
size_t uf_ip_mtu(uint32_t dst);             /* the MTU of the interface toward dst */
int uf_ip_reachable(uint32_t dst);
int uf_ip_send(uint32_t src, uint32_t dst, uint8_t proto, uint8_t tos, uint8_t *l4, size_t l4_len, size_t csum_off,
	       const struct iovec *payload, int payload_cnt);
void uf_ip_timers(uint64_t now);
uint64_t uf_ip_next_timer(void);

void uf_icmp_input(uint32_t src, uint32_t dst, const uint8_t *pkt, size_t len);
/* An ICMP destination unreachable (code: 2 protocol, 3 port) about a datagram from src to dst that nobody took;
 * l4 is its transport header (8 bytes are quoted). Rate limited. */
void uf_icmp_unreachable(uint8_t code, uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *l4, size_t len);

/* An ICMP error about a datagram we sent (local, lport -> remote, rport), for its transport. */
struct uf_icmp_error {
	uint8_t type, code;
	uint16_t mtu;                   /* fragmentation needed: the next hop's MTU (0: not said) */
	uint32_t local, remote;
	uint16_t lport, rport;
	uint32_t seq;                   /* TCP: the sequence number of the segment */
};
void uf_tcp_icmp_error(const struct uf_icmp_error *e);
void uf_udp_icmp_error(const struct uf_icmp_error *e);
void uf_udp_input(uint32_t src, uint32_t dst, const uint8_t *pkt, size_t len, int csum_valid);
void uf_tcp_input(uint32_t src, uint32_t dst, const uint8_t *pkt, size_t len, int csum_valid);
void uf_tcp_timers(uint64_t now);
uint64_t uf_tcp_next_timer(void);
void uf_tcp_flush(void);                    /* sends the ACKs a batch of received segments made due */

/* DHCP client: runs until a lease or timeout; renews from the timers. */
int uf_dhcp_configure(void);
void uf_dhcp_timers(uint64_t now);
uint64_t uf_dhcp_next_timer(void);
/* A UDP datagram to port 68 (delivered while unconfigured, too). */
void uf_dhcp_input(uint32_t src, const uint8_t *payload, size_t len);

/* Random bits for ISNs, ports and DHCP transaction ids. */
uint32_t uf_net_random(void);

#endif
