/* UDP (RFC 768): endpoints with a queue of received datagrams, and the DNS stub address.
 *
 * DNS: musl's resolver reads /etc/resolv.conf and, when there is none, asks 127.0.0.1:53. The stack answers
 * that address by forwarding: a datagram to 127.0.0.1:53 goes to the DNS server the interface learned (DHCP or
 * uf.dns=), and that server's answers to the endpoint come back as if from 127.0.0.1:53. So getaddrinfo works
 * without a file system, and a real resolv.conf, when an app has one, still wins; so does an app that serves
 * 127.0.0.1:53 itself (then lo carries the query to it). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack.h"

#define DNS_STUB 0x7f000001u
#define DNS_PORT 53
#define DHCP_CLIENT_PORT 68
#define UDP_RCVBUF 65536
#define DGRAM_OVERHEAD 64       /* bookkeeping charged per queued datagram, so tiny ones can't exhaust memory */
#define EPHEMERAL_LOW 49152

struct dgram {
	struct dgram *next;
	uint32_t addr;
	uint16_t port;
	size_t len;
	uint8_t data[];
};

struct uf_udp {
	struct uf_udp *next;
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	int reuse;
	int dns_forwarded;          /* has sent to the DNS stub address: map the server's answers back */
	uint8_t tos;
	int error;                  /* from an ICMP error, for a connected endpoint (as Linux), taken by recv */
	struct dgram *head, **tail;
	size_t queued, rcvbuf;
};

static struct uf_udp *endpoints;

struct uf_udp *uf_udp_new(void)
{
	struct uf_udp *u = calloc(1, sizeof *u);
	if (u) {
		u->tail = &u->head;
		u->rcvbuf = UDP_RCVBUF;
	}
	return u;
}

void uf_udp_free(struct uf_udp *u)
{
	for (struct uf_udp **p = &endpoints; *p; p = &(*p)->next)
		if (*p == u) {
			*p = u->next;
			break;
		}
	while (u->head) {
		struct dgram *d = u->head;
		u->head = d->next;
		free(d);
	}
	free(u);
}

static int port_used(uint16_t port, uint32_t addr, int reuse)
{
	for (struct uf_udp *u = endpoints; u; u = u->next)
		if (u->lport == port && (!u->laddr || !addr || u->laddr == addr) && !(reuse && u->reuse))
			return 1;
	return 0;
}

int uf_udp_bind(struct uf_udp *u, uint32_t addr, uint16_t port, int reuse)
{
	if (u->lport)
		return -EINVAL;
	if (addr && !uf_ip_is_local(addr) && addr != IP_BROADCAST)
		return -EADDRNOTAVAIL;
	if (!port) {
		uint16_t start = (uint16_t)(EPHEMERAL_LOW + uf_net_random() % (65536 - EPHEMERAL_LOW));
		for (uint32_t i = 0; i < 65536 - EPHEMERAL_LOW && !port; i++) {
			uint16_t p = (uint16_t)(EPHEMERAL_LOW + (start - EPHEMERAL_LOW + i) % (65536 - EPHEMERAL_LOW));
			if (!port_used(p, addr, 0))
				port = p;
		}
		if (!port)
			return -EADDRINUSE;
	} else if (port_used(port, addr, reuse)) {
		return -EADDRINUSE;
	}
	u->laddr = addr;
	u->lport = port;
	u->reuse = reuse;
	u->next = endpoints;
	endpoints = u;
	return 0;
}

int uf_udp_connect(struct uf_udp *u, uint32_t addr, uint16_t port)
{
	if (!u->lport) {
		int r = uf_udp_bind(u, 0, 0, 0);
		if (r < 0)
			return r;
	}
	u->raddr = addr;
	u->rport = addr ? port : 0;
	return 0;
}

int uf_udp_local(const struct uf_udp *u, uint32_t *addr, uint16_t *port)
{
	*addr = u->laddr;
	*port = u->lport;
	return 0;
}

int uf_udp_remote(const struct uf_udp *u, uint32_t *addr, uint16_t *port)
{
	if (!u->raddr)
		return -ENOTCONN;
	*addr = u->raddr;
	*port = u->rport;
	return 0;
}

long uf_udp_send(struct uf_udp *u, uint32_t addr, uint16_t port, const struct iovec *iov, int iovcnt)
{
	if (!addr) {
		if (!u->raddr)
			return -EDESTADDRREQ;
		addr = u->raddr;
		port = u->rport;
	}
	if (!port)
		return -EINVAL;
	if (!u->lport) {
		int r = uf_udp_bind(u, 0, 0, 0);
		if (r < 0)
			return r;
	}
	if (addr == DNS_STUB && port == DNS_PORT && !port_used(DNS_PORT, DNS_STUB, 0)) {
		if (!uf_net_if.dns)
			return -ENETUNREACH;
		addr = uf_net_if.dns;
		u->dns_forwarded = 1;
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
	uint8_t h[UDP_HLEN];
	put16(h, u->lport);
	put16(h + 2, port);
	put16(h + 4, (uint16_t)(UDP_HLEN + len));
	int r = uf_ip_send(u->laddr && u->laddr != IP_BROADCAST ? u->laddr : uf_ip_source(addr), addr, IP_PROTO_UDP, u->tos,
			   h, UDP_HLEN, 6, iov, iovcnt);
	free(flat);
	return r < 0 ? r : (long)len;
}

long uf_udp_recv(struct uf_udp *u, const struct iovec *iov, int iovcnt, uint32_t *addr, uint16_t *port,
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
	*addr = d->addr;
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
	for (struct uf_udp *u = endpoints; u; u = u->next)
		if (u->lport == e->lport && u->raddr == e->remote && u->rport == e->rport && e->type == 3)
			u->error = e->code == 3 || e->code == 2 ? ECONNREFUSED : EHOSTUNREACH;
}

void uf_udp_set_rcvbuf(struct uf_udp *u, size_t bytes)
{
	u->rcvbuf = bytes;
}

void uf_udp_set_tos(struct uf_udp *u, uint8_t tos)
{
	u->tos = tos;
}

static struct uf_udp *lookup(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	struct uf_udp *best = 0;
	for (struct uf_udp *u = endpoints; u; u = u->next) {
		if (u->lport != dport || (u->laddr && u->laddr != dst && u->laddr != IP_BROADCAST))
			continue;
		if (u->raddr) {
			int stub = u->raddr == DNS_STUB && src == uf_net_if.dns && u->rport == DNS_PORT;
			if ((u->raddr == src || stub) && u->rport == sport)
				return u;
			continue;
		}
		if (!best)
			best = u;
	}
	return best;
}

void uf_udp_input(uint32_t src, uint32_t dst, const uint8_t *p, size_t len, int csum_valid)
{
	if (len < UDP_HLEN)
		return;
	size_t ulen = get16(p + 4);
	if (ulen < UDP_HLEN || ulen > len)
		return;
	if (get16(p + 6) && !csum_valid &&
	    uf_net_fold(uf_net_sum(uf_net_pseudo_sum(src, dst, IP_PROTO_UDP, (uint16_t)ulen), p, ulen)))
		return;
	uint16_t sport = get16(p), dport = get16(p + 2);
	const uint8_t *data = p + UDP_HLEN;
	size_t dlen = ulen - UDP_HLEN;
	if (dport == DHCP_CLIENT_PORT) {
		uf_dhcp_input(src, data, dlen);
		return;
	}
	if (!uf_ip_is_local(dst) && !uf_net_if.addr)
		return;                 /* unconfigured: only DHCP's, above */
	struct uf_udp *u = lookup(src, sport, dst, dport);
	if (!u) {
		uf_icmp_unreachable(3, src, dst, IP_PROTO_UDP, p, len);     /* port unreachable */
		return;
	}
	if (u->queued + dlen + DGRAM_OVERHEAD > u->rcvbuf)
		return;
	struct dgram *d = malloc(sizeof *d + dlen);
	if (!d)
		return;
	if (u->dns_forwarded && src == uf_net_if.dns && sport == DNS_PORT)
		src = DNS_STUB;
	*d = (struct dgram){ .addr = src, .port = sport, .len = dlen };
	memcpy(d->data, data, dlen);
	*u->tail = d;
	u->tail = &d->next;
	u->queued += dlen + DGRAM_OVERHEAD;
}
