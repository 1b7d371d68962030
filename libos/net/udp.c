/* UDP (RFC 768, and RFC 8200 8.1 over IPv6): endpoints of either family with a queue of received datagrams, and
 * the DNS stub address.
 *
 * DNS: musl's resolver reads /etc/resolv.conf and, when there is none, asks 127.0.0.1:53. The stack answers
 * that address by forwarding: a datagram to 127.0.0.1:53 goes to the DNS server the interface learned (DHCP or
 * uf.dns=; else the one a router advertised over IPv6), and that server's answers to the endpoint come back as
 * if from 127.0.0.1:53. So getaddrinfo works without a file system, and a real resolv.conf, when an app has one,
 * still wins; so does an app that serves 127.0.0.1:53 itself (then lo carries the query to it). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uf/fd.h>

#include "stack.h"

#define DNS_PORT 53
#define DHCP_CLIENT_PORT 68
#define UDP_RCVBUF 65536
#define DGRAM_OVERHEAD 64       /* bookkeeping charged per queued datagram, so tiny ones can't exhaust memory */

static const uint8_t dns_stub[16] = { [10] = 0xff, [11] = 0xff, 127, 0, 0, 1 };

struct dgram {
	struct dgram *next;
	uint8_t addr[16];
	uint16_t port;
	size_t len;
	uint8_t data[];
};

struct uf_udp {
	struct uf_port_owner owner;         /* its hold on lport, beside the port's other owners (ports.c) */
	uint8_t laddr[16], raddr[16];
	uint16_t lport, rport;
	int families;                       /* UF_NET_V4, UF_NET_V6 */
	int connected;
	int dns_forwarded;                  /* has sent to the DNS stub address: map the server's answers back */
	uint8_t dns_server[16];             /* where those went */
	uint8_t tos, ttl;
	int error;                  /* from an ICMP error, for a connected endpoint (as Linux), taken by recv */
	struct uf_file *file;       /* woken at each event (uf_fd_wake) */
	struct dgram *head, **tail;
	size_t queued, rcvbuf;
};

static struct uf_ports ports;          /* the bound endpoints, by port: bind and receive look at one port's */

static struct uf_udp *endpoint(struct uf_port_owner *o)
{
	return uf_port_endpoint(o, struct uf_udp, owner);
}

struct uf_udp *uf_udp_new(int families)
{
	struct uf_udp *u = calloc(1, sizeof *u);
	if (u) {
		u->tail = &u->head;
		u->rcvbuf = UDP_RCVBUF;
		u->families = families;
	}
	return u;
}

void uf_udp_free(struct uf_udp *u)
{
	uf_port_release(&ports, &u->owner);
	while (u->head) {
		struct dgram *d = u->head;
		u->head = d->next;
		free(d);
	}
	free(u);
}

int uf_udp_set_families(struct uf_udp *u, int families)
{
	if (u->lport)
		return -EINVAL;
	u->families = families;
	return 0;
}

static int bind_any(struct uf_udp *u)
{
	return uf_udp_bind(u, 0, 0, 0);
}

int uf_udp_bind(struct uf_udp *u, const uint8_t addr[16], uint16_t port, int reuse)
{
	static const uint8_t any[16];
	if (!addr)
		addr = any;
	if (u->lport)
		return -EINVAL;
	if (!(addr_families(addr, u->families) & u->families))
		return -EINVAL;
	if (!addr_is_any(addr) && !uf_inet_is_local(addr) && !(addr_is_v4(addr) && addr_v4(addr) == IP_BROADCAST))
		return -EADDRNOTAVAIL;
	if (!port) {
		if (!(port = uf_port_ephemeral(&ports, addr, u->families)))
			return -EADDRINUSE;
	} else if (uf_port_busy(&ports, port, addr, u->families, reuse)) {
		return -EADDRINUSE;
	}
	int r = uf_port_take(&ports, &u->owner, u->laddr, u->families, port, !reuse);
	if (r < 0)
		return r;
	memcpy(u->laddr, addr, 16);
	u->lport = port;
	return 0;
}

/* The route's checks for sending to addr: the endpoint's families, then uf_inet_route. */
static int route(const struct uf_udp *u, const uint8_t addr[16])
{
	if (!(u->families & (addr_is_v4(addr) ? UF_NET_V4 : UF_NET_V6)))
		return -ENETUNREACH;             /* IPv4 from an IPV6_V6ONLY endpoint, as Linux */
	return uf_inet_route(u->laddr, addr);
}

int uf_udp_connect(struct uf_udp *u, const uint8_t to[16], uint16_t port)
{
	if (!to) {
		u->connected = 0;
		return 0;
	}
	uint8_t addr[16];
	memcpy(addr, to, 16);
	addr_any_to_loopback(addr);
	int r = route(u, addr);
	if (r < 0 || (!u->lport && (r = bind_any(u)) < 0))
		return r;
	memcpy(u->raddr, addr, 16);
	u->rport = port;
	u->connected = 1;
	return 0;
}

int uf_udp_local(const struct uf_udp *u, uint8_t addr[16], uint16_t *port)
{
	memcpy(addr, u->laddr, 16);
	*port = u->lport;
	return 0;
}

int uf_udp_remote(const struct uf_udp *u, uint8_t addr[16], uint16_t *port)
{
	if (!u->connected)
		return -ENOTCONN;
	memcpy(addr, u->raddr, 16);
	*port = u->rport;
	return 0;
}

/* Where a datagram to the DNS stub goes: the interface's DNS server (IPv4), else the router's (IPv6); 0: none. */
static int stub_server(uint8_t out[16])
{
	if (uf_net_if.dns) {
		addr_from_v4(out, uf_net_if.dns);
		return 1;
	}
	memcpy(out, uf_net6.dns, 16);
	return uf_net6.dns_ok;
}

long uf_udp_send(struct uf_udp *u, const uint8_t to[16], uint16_t port, const struct iovec *iov, int iovcnt)
{
	uint8_t dst[16];
	const uint8_t *addr = dst;
	if (to) {
		memcpy(dst, to, 16);
		addr_any_to_loopback(dst);
	} else if (u->connected) {
		addr = u->raddr;
		port = u->rport;
	} else {
		return -EDESTADDRREQ;
	}
	if (!port)
		return -EINVAL;
	if (!u->lport) {
		int r = bind_any(u);
		if (r < 0)
			return r;
	}
	uint8_t server[16];
	if (addr_eq(addr, dns_stub) && port == DNS_PORT && !uf_port_busy(&ports, DNS_PORT, dns_stub, UF_NET_V4, 0)) {
		if (!stub_server(server))
			return -ENETUNREACH;
		memcpy(u->dns_server, server, 16);
		u->dns_forwarded = 1;
		addr = server;
	} else {
		int r = route(u, addr);
		if (r < 0)
			return r;
	}
	size_t len = 0;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len > 65535 - IP_HLEN - UDP_HLEN)
		return -EMSGSIZE;
	/* The IP layer takes a few pieces; more are gathered into one. */
	uint8_t *flat = 0;
	struct iovec one;
	if (iovcnt > 4) {
		flat = malloc(len ? len : 1);
		if (!flat)
			return -ENOMEM;
		size_t at = 0;
		for (int i = 0; i < iovcnt; i++) {
			memcpy(flat + at, iov[i].iov_base, iov[i].iov_len);
			at += iov[i].iov_len;
		}
		one = (struct iovec){ flat, len };
		iov = &one;
		iovcnt = 1;
	}
	uint8_t h[UDP_HLEN], src[16];
	put16(h, u->lport);
	put16(h + 2, port);
	put16(h + 4, (uint16_t)(UDP_HLEN + len));
	if (addr_is_any(u->laddr) || (addr_is_v4(u->laddr) && addr_v4(u->laddr) == IP_BROADCAST) ||
	    addr_is_v4(u->laddr) != addr_is_v4(addr))
		uf_inet_source(addr, src);
	else
		memcpy(src, u->laddr, 16);
	int r = uf_inet_send(src, addr, IP_PROTO_UDP, u->tos, u->ttl, h, UDP_HLEN, 6, iov, iovcnt);
	free(flat);
	return r < 0 ? r : (long)len;
}

long uf_udp_recv(struct uf_udp *u, const struct iovec *iov, int iovcnt, uint8_t addr[16], uint16_t *port,
		 int peek, size_t *full_len)
{
	struct dgram *d = u->head;
	if (!d && u->error) {
		int e = u->error;
		u->error = 0;
		return -e;
	}
	if (!d)
		return -EAGAIN;
	size_t at = 0;
	for (int i = 0; i < iovcnt && at < d->len; i++) {
		size_t n = d->len - at < iov[i].iov_len ? d->len - at : iov[i].iov_len;
		memcpy(iov[i].iov_base, d->data + at, n);
		at += n;
	}
	memcpy(addr, d->addr, 16);
	*port = d->port;
	*full_len = d->len;
	if (!peek) {
		u->head = d->next;
		if (!u->head)
			u->tail = &u->head;
		u->queued -= d->len + DGRAM_OVERHEAD;
		free(d);
	}
	return (long)at;
}

unsigned uf_udp_events(struct uf_udp *u)
{
	return UF_NET_OUT | (u->head || u->error ? UF_NET_IN : 0) | (u->error ? UF_NET_ERR : 0);
}

void uf_udp_icmp_error(const struct uf_icmp_error *e)
{
	if (e->kind != ICMP_REFUSED && e->kind != ICMP_UNREACHABLE)
		return;
	for (struct uf_port_owner *o = uf_port_owners(&ports, e->lport); o; o = o->next) {
		struct uf_udp *u = endpoint(o);
		if (u->connected && addr_eq(u->raddr, e->remote) && u->rport == e->rport) {
			u->error = e->kind == ICMP_REFUSED ? ECONNREFUSED : EHOSTUNREACH;
			uf_fd_wake(u->file);
		}
	}
}

void uf_udp_set_file(struct uf_udp *u, struct uf_file *f)
{
	u->file = f;
}

void uf_udp_set_rcvbuf(struct uf_udp *u, size_t bytes)
{
	u->rcvbuf = bytes;
}

void uf_udp_set_ip(struct uf_udp *u, uint8_t tos, uint8_t ttl)
{
	u->tos = tos;
	u->ttl = ttl;
}

/* An answer from the DNS server to an endpoint that asked the stub address (whatever its family). */
static int stub_answer(const struct uf_udp *u, const uint8_t src[16], uint16_t sport)
{
	return u->dns_forwarded && sport == DNS_PORT && addr_eq(src, u->dns_server) &&
	       (!u->connected || (addr_eq(u->raddr, dns_stub) && u->rport == DNS_PORT));
}

static struct uf_udp *lookup(const uint8_t src[16], uint16_t sport, const uint8_t dst[16], uint16_t dport)
{
	struct uf_udp *best = 0;
	for (struct uf_port_owner *o = uf_port_owners(&ports, dport); o; o = o->next) {
		struct uf_udp *u = endpoint(o);
		if (stub_answer(u, src, sport))
			return u;
		if (!addr_takes(u->laddr, u->families, dst) &&
		    !(addr_is_v4(u->laddr) && addr_v4(u->laddr) == IP_BROADCAST && addr_is_v4(dst)))
			continue;
		if (u->connected) {
			if (addr_eq(u->raddr, src) && u->rport == sport)
				return u;
			continue;
		}
		if (!best)
			best = u;
	}
	return best;
}

int uf_udp_input(const uint8_t src[16], const uint8_t dst[16], const uint8_t *p, size_t len, int csum_valid)
{
	if (len < UDP_HLEN)
		return 0;
	size_t ulen = get16(p + 4);
	if (ulen < UDP_HLEN || ulen > len)
		return 0;
	if (!csum_valid && (!get16(p + 6) ? !addr_is_v4(src) :      /* none: never over IPv6 (RFC 8200 8.1) */
			    uf_net_fold(uf_net_sum(uf_inet_pseudo_sum(src, dst, IP_PROTO_UDP, (uint32_t)ulen), p, ulen))))
		return 0;
	uint16_t sport = get16(p), dport = get16(p + 2);
	const uint8_t *data = p + UDP_HLEN;
	size_t dlen = ulen - UDP_HLEN;
	if (addr_is_v4(dst)) {
		if (dport == DHCP_CLIENT_PORT) {
			uf_dhcp_input(addr_v4(src), data, dlen);
			return 0;
		}
		if (!uf_ip_is_local(addr_v4(dst)) && !uf_net_if.addr)
			return 0;                   /* unconfigured: only DHCP's, above */
	}
	struct uf_udp *u = lookup(src, sport, dst, dport);
	if (!u)
		return -1;
	if (u->queued + dlen + DGRAM_OVERHEAD > u->rcvbuf)
		return 0;
	struct dgram *d = malloc(sizeof *d + dlen);
	if (!d)
		return 0;
	*d = (struct dgram){ .port = sport, .len = dlen };
	memcpy(d->addr, stub_answer(u, src, sport) ? dns_stub : src, 16);
	memcpy(d->data, data, dlen);
	*u->tail = d;
	u->tail = &d->next;
	u->queued += dlen + DGRAM_OVERHEAD;
	uf_fd_wake(u->file);
	return 0;
}
