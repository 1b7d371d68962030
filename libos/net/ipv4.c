/* IPv4 (RFC 791): checked input, fragment reassembly (reasm.c), routing (loopback, the link, the
 * gateway), output. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack.h"

#define IP_DF 0x4000
#define IP_MF 0x2000

static uint16_t next_id;

static void deliver(uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *p, size_t len, int csum_valid)
{
	uint8_t src6[16], dst6[16];
	addr_from_v4(src6, src);
	addr_from_v4(dst6, dst);
	switch (proto) {
	case IP_PROTO_ICMP:
		uf_icmp_input(src, dst, p, len);
		break;
	case IP_PROTO_UDP:
		if (uf_udp_input(src6, dst6, p, len, csum_valid) < 0)
			uf_icmp_unreachable(3, src, dst, IP_PROTO_UDP, p, len);    /* port unreachable */
		break;
	case IP_PROTO_TCP:
		uf_tcp_input(src6, dst6, p, len, csum_valid);
		break;
	default:
		uf_icmp_unreachable(2, src, dst, proto, p, len);
		break;
	}
}

static void deliver_reassembled(const struct uf_reasm_key *k, uint8_t *data, size_t len)
{
	deliver(addr_v4(k->src), addr_v4(k->dst), k->proto, data, len, 0);
}

int uf_ip_is_local(uint32_t addr)
{
	return (addr >> 24) == 127 || (uf_net_if.addr && addr == uf_net_if.addr);
}

uint32_t uf_ip_source(uint32_t dst)
{
	return (dst >> 24) == 127 ? IP_LOOPBACK : uf_net_if.addr;
}

size_t uf_ip_mtu(uint32_t dst)
{
	return uf_ip_is_local(dst) || !uf_net_if.dev ? LO_MTU : uf_net_if.dev->mtu;
}

/* The next hop toward a remote dst: dst itself on the link (or broadcast), else the gateway; 0: no route. */
static uint32_t next_hop(uint32_t dst)
{
	if (!uf_net_if.dev)
		return 0;
	if (dst == IP_BROADCAST)
		return dst;
	if (!uf_net_if.addr)
		return 0;                   /* unconfigured: DHCP's broadcasts only */
	if ((dst & uf_net_if.mask) == (uf_net_if.addr & uf_net_if.mask))
		return dst;
	return uf_net_if.gw;
}

int uf_ip_reachable(uint32_t dst)
{
	return uf_ip_is_local(dst) || next_hop(dst);
}

static void input(const uint8_t *h, size_t len, int csum_valid, int from_lo)
{
	if (len < IP_HLEN || h[0] >> 4 != 4)
		return;
	size_t hlen = (size_t)(h[0] & 15) * 4, total = get16(h + 2);
	if (hlen < IP_HLEN || total < hlen || total > len)
		return;
	if (uf_net_fold(uf_net_sum(0, h, hlen)))
		return;
	uint32_t src = get32(h + 12), dst = get32(h + 16);
	uint32_t mask = uf_net_if.mask, addr = uf_net_if.addr;
	if (from_lo) {
		;                               /* ours, to ourselves */
	} else if (src == IP_BROADCAST || (src >> 28) == 14 || (src >> 24) == 127) {
		return;
	} else if (!addr) {
		if (h[9] != IP_PROTO_UDP)      /* unconfigured: only DHCP's answers */
			return;
	} else if (dst != addr && dst != IP_BROADCAST && !(mask != 0xffffffffu && (dst & mask) == (addr & mask) &&
							     (dst | mask) == IP_BROADCAST)) {
		return;
	}
	const uint8_t *p = h + hlen;
	size_t plen = total - hlen;
	uint16_t frag = get16(h + 6);
	if (frag & (IP_MF | 0x1fff)) {
		struct uf_reasm_key k = { .id = get16(h + 4), .proto = h[9] };
		addr_from_v4(k.src, src);
		addr_from_v4(k.dst, dst);
		uf_reasm_add(&k, (size_t)(frag & 0x1fff) * 8, frag & IP_MF, p, plen, 0, deliver_reassembled);
	} else
		deliver(src, dst, h[9], p, plen, csum_valid);
}

void uf_ip_input(const uint8_t *h, size_t len, int csum_valid)
{
	input(h, len, csum_valid, 0);
}

void uf_ip_input_lo(const uint8_t *h, size_t len)
{
	if (len && h[0] >> 4 == 6) {
		uf_ip6_input_lo(h, len);
		return;
	}
	input(h, len, 1, 1);                /* never on a wire: no checksums to check (Linux's lo does the same) */
}

/* A whole datagram (its header h, then the pieces v: checksums done, len bytes in all after the header) to a
 * neighbour: one frame, or fragments of the largest multiple of 8 bytes that fits (RFC 791 3.2), each with a copy
 * of the header (h, updated here). */
static int transmit(const uint8_t mac[6], uint8_t *h, const struct iovec *v, int cnt, size_t len)
{
	if (IP_HLEN + len <= uf_net_if.dev->mtu) {
		struct iovec all[6] = { { h, IP_HLEN } };
		memcpy(all + 1, v, cnt * sizeof *v);
		return uf_eth_send(mac, ETH_TYPE_IPV4, all, cnt + 1, 0);
	}
	uint8_t *flat = malloc(len);
	if (!flat)
		return -ENOMEM;
	size_t at = 0;
	for (int i = 0; i < cnt; i++) {
		memcpy(flat + at, v[i].iov_base, v[i].iov_len);
		at += v[i].iov_len;
	}
	size_t step = (uf_net_if.dev->mtu - IP_HLEN) & ~(size_t)7;
	int r = 0;
	for (at = 0; at < len && r >= 0; at += step) {
		size_t n = len - at < step ? len - at : step;
		put16(h + 2, (uint16_t)(IP_HLEN + n));
		put16(h + 6, (uint16_t)((at + n < len ? IP_MF : 0) | at / 8));
		put16(h + 10, 0);
		put16(h + 10, uf_net_fold(uf_net_sum(0, h, IP_HLEN)));
		struct iovec piece[2] = { { h, IP_HLEN }, { flat + at, n } };
		r = uf_eth_send(mac, ETH_TYPE_IPV4, piece, 2, 0);
	}
	free(flat);
	return r;
}

int uf_ip_transmit(const uint8_t mac[6], uint8_t *datagram, size_t len)
{
	struct iovec rest = { datagram + IP_HLEN, len - IP_HLEN };
	return transmit(mac, datagram, &rest, 1, len - IP_HLEN);
}

int uf_ip_send(uint32_t src, uint32_t dst, uint8_t proto, uint8_t tos, uint8_t ttl, uint8_t *l4, size_t l4_len,
	       size_t csum_off, const struct iovec *payload, int payload_cnt)
{
	struct uf_netdev *dev = uf_net_if.dev;
	uint8_t h[IP_HLEN];
	struct iovec v[6];
	size_t plen = 0;
	if (payload_cnt > 4)
		return -EINVAL;
	for (int i = 0; i < payload_cnt; i++)
		plen += payload[i].iov_len;
	size_t total = IP_HLEN + l4_len + plen;
	int local = uf_ip_is_local(dst);
	uint32_t hop = local ? dst : next_hop(dst);
	if (!hop)
		return -ENETUNREACH;
	int fragment = total > uf_ip_mtu(dst);
	if (total > 65535 || (fragment && proto == IP_PROTO_TCP))
		return -EMSGSIZE;               /* TCP's segments fit the path's MTU (its MSS, lowered by PMTUD) */

	h[0] = 0x45;
	h[1] = tos;
	put16(h + 2, (uint16_t)total);
	put16(h + 4, next_id++);
	put16(h + 6, proto == IP_PROTO_TCP ? IP_DF : 0);
	h[8] = ttl ? ttl : IP_DEFAULT_TTL;
	h[9] = proto;
	put16(h + 10, 0);
	put32(h + 12, src);
	put32(h + 16, dst);
	put16(h + 10, uf_net_fold(uf_net_sum(0, h, IP_HLEN)));

	v[0] = (struct iovec){ h, IP_HLEN };
	v[1] = (struct iovec){ l4, l4_len };
	if (payload_cnt)
		memcpy(v + 2, payload, payload_cnt * sizeof *payload);
	int cnt = payload_cnt + 2;

	if (local) {
		put16(l4 + csum_off, 0);        /* TCP and UDP go unsummed (uf_ip_input_lo); ICMP checks its own */
		if (proto == IP_PROTO_ICMP)
			put16(l4 + csum_off, uf_net_checksum(v + 1, cnt - 1, 0));
		return uf_lo_send(v, cnt);
	}
	uint8_t mac[6];
	int known = uf_arp_lookup(hop, mac);
	uint32_t pseudo = uf_net_pseudo_sum(src, dst, proto, (uint16_t)(l4_len + plen));
	put16(l4 + csum_off, 0);
	if (proto != IP_PROTO_ICMP && known && !fragment && (dev->caps & UF_NETDEV_CAP_TX_CSUM)) {
		/* The device sums from the transport header on and adds the pseudo-header sum left in the field. */
		uint32_t s = pseudo;
		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		put16(l4 + csum_off, (uint16_t)s);
		struct uf_netdev_tx_csum c = { IP_HLEN, (uint16_t)csum_off };
		return uf_eth_send(mac, ETH_TYPE_IPV4, v, cnt, &c);
	}
	uint16_t c = uf_net_checksum(v + 1, cnt - 1, proto == IP_PROTO_ICMP ? 0 : pseudo);
	if (!c && proto == IP_PROTO_UDP)
		c = 0xffff;         /* 0 means "no checksum" in UDP */
	put16(l4 + csum_off, c);
	if (!known) {
		uf_arp_wait(hop, v, cnt);       /* whole: fragmented when it leaves */
		return 0;
	}
	return transmit(mac, h, v + 1, cnt - 1, l4_len + plen);
}
